/**
 * The KBS against a shared store that is down at start-up or goes away mid-run (issue "Shared storage…", item 1):
 * it starts anyway, answers 503 StorageUnavailable (no backend detail) for storage-backed requests and /readyz, keeps
 * /healthz at 200, and recovers by itself — installing the default policies it could not install at start.
 * Real PostgreSQL (127.0.0.1:5432, database `test`) and Redis (127.0.0.1:6379) behind a stoppable TCP proxy; each
 * test uses a fresh PostgreSQL database and its own Redis DB keys, removed afterwards. Every wait is bounded.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { parseKbsConfig } from '../../src/kbs/config.js';
import { createKbs, type Kbs } from '../../src/kbs/bootstrap.js';
import { samplePolicy } from '../../src/kbs/resource-policy.js';
import { RESOURCE_NAMESPACE } from '../../src/kbs/plugins/resource.js';
import { DeferredBackend } from '../../src/kbs/deferred-storage.js';
import { retryingOnce } from '../../src/util/retrying-once.js';
import { DeferredStartup } from '../../src/kbs/startup.js';
import { MemoryBackend } from '../../src/storage/memory.js';
import { PostgresBackend } from '../../src/storage/postgres.js';
import { StorageUnavailableError, type KvStore, type StorageBackend } from '../../src/storage/types.js';
import { call, errorType, handshake, auth, attest, attestationBody, ecTeeKey, type Reply } from './support/rcar.js';
import { b64url } from './support/harness.js';

const PG_URL = process.env.KEYBROKER_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_PORT = 6379;
const PG_PORT = 5432;
/** A Redis DB index of our own (the cluster tests use 11); only our session keys are deleted from it. */
const REDIS_DB = 14;
const SECRET = 'resilience-secret';
const RESOURCE = '/kbs/v0/resource/res/key/1';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** A TCP proxy to 127.0.0.1:target that can be stopped (all connections cut) and restarted on the same port. */
class Proxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  constructor(readonly port: number, private readonly target: number) {}
  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => server.listen(this.port, '127.0.0.1', r));
    this.server = server;
  }
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

/** Polls `fn` until `ok` holds; fails after ~20 s of attempts (a bound, not a speed requirement). */
async function eventually(what: string, fn: () => Promise<Reply>, ok: (r: Reply) => boolean = (r) => r.status === 200): Promise<Reply> {
  let last: Reply | undefined;
  for (let i = 0; i < 100; i++) {
    last = await fn();
    if (ok(last)) return last;
    await sleep(200);
  }
  throw new Error(`${what}: still ${last?.status} ${last?.text}`);
}

function assert503(r: Reply, what: string): void {
  assert.equal(r.status, 503, `${what}: ${r.status} ${r.text}`);
  assert.equal(errorType(r), 'StorageUnavailable', what);
  assert.equal(r.json.status, 503);
  // No backend detail on the wire: no host, port, driver message or table name.
  assert.equal(r.json.detail, 'storage backend unavailable', what);
}

interface Env {
  kbs: Kbs;
  url: string;
  admin: Record<string, string>;
  pgProxy: Proxy;
  redisProxy: Proxy;
  db: string;
}

async function withEnv(t: { after(fn: () => Promise<void>): void }, proxiesUp: boolean): Promise<Env> {
  const db = `kbres_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  await admin.end();
  const pgProxy = new Proxy(await freePort(), PG_PORT);
  const redisProxy = new Proxy(await freePort(), REDIS_PORT);
  if (proxiesUp) {
    await pgProxy.start();
    await redisProxy.start();
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'kbs-resilience-'));
  const config = parseKbsConfig(
    {
      data_dir: dataDir,
      storage_backend: {
        storage_type: 'Postgres',
        backends: {
          postgres: { host: '127.0.0.1', port: pgProxy.port, db, username: 'postgres' },
          redis: { url: `redis://127.0.0.1:${redisProxy.port}/${REDIS_DB}` },
        },
      },
      session_storage_type: 'Redis',
    },
    {},
  );
  let kbs: Kbs | undefined;
  t.after(async () => {
    await kbs?.close();
    await pgProxy.stop();
    await redisProxy.stop();
    rmSync(dataDir, { recursive: true, force: true });
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await c.end();
    // Only the session namespace's keys, and only in our own DB index.
    const r = new Redis({ port: REDIS_PORT, host: '127.0.0.1', db: REDIS_DB, lazyConnect: true });
    await r.connect();
    const keys = await r.keys('kbs_protocol_session*');
    if (keys.length > 0) await r.del(...keys);
    await r.quit();
  });
  kbs = await createKbs(config);
  await kbs.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = kbs.app.server.address() as net.AddressInfo;
  const url = `http://127.0.0.1:${addr.port}`;
  const token = readFileSync(kbs.adminTokenPath!, 'utf8').trim();
  return { kbs, url, admin: { authorization: `Bearer ${token}` }, pgProxy, redisProxy, db };
}

