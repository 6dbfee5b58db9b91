/**
 * `/kbs/v0/<plugin>/…` (specs/trustee.md §1.1, §1.3). Admin plugin calls answer the raw plugin output
 * (`text/xml`, Trustee's quirk); attestation-gated calls need a token (Attested session cookie, else Bearer), which
 * is re-verified on every request, then the resource policy, then the output is JWE-wrapped to the token's tee-pubkey.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { AdminAuthInitialization, PluginNotFound, PolicyDeny, TokenNotFound, TokenVerifierError } from '../errors.js';
import { AdminDenied } from '../admin.js';
import { sessionIdFromCookieHeader } from '../cookie.js';
import { splitKbsUrl } from '../resource-path.js';
import { encryptToTeeKey } from '../jwe.js';
import { findTeePubKey } from '../tee-pubkey-lookup.js';
import type { KbsContext } from '../context.js';
import { bodyBytes } from './body.js';
import type { HttpMethod, PluginRequest } from '../plugins/types.js';

export const pluginRoutes: FastifyPluginAsync<{ ctx: KbsContext }> = async (app, { ctx }) => {
  async function tokenOf(req: FastifyRequest): Promise<string> {
    const id = sessionIdFromCookieHeader(req.headers.cookie);
    if (id !== undefined) {
      const s = await ctx.sessions.get(id);
      if (s?.state === 'Attested') return s.token;
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m) throw new TokenNotFound('no attested session and no bearer token');
    return m[1]!;
  }

  app.route({
    method: ['GET', 'POST', 'PUT', 'DELETE'],
    url: '/kbs/v0/*',
    handler: async (req, reply) => {
      const path = splitKbsUrl(req.raw.url ?? req.url);
      const plugin = ctx.plugins.get(path.head);
      if (!plugin) throw new PluginNotFound(`no plugin or endpoint "${path.head.slice(0, 64)}" for ${req.method}`);
      const preq: PluginRequest = {
        method: req.method as HttpMethod,
        path: path.rest,
        query: path.query,
        body: bodyBytes(req),
      };
      const now = ctx.clock();
      if (plugin.requiresAdmin(preq)) {
        try {
          await ctx.admin.authorize({ authorization: req.headers.authorization, uri: path.uri }, now);
        } catch (e) {
          if (e instanceof AdminDenied) throw new AdminAuthInitialization(`admin authorization failed: ${e.message}`);
          throw e;
        }
        const out = await plugin.handle(preq);
        return reply.type('text/xml').send(Buffer.from(out));
      }

      const claims = await ctx.tokens.verify(await tokenOf(req), now);
      ctx.metrics.policyEvaluations.inc();
      let allowed: boolean;
      try {
        allowed = await ctx.resourcePolicy.allows({ plugin: plugin.name, resourcePath: path.rest, query: path.query }, claims, now);
      } catch (e) {
        ctx.metrics.policyErrors.inc();
        throw e;
      }
      if (!allowed) {
        ctx.metrics.policyViolations.inc();
        throw new PolicyDeny();
      }
      ctx.metrics.policyApprovals.inc();
      const out = await plugin.handle(preq);
      if (!plugin.encrypted(preq)) return reply.type('text/xml').send(Buffer.from(out));
      const teeKey = findTeePubKey(claims, ctx.extraTeekeyPaths);
      if (teeKey === undefined) throw new TokenVerifierError('no tee-pubkey in the token');
      const jwe = await encryptToTeeKey(teeKey, out, { allowRsa15: ctx.allowRsa15 });
      return reply.type('application/json').send(JSON.stringify(jwe));
    },
  });
};
