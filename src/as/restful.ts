/**
 * restful-as routes (specs/trustee.md §3.2), as a fastify plugin over any AttestationService.
 * Errors: 400 for malformed bodies; otherwise Trustee's 500 text `An internal error occured: \n0: <message>`,
 * with only the safe message of our typed errors (never an unexpected error's text).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AttestationService } from './types.js';
import { AttestationServiceError } from './errors.js';
import { parseRestAttestationRequest, RESTFUL_TEES } from './wire.js';
import { RvpsError } from '../rvps/errors.js';

export interface RestfulAsOptions {
  log?: { warn(m: string): void };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function registerRestfulAsRoutes(app: FastifyInstance, as: AttestationService, opts: RestfulAsOptions = {}): void {
  function fail(reply: FastifyReply, e: unknown): FastifyReply {
    if (e instanceof AttestationServiceError && e.code === 'ERR_AS_BAD_REQUEST') {
      return reply.code(400).type('text/plain; charset=utf-8').send(e.message);
    }
    const safe = e instanceof AttestationServiceError || e instanceof RvpsError ? e.message : 'internal error';
    if (!(e instanceof AttestationServiceError)) opts.log?.warn(`restful-as: ${(e as Error)?.message ?? String(e)}`);
    return reply.code(500).type('text/plain; charset=utf-8').send(`An internal error occured: \n0: ${safe}`);
  }

  app.post('/attestation', async (req, reply) => {
    try {
      const { requests, policyIds } = parseRestAttestationRequest(req.body);
      const token = await as.evaluate(requests, policyIds);
      return reply.code(200).type('text/plain; charset=utf-8').send(token);
    } catch (e) {
      return fail(reply, e);
    }
  });

  app.post('/policy', async (req, reply) => {
    try {
      const b = req.body;
      if (!isObject(b) || typeof b.policy_id !== 'string' || typeof b.policy !== 'string') {
        throw new AttestationServiceError('ERR_AS_BAD_REQUEST', 'body must be {"policy_id": string, "policy": base64url}');
      }
      await as.setPolicy(b.policy_id, b.policy);
      return reply.code(200).send();
    } catch (e) {
      return fail(reply, e);
    }
  });

  app.get('/policy', async (_req, reply) => {
    try {
      const ids = await as.listPolicies();
      return reply.code(200).send(ids.map((id) => ({ 'policy-id': id })));
    } catch (e) {
      return fail(reply, e);
    }
  });

  app.post('/challenge', async (req, reply) => {
    try {
      const b = req.body;
      if (!isObject(b) || typeof b.tee !== 'string') throw new AttestationServiceError('ERR_AS_BAD_REQUEST', 'body must be {"tee": string, "tee_params": string}');
      if (!RESTFUL_TEES.includes(b.tee)) throw new AttestationServiceError('ERR_AS_BAD_REQUEST', 'unsupported TEE');
      const params = typeof b.tee_params === 'string' ? b.tee_params : '';
      const challenge = await as.generateSupplementalChallenge(b.tee, params);
      return reply.code(200).type('text/plain; charset=utf-8').send(challenge);
    } catch (e) {
      return fail(reply, e);
    }
  });

  app.get('/.well-known/jwks.json', async (_req, reply) => reply.code(200).send(await as.tokenSignerJwks()));

  app.get('/healthz', async (_req, reply) => reply.code(200).send());
}