async function stored(env: Env, ns: string): Promise<KvStore & { close(): Promise<void> }> {
  const b = new PostgresBackend({ url: `postgres://postgres@127.0.0.1:${PG_PORT}/${env.db}`, host: '', port: PG_PORT, db: '', username: '' }, { sweepIntervalMs: 0 });
  const s = await b.open(ns);
  return Object.assign(s, { close: () => b.close() });
}

/** A full flow: RCAR handshake, admin writes a secret and a resource policy, the guest gets the secret as JWE. */
async function fullFlow(env: Env): Promise<void> {
  const { cookie } = await handshake(env.url);
  const put = await call(env.url, 'POST', RESOURCE, { body: SECRET, headers: env.admin });
  assert.equal(put.status, 200, put.text);
  const pol = await call(env.url, 'POST', '/kbs/v0/resource-policy', { body: JSON.stringify({ policy: b64url(samplePolicy('allow_all')) }), headers: env.admin });
  assert.equal(pol.status, 200, pol.text);
  const res = await call(env.url, 'GET', RESOURCE, { headers: { cookie } });
  assert.equal(res.status, 200, res.text);
  assert.equal(typeof res.json.ciphertext, 'string');
}

describe('KBS with PostgreSQL + Redis that are down', () => {
  test('(a) started while storage is down: up with 503s and /readyz 503, then recovers and installs the defaults', async (t) => {
    const env = await withEnv(t, false);
    assert.equal((await call(env.url, 'GET', '/healthz')).status, 200, 'liveness stays 200');
    assert503(await call(env.url, 'GET', '/readyz'), '/readyz');
    assert503((await auth(env.url)).reply, '/auth');
    assert503(await call(env.url, 'GET', '/kbs/v0/resource-policy', { headers: env.admin }), 'GET resource-policy');
    assert503(await call(env.url, 'POST', RESOURCE, { body: SECRET, headers: env.admin }), 'POST resource');
    assert503(
      await call(env.url, 'POST', '/kbs/v0/attestation-policy', {
        body: JSON.stringify({ type: 'rego', policy_id: 'default_cpu', policy: b64url('package policy\n') }),
        headers: env.admin,
      }),
      'POST attestation-policy',
    );

    await env.pgProxy.start();
    await env.redisProxy.start();
    await eventually('/readyz after storage came back', () => call(env.url, 'GET', '/readyz'));

    // The defaults the KBS could not install at start are there now.
    const kbsNs = await stored(env, 'kbs');
    const asNs = await stored(env, 'attestation_service_policy');
    try {
      assert.equal(Buffer.from((await kbsNs.get('resource-policy.rego'))!).toString('utf8'), samplePolicy('default'));
      assert.deepEqual(await asNs.list(), ['default_cpu.rego', 'default_gpu.rego', 'default_ppcie.rego', 'default_switch.rego']);
    } finally {
      await kbsNs.close();
      await asNs.close();
    }
    const rp = await call(env.url, 'GET', '/kbs/v0/resource-policy', { headers: env.admin });
    assert.equal(rp.status, 200, rp.text);
    await fullFlow(env);
  });

  test('(b) outage mid-run: 503 (never a wrong answer) while down, recovery without a restart', async (t) => {
    const env = await withEnv(t, true);
    assert.equal((await call(env.url, 'GET', '/readyz')).status, 200);
    await fullFlow(env);
    const { cookie } = await handshake(env.url);
    const pending = await auth(env.url);
    assert.equal(pending.reply.status, 200);

    await env.pgProxy.stop();
    await env.redisProxy.stop();
    assert.equal((await call(env.url, 'GET', '/healthz')).status, 200);
    assert503(await call(env.url, 'GET', '/readyz'), '/readyz');
    assert503((await auth(env.url)).reply, '/auth');
    assert503(await attest(env.url, pending.cookie, attestationBody(pending.nonce, ecTeeKey())), '/attest');
    assert503(await call(env.url, 'GET', RESOURCE, { headers: { cookie } }), 'GET resource with a session');
    assert503(await call(env.url, 'POST', RESOURCE, { body: 'other', headers: env.admin }), 'POST resource');

    await env.pgProxy.start();
    await env.redisProxy.start();
    await eventually('/readyz after the outage', () => call(env.url, 'GET', '/readyz'));
    // The session made before the outage still works, and the secret was not changed by the refused write.
    const res = await eventually('GET resource after the outage', () => call(env.url, 'GET', RESOURCE, { headers: { cookie } }));
    assert.equal(typeof res.json.ciphertext, 'string');
    const kv = await stored(env, RESOURCE_NAMESPACE);
    try {
      const keys = await kv.list();
      assert.equal(keys.length, 1, JSON.stringify(keys));
      assert.equal(Buffer.from((await kv.get(keys[0]!))!).toString('utf8'), SECRET);
    } finally {
      await kv.close();
    }
    await fullFlow(env);
  });
});

