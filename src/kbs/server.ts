/**
 * The KBS HTTP app: route plugins, raw-bytes body parsing with the `payload_request_size` cap, metrics hooks, and
 * the one place where errors become problem JSON (specs/trustee.md §1.4).
 */
import Fastify, { type FastifyInstance, type FastifyBaseLogger } from 'fastify';
import { StorageUnavailableError } from '../storage/types.js';
import { KbsError, PayloadTooLarge, StorageUnavailable, problemOf, ERROR_TYPE_PREFIX } from './errors.js';
import type { KbsContext } from './context.js';
import { authRoutes } from './routes/auth.js';
import { attestRoutes } from './routes/attest.js';
import { adminRoutes } from './routes/admin.js';
import { pluginRoutes } from './routes/plugins.js';

export interface BuildAppOptions {
  logger?: FastifyBaseLogger | false;
  https?: { key: Buffer; cert: Buffer; minVersion?: string; maxVersion?: string; ciphers?: string; ecdhCurve?: string } | null;
}

function toKbsError(err: unknown, limit: number): KbsError | undefined {
  if (err instanceof KbsError) return err;
  if (err instanceof StorageUnavailableError) return new StorageUnavailable('storage backend unavailable');
  const e = err as { code?: string; statusCode?: number };
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || e.statusCode === 413)
    return new PayloadTooLarge(`request body is larger than this endpoint accepts (payload_request_size ${Math.round(limit / (1024 * 1024))} MiB)`);
  return undefined;
}

export async function buildKbsApp(ctx: KbsContext, opts: BuildAppOptions = {}): Promise<FastifyInstance> {
  const base = {
    bodyLimit: ctx.payloadRequestSize,
    // Trustee's catch-all splits on "/" itself; we read req.raw.url, so keep routing literal.
    routerOptions: { ignoreTrailingSlash: false, ignoreDuplicateSlashes: false },
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
  };
  const make = Fastify as unknown as (o: object) => FastifyInstance;
  const app = make(opts.https ? { ...base, https: opts.https } : base);

  // Every body is raw bytes: handlers decode JSON themselves so a bad body gets Trustee's error variant.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  // Callback-style hooks (not async): no promise and no extra microtask per hook on every request. Two hooks, no
  // per-request map: the duration is fastify's own `reply.elapsedTime`, the response size its content-length.
  const { metrics } = ctx;
  const requestsByLabel = new Map<string, { inc(): void }>();
  app.addHook('onRequest', (req, _reply, done) => {
    if (req.url.startsWith('/kbs')) {
      metrics.activeConnections.inc();
      const len = Number(req.headers['content-length'] ?? 0);
      if (Number.isFinite(len)) metrics.requestSize.observe(len);
    }
    done();
  });
  app.addHook('onResponse', (req, reply, done) => {
    if (req.url.startsWith('/kbs')) {
      metrics.activeConnections.dec();
      metrics.httpDuration.observe(reply.elapsedTime / 1000);
      const size = Number(reply.getHeader('content-length') ?? 0);
      metrics.responseSize.observe(Number.isFinite(size) ? size : 0);
      const label = `${req.method} ${reply.statusCode}`;
      let counter = requestsByLabel.get(label);
      if (!counter) {
        counter = metrics.httpRequests.labels({ method: req.method, status: String(reply.statusCode) });
        // Methods and statuses are few, but bound the map anyway (methods come from clients).
        if (requestsByLabel.size < 256) requestsByLabel.set(label, counter);
      }
      counter.inc();
    }
    done();
  });

  app.setErrorHandler((err, req, reply) => {
    const k = toKbsError(err, ctx.payloadRequestSize);
    if (k) {
      if (k.status >= 500) req.log.warn({ variant: k.variant }, k.message);
      else req.log.info({ variant: k.variant }, k.message);
      return reply.status(k.status).type('application/problem+json').send(JSON.stringify(problemOf(k)));
    }
    const e = err as { statusCode?: number; code?: string };
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      return reply
        .status(e.statusCode)
        .type('application/problem+json')
        .send(JSON.stringify({ type: ERROR_TYPE_PREFIX + 'BadRequest', title: 'BadRequest', status: e.statusCode, detail: e.code ?? 'bad request' }));
    }
    // Unexpected: log the error (server side only), answer without details.
    req.log.error({ err }, 'internal error');
    return reply
      .status(500)
      .type('application/problem+json')
      .send(JSON.stringify({ type: ERROR_TYPE_PREFIX + 'InternalError', title: 'InternalError', status: 500, detail: 'internal error' }));
  });

  // Trustee (actix) answers a known path with an unsupported method with 405, anything else with 404.
  app.setNotFoundHandler((req, reply) => {
    const path = (req.raw.url ?? '').split('?')[0]!;
    if (path === '/metrics' || path === '/healthz' || path === '/readyz') return reply.status(405).header('allow', 'GET').send();
    if (path.startsWith('/kbs/v0/')) return reply.status(405).header('allow', 'GET, POST, PUT, DELETE').send();
    return reply.status(404).send();
  });

  // Liveness: the process serves HTTP (stays 200 during a storage outage).
  app.get('/healthz', async (_req, reply) => reply.send());
  // Readiness: start-up work done and storage answering; 503 StorageUnavailable (no backend detail) otherwise.
  app.get('/readyz', async (_req, reply) => {
    if (!ctx.readiness || (await ctx.readiness())) return reply.send();
    const k = new StorageUnavailable('storage backend unavailable');
    return reply.status(k.status).type('application/problem+json').send(JSON.stringify(problemOf(k)));
  });
  app.get('/metrics', async (req, reply) => {
    let text: string;
    try {
      text = await ctx.metrics.render();
    } catch (e) {
      // A multi-process KBS could not gather every worker's counters: a partial sum would look like a counter reset.
      req.log.warn({ err: { message: (e as Error).message } }, 'metrics unavailable');
      return reply.status(503).type('text/plain; charset=utf-8').send('metrics unavailable\n');
    }
    return reply.type(ctx.metrics.registry.contentType).send(text);
  });

  await app.register(authRoutes, { ctx });
  await app.register(attestRoutes, { ctx });
  await app.register(adminRoutes, { ctx });
  await app.register(pluginRoutes, { ctx });
  return app;
}
