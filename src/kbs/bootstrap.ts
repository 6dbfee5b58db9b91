/**
 * Start-up: turn a KbsConfig into a running app — storage, built-in AS, token trust, admin, plugins, policy — and
 * listen on every configured socket (HTTPS when a key and certificate are configured).
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { StorageBackend } from '../storage/types.js';
import { createStorageBackend, withStorageType } from '../storage/config.js';
import type { AttestationService } from '../as/types.js';
import { ConfigError } from '../util/config-error.js';
import { DEFAULT_MAX_SESSION_BYTES, DEFAULT_MAX_SESSIONS, type KbsConfig, type TlsSettings } from './config.js';
import { SessionLimiter } from './session-limit.js';
import { AuthRateLimiter } from './rate-limit.js';
import { DeferredBackend } from './deferred-storage.js';
import { DeferredStartup } from './startup.js';
import type { KbsContext } from './context.js';
import { createAdminAuthorizer, ensureEmbeddedAdmin, type AdminAuthorizer } from './admin.js';
import { KbsMetrics } from './metrics.js';
import { DirectoryResourceSource, KvResourceSource, RESOURCE_NAMESPACE, ResourcePlugin } from './plugins/resource.js';
import { SamplePlugin } from './plugins/sample.js';
import type { KbsPlugin } from './plugins/types.js';
import { RESOURCE_POLICY_NAMESPACE, ResourcePolicy } from './resource-policy.js';
import { SESSION_NAMESPACE, SessionStore } from './session.js';
import { loadJwkSet, type FetchLike, type Jwk } from './token/jwks.js';
import { loadTrustedCerts } from './token/x5c.js';
import { TokenVerifier } from './token/verifier.js';
import { buildKbsApp } from './server.js';

export const KBS_VERSION = '0.1.0';

export interface Log {
  info(m: string): void;
  warn(m: string): void;
}

export interface CreateKbsOptions {
  fetch?: FetchLike;
  clock?: () => Date;
  log?: Log;
  /** Fastify logger (pino). */
  logger?: FastifyBaseLogger;
  /** Override the configured storage (tests). */
  storage?: StorageBackend;
  /** Override the built-in AS (tests); `null` = none (passport mode). */
  as?: AttestationService | null;
  /** Extra keys trusted as token signers (e.g. a test AS's key). */
  trustedSignerKeys?: KeyObject[];
}

export interface Kbs {
  app: FastifyInstance;
  ctx: KbsContext;
  config: KbsConfig;
  /** Path of the embedded admin token when the embedded admin mode is on. */
  adminTokenPath?: string;
  close(): Promise<void>;
}

const noopLog: Log = { info() {}, warn() {} };

