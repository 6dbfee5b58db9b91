/**
 * `POST /kbs/v0/attest` (specs/trustee.md §1.2, §2.1–2.3, §2.6): check the session's challenge, bind runtime data
 * `{additional-evidence, nonce, tee-pubkey}` (devices: `{nonce, tee-pubkey}`), let the AS verify and issue the token.
 * The challenge is consumed atomically before the AS runs, so one nonce yields at most one token.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { VerificationRequest } from '../../as/types.js';
import type { Json } from '../../verifiers/types.js';
import { AttestationError } from '../errors.js';
import { sessionCookie, sessionIdFromCookieHeader } from '../cookie.js';
import { nonceMatches } from '../session.js';
import { parseAttestation } from '../wire.js';
import type { KbsContext } from '../context.js';
import { bodyBytes } from './body.js';
import { asAttestationError } from './as-errors.js';

export const attestRoutes: FastifyPluginAsync<{ ctx: KbsContext }> = async (app, { ctx }) => {
  const as = ctx.as;
  if (!as) return;
  app.post('/kbs/v0/attest', async (req, reply) => {
    ctx.metrics.attestationRequests.inc();
    const now = ctx.clock();
    const id = sessionIdFromCookieHeader(req.headers.cookie);
    if (id === undefined) {
      ctx.metrics.attestationErrors.inc();
      throw new AttestationError('missing kbs-session-id cookie');
    }
    const session = await ctx.sessions.get(id);
    if (!session) {
      ctx.metrics.attestationErrors.inc();
      throw new AttestationError('unknown or expired session');
    }
    if (session.state === 'Attested') {
      reply.header('set-cookie', sessionCookie(session.id, session.timeout));
      return reply.type('application/json').send(JSON.stringify({ token: session.token }));
    }
    let body;
    try {
      body = parseAttestation(bodyBytes(req), { allowRsa15: ctx.allowRsa15 });
      if (!nonceMatches(body.nonce, session.challenge.nonce)) throw new AttestationError('runtime-data nonce does not match the session challenge');
    } catch (e) {
      ctx.metrics.attestationErrors.inc();
      throw e;
    }
    const authed = await ctx.sessions.consumeChallenge(id, body.nonce, session);
    if (!authed) {
      ctx.metrics.attestationErrors.inc();
      throw new AttestationError('the session challenge was already used');
    }
    const tee = authed.request.tee;
    const teePubKey = body.teePubKey as unknown as Json;
    const hash = tee === 'se' ? 'sha512' : 'sha384';
    const primary: VerificationRequest = {
      tee,
      evidence: body.primaryEvidence,
      runtimeData: { kind: 'structured', json: { 'additional-evidence': body.additionalEvidenceText, nonce: body.nonce, 'tee-pubkey': teePubKey } },
      runtimeDataHashAlgorithm: hash,
    };
    if (body.initData) primary.initData = { kind: 'toml', toml: body.initData.body };
    const devices: VerificationRequest[] = body.additionalEvidence.map((d) => ({
      tee: d.tee,
      evidence: d.evidence,
      runtimeData: { kind: 'structured', json: { nonce: body.nonce, 'tee-pubkey': teePubKey } },
      runtimeDataHashAlgorithm: hash,
    }));
    let token: string;
    try {
      token = await as.evaluate([primary, ...devices], ['default'], now);
    } catch (e) {
      ctx.metrics.attestationFailures.inc({ tee_type: tee });
      req.log.info({ tee }, 'attestation failed');
      throw asAttestationError(e, 'attestation failed');
    }
    await ctx.sessions.markAttested(authed, token);
    ctx.metrics.attestationSuccesses.inc({ tee_type: tee });
    reply.header('set-cookie', sessionCookie(authed.id, authed.timeout));
    return reply.type('application/json').send(JSON.stringify({ token }));
  });
};
