/**
 * Servers that are down at start-up or go away mid-run: every call fails with StorageUnavailableError (never a
 * wrong answer, never a password in the message), and the same backend object works again once the server is back.
 * "Down" is simulated with a TCP proxy in front of the real server that we stop and restart on the same port.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StorageUnavailableError, type StorageBackend } from '../../src/storage/types.js';
import { PostgresBackend } from '../../src/storage/postgres.js';
import { RedisBackend } from '../../src/storage/redis.js';
import { MySqlBackend } from '../../src/storage/mysql.js';
import { LocalFsBackend } from '../../src/storage/local-fs.js';
import { DeferredBackend } from '../../src/kbs/deferred-storage.js';
import { sleep, uniquePrefix } from './harness.js';

const SECRET = 's3cr3t-Pa55';

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

function assertUnavailable(err: unknown): true {
  assert.ok(err instanceof StorageUnavailableError, `expected StorageUnavailableError, got ${String(err)}`);
  assert.equal(err.code, 'ERR_STORAGE_UNAVAILABLE');
  assert.ok(!err.message.includes(SECRET), `message leaks the password: ${err.message}`);
  assert.ok(!String(err.stack).includes(SECRET));
  return true;
}

/** Polls until `fn` succeeds (the driver reconnects in the background); fails after ~10 s of attempts. */
async function eventually<T>(fn: () => Promise<T>): Promise<T> {
  let last: unknown;
  for (let i = 0; i < 100; i++) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      await sleep(100);
    }
  }
  throw last;
}

interface Server {
  name: string;
  port: number;
  /** Backend reaching the server at `port`, with the password in its config where the server tolerates one. */
  make(port: number, withSecret: boolean): StorageBackend & { dropNamespace(ns: string): Promise<void> };
}

const quick = { connectTimeoutMs: 1500, sweepIntervalMs: 0 };
const servers: Server[] = [
  {
    name: 'Postgres',
    port: 5432,
    // trust auth: the password is sent but not checked, so it can travel in the URL here
    make: (port, withSecret) =>
      new PostgresBackend({ url: `postgres://postgres${withSecret ? ':' + SECRET : ''}@127.0.0.1:${port}/test`, host: '', port, db: '', username: '' }, quick),
  },
  {
    name: 'Redis',
    port: 6379,
    make: (port, withSecret) => new RedisBackend({ url: `redis://${withSecret ? 'user:' + SECRET + '@' : ''}127.0.0.1:${port}` }, quick),
  },
  {
    name: 'MySql',
    port: 3306,
    make: (port, withSecret) =>
      new MySqlBackend({ host: '127.0.0.1', port, db: 'test', username: 'root', password: withSecret ? SECRET : '' }, quick),
  },
];

for (const srv of servers) {
  describe(`storage unavailable: ${srv.name}`, () => {
    test('nothing listening: StorageUnavailableError from ping, open and operations, no password in it', async () => {
      const b = srv.make(await freePort(), true);
      try {
        await assert.rejects(b.ping(), assertUnavailable);
        const opened = b.open('kbt_down').then(
          (s) => s.get('k'),
          (e: unknown) => Promise.reject(e),
        );
        await assert.rejects(opened, assertUnavailable);
        const batch = b.open('kbt_down').then(
          (s) => s.getMany(['k', 'k2']),
          (e: unknown) => Promise.reject(e),
        );
        await assert.rejects(batch, assertUnavailable);
      } finally {
        await b.close();
      }
    });

    test('server goes away mid-run, then comes back: errors while down, same object works after', async () => {
      const proxy = new Proxy(await freePort(), srv.port);
      await proxy.start();
      const b = srv.make(proxy.port, false);
      const ns = uniquePrefix();
      try {
        const s = await b.open(ns);
        await s.set('k', new TextEncoder().encode('before'));
        await proxy.stop();
        await assert.rejects(s.get('k'), assertUnavailable);
        await assert.rejects(s.getMany(['k', 'absent', 'k']), assertUnavailable);
        await assert.rejects(s.set('k', new TextEncoder().encode('during')), assertUnavailable);
        await assert.rejects(s.take('k'), assertUnavailable);
        await proxy.start();
        const v = await eventually(() => s.get('k'));
        assert.equal(new TextDecoder().decode(v), 'before');
        const many = await eventually(() => s.getMany(['k', 'absent', 'k']));
        assert.deepEqual(many.map((x) => (x === undefined ? undefined : new TextDecoder().decode(x))), ['before', undefined, 'before']);
        await s.set('k2', new Uint8Array([1]));
        assert.deepEqual(await s.list(), ['k', 'k2']);
      } finally {
        await b.dropNamespace(ns).catch(() => {});
        await b.close();
        await proxy.stop();
      }
    });

    test('DeferredBackend (the KBS wrapper): getMany is StorageUnavailableError while down at start-up, then works', async () => {
      const proxy = new Proxy(await freePort(), srv.port); // not started: the server is "down"
      const inner = srv.make(proxy.port, false);
      const b = new DeferredBackend(inner);
      const ns = uniquePrefix();
      try {
        const s = await b.open(ns); // never fails for an outage
        await assert.rejects(s.getMany(['k']), assertUnavailable);
        await proxy.start();
        assert.deepEqual(await eventually(() => s.getMany(['k', 'k'])), [undefined, undefined]);
        await s.set('k', new TextEncoder().encode('up'));
        const got = await s.getMany(['absent', 'k']);
        assert.equal(got[0], undefined);
        assert.equal(new TextDecoder().decode(got[1]), 'up');
        await proxy.stop();
        await assert.rejects(s.getMany(['k']), assertUnavailable);
      } finally {
        await proxy.start().catch(() => {});
        await inner.dropNamespace(ns).catch(() => {});
        await b.close();
        await proxy.stop();
      }
    });

    test('after close(), calls fail with StorageUnavailableError', async () => {
      const b = srv.make(srv.port, false);
      await b.close();
      await assert.rejects(b.ping(), assertUnavailable);
    });
  });
}

test('local-fs: an unusable directory is StorageUnavailableError', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kbt-down-'));
  try {
    await writeFile(join(dir, 'file'), 'not a directory');
    const b = new LocalFsBackend({ dirPath: join(dir, 'file', 'storage') });
    await assert.rejects(b.ping(), assertUnavailable);
    await assert.rejects(b.open('ns'), assertUnavailable);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