export async function createKbs(config: KbsConfig, opts: CreateKbsOptions = {}): Promise<Kbs> {
  const log = opts.log ?? noopLog;
  const clock = opts.clock ?? (() => new Date());
  const fetchImpl: FetchLike = opts.fetch ?? ((url, init) => fetch(url, init));
  for (const w of config.warnings) log.warn(w);

  // Config errors (bad backend settings) throw here and stop start-up; an unreachable server does not: namespaces
  // open on first use and the start-up work that needs storage is retried in the background (see startup.ts).
  const rawStorage = opts.storage ?? createStorageBackend(config.storage, { dataDir: config.dataDir });
  const rawSessionStorage =
    opts.storage || !config.sessionStorageType ? rawStorage : createStorageBackend(withStorageType(config.storage, config.sessionStorageType), { dataDir: config.dataDir });
  const storage = new DeferredBackend(rawStorage);
  const sessionStorage = rawSessionStorage === rawStorage ? storage : new DeferredBackend(rawSessionStorage);
  const startup = new DeferredStartup({ log });

  const closers: Array<() => Promise<void>> = [];
  let as: AttestationService | undefined;
  const trustedKeys: KeyObject[] = [...(opts.trustedSignerKeys ?? [])];
  if (opts.as !== undefined) {
    as = opts.as ?? undefined;
  } else if (config.attestationService?.type === 'coco_as_grpc') {
    // A remote AS: channels connect on first use, so it being down does not stop start-up. Its signer key is not
    // available over gRPC, so the token trust check below needs [attestation_token] material (Trustee §6.9).
    const { GrpcAttestationService } = await import('./remote-as/grpc-client.js');
    const { asAddr, poolSize } = config.attestationService;
    const remote = new GrpcAttestationService({ address: asAddr, poolSize, log });
    log.info(`attestation service: remote gRPC AS at ${asAddr.text} (pool of ${poolSize})`);
    closers.push(() => remote.close());
    as = remote;
  } else if (config.attestationService?.type === 'intel_ta') {
    // Intel Trust Authority: certs_file is loaded now (a bad one stops start-up naming the key); ITA itself is first
    // asked at /attest. Its tokens reach resource requests only through [attestation_token] trusted_jwk_sets.
    const { createItaAttestationService } = await import('./remote-as/ita.js');
    as = await createItaAttestationService(config.attestationService, { fetch: fetchImpl, kbsVersion: KBS_VERSION, log, trustedJwkSets: config.attestationToken.trustedJwkSets });
  } else if (config.attestationService) {
    const { parseAsConfig } = await import('../as/config.js');
    const { createBuiltinAttestationService } = await import('../as/builtin.js');
    const asConfig = parseAsConfig(config.attestationService.asConfig, 'attestation_service');
    const builtin = await createBuiltinAttestationService({ config: asConfig, storage, dataDir: config.dataDir, log, fetch: fetchImpl as never, deferStorageInit: true });
    startup.add('default attestation policies', () => builtin.ensureReady());
    trustedKeys.push(createPublicKey({ key: builtin.signerPublicJwk() as import('node:crypto').JsonWebKey, format: 'jwk' }));
    closers.push(() => builtin.close());
    as = builtin;
  }

  const at = config.attestationToken;
  let trustedCerts;
  try {
    trustedCerts = loadTrustedCerts(at.trustedCertsPaths);
  } catch (e) {
    throw new ConfigError('attestation_token.trusted_certs_paths', (e as Error).message);
  }
  const jwks: Jwk[] = [];
  for (const [i, uri] of at.trustedJwkSets.entries()) {
    try {
      jwks.push(...(await loadJwkSet(uri, fetchImpl)));
    } catch (e) {
      throw new ConfigError(`attestation_token.trusted_jwk_sets[${i}]`, (e as Error).message);
    }
  }
  const tokens = new TokenVerifier({
    trustedCerts,
    jwks,
    trustedKeys,
    insecureHeaderJwk: at.insecureHeaderJwk,
    ...(at.expectedIssuers ? { expectedIssuers: at.expectedIssuers } : {}),
    ...(at.expectedAudiences ? { expectedAudiences: at.expectedAudiences } : {}),
  });
  if (at.expectedAudiences && as && config.attestationService?.type === 'coco_as_builtin' && opts.as === undefined)
    log.warn('attestation_token.expected_audience is set, but the built-in attestation service issues tokens without "aud": the KBS will refuse them');
  if (!tokens.hasTrustMaterial)
    throw new ConfigError('attestation_token', 'no token trust material: configure trusted_certs_paths or trusted_jwk_sets (or insecure_header_jwk = true for testing)');

  const admin: AdminAuthorizer = await createAdminAuthorizer(config.admin, { dataDir: config.dataDir, fetch: fetchImpl, now: clock(), log });
  const adminTokenPath = config.admin.mode === 'Embedded' ? ensureEmbeddedAdmin(config.dataDir, clock()).tokenPath : undefined;

  const metrics = new KbsMetrics(KBS_VERSION);
  const plugins = new Map<string, KbsPlugin>();
  for (const p of config.plugins) {
    if (p.name === 'sample') plugins.set('sample', new SamplePlugin(p.item));
    else {
      const source = p.source.kind === 'directory' ? new DirectoryResourceSource(p.source.dirPath) : new KvResourceSource(await storage.open(RESOURCE_NAMESPACE));
      plugins.set(
        'resource',
        new ResourcePlugin(source, {
          read: (k) => metrics.resourceReads.inc({ resource_path: k }),
          write: (k) => metrics.resourceWrites.inc({ resource_path: k }),
          delete: (k) => metrics.resourceDeletes.inc({ resource_path: k }),
        }),
      );
    }
  }

  const lifetimeMs = (config.attestationService?.timeoutMin ?? 5) * 60_000;
  const sessionKv = await sessionStorage.open(SESSION_NAMESPACE);
  // Abandoned sessions: the file/memory backends drop expired keys when listing (servers expire them natively).
  let sweep: NodeJS.Timeout | undefined;
  if (['Memory', 'LocalFs', 'LocalJson'].includes(sessionStorage.type)) {
    sweep = setInterval(() => void sessionKv.list().catch(() => log.warn('session sweep failed')), 60_000);
    sweep.unref();
  }
  const resourcePolicy = ResourcePolicy.deferred(await storage.open(RESOURCE_POLICY_NAMESPACE));
  startup.add('storage namespaces', () => storage.openAll());
  if (sessionStorage !== storage) startup.add('session storage namespaces', () => sessionStorage.openAll());
  startup.add('default resource policy', () => resourcePolicy.installDefault());
  // First attempt now: with storage up the KBS starts fully ready; with it down, keep retrying in the background.
  if (!(await startup.attempt())) startup.retryInBackground();
  const sessionLimiter = new SessionLimiter({
    maxSessions: config.attestationService?.maxSessions ?? DEFAULT_MAX_SESSIONS,
    maxBytes: config.attestationService?.maxSessionBytes ?? DEFAULT_MAX_SESSION_BYTES,
  });
  const pingTimeoutMs = 2_000;
  const readiness = async (): Promise<boolean> => {
    if (!startup.ready) {
      // Do not wait for the back-off timer: a probe is also a retry.
      if (!(await withTimeout(startup.attempt().catch(() => false), pingTimeoutMs))) return false;
    }
    const pings = [storage, ...(sessionStorage !== storage ? [sessionStorage] : [])].map((b) => b.ping().then(() => true, () => false));
    return (await withTimeout(Promise.all(pings), pingTimeoutMs))?.every(Boolean) ?? false;
  };
  const ctx: KbsContext = {
    ...(as ? { as } : {}),
    readiness,
    sessions: new SessionStore(sessionKv, lifetimeMs, clock, sessionLimiter),
    tokens,
    admin,
    resourcePolicy,
    plugins,
    metrics,
    extraTeekeyPaths: at.extraTeekeyPaths,
    allowRsa15: config.jwe.allowRsa15,
    payloadRequestSize: config.httpServer.payloadRequestSize,
    clock,
  };
  const rl = config.httpServer.authRateLimit;
  if (rl) ctx.authRateLimit = new AuthRateLimiter({ ratePerSec: rl.ratePerSec, burst: rl.burst, trustedProxies: rl.trustedProxies, now: () => clock().getTime() });
  const app = await buildKbsApp(ctx, { logger: opts.logger ?? false });
  return {
    app,
    ctx,
    config,
    ...(adminTokenPath ? { adminTokenPath } : {}),
    async close() {
      startup.stop();
      if (sweep) clearInterval(sweep);
      await app.close();
      for (const c of closers) await c();
      if (!opts.storage) {
        await storage.close();
        if (sessionStorage !== storage) await sessionStorage.close();
      }
    },
  };
}

