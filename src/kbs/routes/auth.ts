/** `POST /kbs/v0/auth` (specs/trustee.md §1.2, §2.1, §2.6): start an RCAR session and hand out the challenge. */
import type { FastifyPluginAsync } from 'fastify';
import { AttestationError } from '../errors.js';
import { sessionCookie } from '../cookie.js';
import { newNonce } from '../session.js';
import { parseAuthRequest } from '../wire.js';
import type { KbsContext } from '../context.js';
import { bodyBytes } from './body.js';
import { asAttestationError } from './as-errors.js';

export const AUTH_BODY_LIMIT = 64 * 1024;

export const authRoutes: FastifyPluginAsync<{ ctx: KbsContext }> = async (app, { ctx }) => {
  const as = ctx.as;
  if (!as) return;
  // A Request is a few hundred bytes and is stored with the session: cap it well below payload_request_size so
  // a flood of /auth calls cannot park megabytes per session in storage (security-cases #27).
  app.post('/kbs/v0/auth', { bodyLimit: Math.min(AUTH_BODY_LIMIT, ctx.payloadRequestSize) }, async (req, reply) => {
    ctx.metrics.authRequests.inc();
    try {
      if (ctx.authRateLimit !== undefined) ctx.authRateLimit.enforce(req.socket.remoteAddress, req.headers['x-forwarded-for'], reply);
      const request = parseAuthRequest(bodyBytes(req));
      let extra: unknown;
      try {
        extra = await as.generateSupplementalChallenge(request.tee, JSON.stringify(request.extraParams));
      } catch (e) {
        throw asAttestationError(e, 'challenge generation failed');
      }
      // SE returns its attestation request as the nonce; every other TEE gets 32 random bytes.
      const nonce = request.tee === 'se' && typeof extra === 'string' && extra !== '' ? extra : newNonce();
      let extraOut: unknown;
      if (as.challengeExtraParams) {
        try {
          extraOut = as.challengeExtraParams(request.tee, request.extraParams);
        } catch (e) {
          throw asAttestationError(e, 'hash negotiation failed');
        }
      } else extraOut = challengeExtraParams(request.tee, request.extraParams);
      const challenge = { nonce, 'extra-params': extraOut };
      const session = await ctx.sessions.create({ version: request.version, tee: request.tee, 'extra-params': request.extraParams }, challenge);
      ctx.metrics.authSuccesses.inc();
      reply.header('set-cookie', sessionCookie(session.id, session.timeout));
      return reply.type('application/json').send(JSON.stringify(challenge));
    } catch (e) {
      ctx.metrics.authErrors.inc();
      throw e;
    }
  });
};

/**
 * Hash negotiation with the CoCo AS (§2.1): only SE selects (sha512, which the client must support); every other
 * TEE gets `""` and the client falls back to sha384, which is what the AS verifies with.
 */
function challengeExtraParams(tee: string, extra: unknown): unknown {
  if (tee !== 'se') return '';
  const supported = (extra as { 'supported-hash-algorithms'?: unknown } | null)?.['supported-hash-algorithms'];
  if (supported === undefined) return '';
  if (!Array.isArray(supported) || !supported.includes('sha512')) throw new AttestationError('IBM SE needs sha512, which the client does not support');
  return { 'selected-hash-algorithm': 'sha512' };
}
