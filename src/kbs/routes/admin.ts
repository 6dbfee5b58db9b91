/**
 * Built-in admin endpoints (specs/trustee.md §1.2): attestation policy and reference values through the AS, the
 * resource policy here. Admin failures on these endpoints are `AdminAuthAccess`.
 */
import { createHash } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { AdminAuthAccess, AttestationError, InvalidRequestPath, RvpsError } from '../errors.js';
import { AdminDenied } from '../admin.js';
import { parseSetResourcePolicyBody } from '../resource-policy.js';
import type { KbsContext } from '../context.js';
import { bodyBytes } from './body.js';
import { asAttestationError, remoteAsUnavailable } from './as-errors.js';
import { AttestationServiceError } from '../../as/errors.js';

const POLICY_ID = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;

export const adminRoutes: FastifyPluginAsync<{ ctx: KbsContext }> = async (app, { ctx }) => {
  async function requireAdmin(req: FastifyRequest): Promise<void> {
    try {
      await ctx.admin.authorize({ authorization: req.headers.authorization, uri: req.raw.url ?? req.url }, ctx.clock());
    } catch (e) {
      if (e instanceof AdminDenied) throw new AdminAuthAccess(`admin authorization failed: ${e.message}`);
      throw e;
    }
  }

  app.get('/kbs/v0/resource-policy', async (req, reply) => {
    await requireAdmin(req);
    return reply.type('application/json').send(JSON.stringify(await ctx.resourcePolicy.ids()));
  });

  app.post('/kbs/v0/resource-policy', async (req, reply) => {
    await requireAdmin(req);
    const source = parseSetResourcePolicyBody(bodyBytes(req));
    await ctx.resourcePolicy.set(source);
    // Every policy change is an explicit, logged decision (an allow-all policy must never be silent).
    req.log.warn({ sha256: createHash('sha256').update(source).digest('hex') }, 'resource policy replaced');
    return reply.send();
  });

  const as = ctx.as;
  if (!as) return;

  app.post('/kbs/v0/attestation-policy', async (req, reply) => {
    await requireAdmin(req);
    let v: unknown;
    try {
      v = JSON.parse(bodyBytes(req).toString('utf8'));
    } catch {
      throw new AttestationError('request body is not JSON');
    }
    const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
    const id = o.policy_id;
    const policy = o.policy;
    if (typeof id !== 'string' || !POLICY_ID.test(id) || id === '.' || id === '..' || id.includes('..'))
      throw new AttestationError('invalid policy_id: use [A-Za-z0-9_.-], no "/" or ".."');
    if (typeof policy !== 'string') throw new AttestationError('missing "policy" string');
    try {
      await as.setPolicy(id, policy);
    } catch (e) {
      throw asAttestationError(e, 'set attestation policy failed');
    }
    return reply.send();
  });

  app.get('/kbs/v0/reference-value/*', async (req, reply) => {
    await requireAdmin(req);
    const raw = (req.raw.url ?? '').split('?')[0]!.slice('/kbs/v0/reference-value/'.length);
    if (raw === '' || raw.split('/').some((s) => s === '' || s === '.' || s === '..') || raw.includes('%'))
      throw new InvalidRequestPath('invalid reference value id');
    let value;
    try {
      value = await as.queryReferenceValue(raw);
    } catch (e) {
      throw rvpsError(e);
    }
    if (value === undefined) throw new RvpsError('reference value not found');
    return reply.type('application/json').send(JSON.stringify(value));
  });

  app.post('/kbs/v0/reference-value', async (req, reply) => {
    await requireAdmin(req);
    try {
      await as.registerReferenceValue(bodyBytes(req).toString('utf8'));
    } catch (e) {
      throw rvpsError(e);
    }
    return reply.type('application/json').send();
  });
};

function rvpsError(e: unknown): Error {
  if (e instanceof AttestationServiceError) return new RvpsError(e.message);
  const unavailable = remoteAsUnavailable(e);
  if (unavailable) return unavailable;
  if (e instanceof Error && e.name === 'StorageUnavailableError') return e;
  return new RvpsError('reference value operation failed');
}