/** A backend whose server is "down" while `down` is set (no network, no timing). */
class SwitchableBackend implements StorageBackend {
  readonly type = 'Memory';
  down = true;
  opens = 0;
  private readonly mem = new MemoryBackend();
  async open(ns: string): Promise<KvStore> {
    if (this.down) throw new StorageUnavailableError('switchable: down');
    this.opens++;
    return this.mem.open(ns);
  }
  async ping(): Promise<void> {
    if (this.down) throw new StorageUnavailableError('switchable: down');
  }
  close(): Promise<void> {
    return this.mem.close();
  }
}

test('DeferredBackend: open never fails; calls fail with StorageUnavailableError until the backend answers', async () => {
  const inner = new SwitchableBackend();
  const b = new DeferredBackend(inner);
  const kv = await b.open('ns');
  assert.equal(await b.open('ns'), kv, 'one store per namespace');
  await assert.rejects(kv.get('k'), StorageUnavailableError);
  await assert.rejects(b.openAll(), StorageUnavailableError);
  inner.down = false;
  await kv.set('k', new Uint8Array([7]));
  assert.deepEqual(await kv.get('k'), new Uint8Array([7]));
  await b.openAll();
  assert.equal(inner.opens, 1, 'the namespace is opened once');
});

test('retryingOnce: shares one attempt, retries after a failure, never runs again after success', async () => {
  let runs = 0;
  let fail = true;
  const f = retryingOnce(async () => {
    runs++;
    if (fail) throw new StorageUnavailableError('down');
  });
  await Promise.all([assert.rejects(f()), assert.rejects(f())]);
  assert.equal(runs, 1);
  fail = false;
  await f();
  await f();
  assert.equal(runs, 2);
});

test('DeferredStartup: outage → not ready (false), then ready; other errors are thrown (config problems stop start-up)', async () => {
  let down = true;
  const s = new DeferredStartup();
  let installs = 0;
  s.add('a', async () => {
    if (down) throw new StorageUnavailableError('down');
    installs++;
  });
  assert.equal(await s.attempt(), false);
  assert.equal(s.ready, false);
  down = false;
  assert.equal(await s.attempt(), true);
  assert.equal(s.ready, true);
  assert.equal(await s.attempt(), true);
  assert.equal(installs, 1, 'finished work does not run again');

  const bad = new DeferredStartup();
  bad.add('b', async () => {
    throw new TypeError('not an outage');
  });
  await assert.rejects(bad.attempt(), TypeError);
});

test('createKbs: a storage outage at start is not fatal, and the resource policy is not evaluated from a missing default', async () => {
  const inner = new SwitchableBackend();
  const dataDir = mkdtempSync(join(tmpdir(), 'kbs-resilience-'));
  const kbs = await createKbs(parseKbsConfig({ data_dir: dataDir }, {}), { storage: inner });
  try {
    assert.equal(await kbs.ctx.readiness!(), false);
    await assert.rejects(kbs.ctx.resourcePolicy.allows({ plugin: 'resource', resourcePath: ['a', 'b', 'c'], query: {} }, {}, new Date()), StorageUnavailableError);
    inner.down = false;
    assert.equal(await kbs.ctx.readiness!(), true, 'a readiness probe retries the start-up work itself');
    const kv = await inner.open('kbs');
    assert.equal(Buffer.from((await kv.get('resource-policy.rego'))!).toString('utf8'), samplePolicy('default'));
    assert.equal((await (await inner.open('attestation_service_policy')).list()).length, 4);
  } finally {
    await kbs.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