/** `p`'s value, or undefined when it takes longer than `ms` (the timer does not keep the process alive). */
async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
    timer.unref();
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Node TLS options for a `[http_server]` TLS profile (specs/trustee.md §6.7). */
export function tlsOptions(tls: TlsSettings, key: Buffer, cert: Buffer): import('node:tls').SecureContextOptions {
  const o: import('node:tls').SecureContextOptions = {
    key,
    cert,
    minVersion: tls.minVersion === '1.3' ? 'TLSv1.3' : 'TLSv1.2',
    maxVersion: tls.maxVersion === '1.3' ? 'TLSv1.3' : 'TLSv1.2',
  };
  if (tls.ciphers) o.ciphers = tls.ciphers;
  if (tls.groups) o.ecdhCurve = tls.groups;
  return o;
}

/** Listen on every configured socket; returns the bound addresses. */
export async function listenKbs(kbs: Kbs): Promise<string[]> {
  const hs = kbs.config.httpServer;
  await kbs.app.ready();
  let tls: import('node:tls').SecureContextOptions | undefined;
  if (hs.privateKeyPath && hs.certificatePath) {
    let key: Buffer;
    let cert: Buffer;
    try {
      key = readFileSync(hs.privateKeyPath);
      cert = readFileSync(hs.certificatePath);
    } catch (e) {
      throw new ConfigError('http_server.private_key', `cannot read TLS key or certificate: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    tls = tlsOptions(hs.tls, key, cert);
    try {
      createSecureContext(tls);
    } catch (e) {
      const m = (e as Error).message;
      // Node 20 leaves OpenSSL's error queue dirty after a failed ecdhCurve, which makes the next unrelated key
      // parse in this process fail; one throwaway parse drains it.
      try {
        createPrivateKey(key);
      } catch {
        /* the stale error, or a bad key reported below anyway */
      }
      const cfgKey = /curve|group/i.test(m) ? 'http_server.tls_groups' : /cipher/i.test(m) ? 'http_server.tls_ciphers' : 'http_server.private_key';
      throw new ConfigError(cfgKey, `TLS setup failed: ${m.split('\n')[0]}`);
    }
  }
  const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => kbs.app.routing(req, res);
  const servers: HttpServer[] = [];
  const addrs: string[] = [];
  for (const s of hs.sockets) {
    const server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(s.port, s.host, () => resolve());
    });
    servers.push(server);
    const a = server.address();
    addrs.push(typeof a === 'object' && a ? `${tls ? 'https' : 'http'}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : String(a));
  }
  const close = kbs.close.bind(kbs);
  kbs.close = async () => {
    await Promise.all(servers.map((srv) => new Promise<void>((r) => srv.close(() => r()))));
    await close();
  };
  return addrs;
}
