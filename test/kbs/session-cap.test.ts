/** The per-instance live-session cap (`[attestation_service] max_sessions`) and the in-memory default session store. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionLimiter } from '../../src/kbs/session-limit.js';
import { SessionStore, nonceMatches } from '../../src/kbs/session.js';
import { TooManySessions } from '../../src/kbs/errors.js';
import { DEFAULT_MAX_SESSION_BYTES, DEFAULT_MAX_SESSIONS, defaultKbsConfig, parseKbsConfig } from '../../src/kbs/config.js';
import { MemoryBackend } from '../../src/storage/memory.js';
import { StorageUnavailableError, type KvStore } from '../../src/storage/types.js';
import { ConfigError } from '../../src/util/config-error.js';

const REQ = { version: '0.4.0', tee: 'sample', 'extra-params': '' };
const challenge = (n: string) => ({ nonce: n, 'extra-params': '' });

test('SessionLimiter: refuses at the cap, frees slots when their lifetime ends', () => {
  const l = new SessionLimiter(3);
  assert.ok(l.tryAcquire(0, 100));
  assert.ok(l.tryAcquire(10, 110));
  assert.ok(l.tryAcquire(20, 120));
  assert.equal(l.tryAcquire(30, 130), false);
  assert.equal(l.live(30), 3);
  assert.equal(l.live(100), 2, 'the first slot ends at its expiry');
  assert.ok(l.tryAcquire(100, 200));
  assert.equal(l.tryAcquire(100, 200), false);
  l.releaseLast();
  assert.equal(l.live(100), 2);
  assert.equal(l.live(10_000), 0);
  assert.throws(() => new SessionLimiter(0), RangeError);
});

test('SessionLimiter: the byte cap refuses a session that would exceed it, and frees bytes at expiry', () => {
  const l = new SessionLimiter({ maxSessions: 100, maxBytes: 1000 });
  assert.ok(l.tryAcquire(0, 100, 600));
  assert.equal(l.tryAcquire(1, 101, 401), false, '600 + 401 > 1000');
  assert.ok(l.tryAcquire(1, 101, 400), '600 + 400 = 1000 is allowed');
  assert.equal(l.liveBytes(1), 1000);
  assert.equal(l.tryAcquire(2, 102, 1), false);
  l.releaseLast();
  assert.equal(l.liveBytes(2), 600);
  assert.equal(l.liveBytes(100), 0, 'the first session expired at 100');
  assert.ok(l.tryAcquire(100, 200, 1000));
  assert.throws(() => new SessionLimiter({ maxSessions: 1, maxBytes: 0 }), RangeError);
});

test('SessionLimiter: many sessions over time stay counted exactly', () => {
  const l = new SessionLimiter(5000);
  for (let t = 0; t < 20_000; t++) assert.ok(l.tryAcquire(t, t + 1000), `slot at ${t}`);
  assert.equal(l.live(20_000), 999);
});

test('SessionStore with a cap: 429 error and nothing stored beyond it; a failed write gives its slot back', async () => {
  let now = 1_000_000;
  const kv = await new MemoryBackend().open('kbs_protocol_session');
  const store = new SessionStore(kv, 60_000, () => new Date(now), new SessionLimiter(2));
  await store.create(REQ, challenge('a'));
  await store.create(REQ, challenge('b'));
  await assert.rejects(store.create(REQ, challenge('c')), (e: unknown) => e instanceof TooManySessions && e.status === 429);
  assert.equal((await kv.list()).length, 2);
  now += 60_000;
  await store.create(REQ, challenge('d'));

  let fail = true;
  const flaky: KvStore = {
    ...kv,
    namespace: kv.namespace,
    get: (k) => kv.get(k),
    list: () => kv.list(),
    delete: (k) => kv.delete(k),
    take: (k) => kv.take(k),
    set: (k, v, o) => (fail ? Promise.reject(new StorageUnavailableError('down')) : kv.set(k, v, o)),
  };
  const capped = new SessionStore(flaky, 60_000, () => new Date(now), new SessionLimiter(1));
  await assert.rejects(capped.create(REQ, challenge('x')), StorageUnavailableError);
  fail = false;
  await capped.create(REQ, challenge('y'));
  await assert.rejects(capped.create(REQ, challenge('z')), TooManySessions);

  // The byte cap counts the stored (encoded) session: a big request is refused, a small one still fits.
  const kv2 = await new MemoryBackend().open('kbs_protocol_session');
  const sized = new SessionStore(kv2, 60_000, () => new Date(now), new SessionLimiter({ maxSessions: 100, maxBytes: 2000 }));
  const big = { ...REQ, 'extra-params': { pad: 'x'.repeat(1500) } };
  await sized.create(big, challenge('1'));
  await assert.rejects(sized.create(big, challenge('2')), TooManySessions);
  assert.equal((await kv2.list()).length, 1);
  await sized.create(REQ, challenge('3'));
  const used = (await Promise.all((await kv2.list()).map((k) => kv2.get(k)))).reduce((n, v) => n + v!.length, 0);
  assert.ok(used <= 2000, `stored ${used} bytes`);
});

test('config: [attestation_service] max_sessions / max_session_bytes, defaults, bounds checked, not passed to the AS', () => {
  assert.equal(DEFAULT_MAX_SESSIONS, 100_000);
  assert.equal(DEFAULT_MAX_SESSION_BYTES, 256 * 1024 * 1024);
  assert.equal(parseKbsConfig({}, {}).attestationService?.maxSessionBytes, 256 * 1024 * 1024);
  assert.equal(parseKbsConfig({ attestation_service: { max_session_bytes: 2 * 1024 * 1024 } }, {}).attestationService?.maxSessionBytes, 2 * 1024 * 1024);
  assert.throws(() => parseKbsConfig({ attestation_service: { max_session_bytes: 1000 } }, {}), ConfigError, 'below 1 MiB');
  assert.equal(parseKbsConfig({}, {}).attestationService?.maxSessions, 100_000);
  const c = parseKbsConfig({ attestation_service: { max_sessions: 42, timeout: 3 } }, {});
  assert.equal(c.attestationService?.maxSessions, 42);
  assert.deepEqual(c.attestationService?.asConfig, {});
  assert.throws(() => parseKbsConfig({ attestation_service: { max_sessions: 0 } }, {}), ConfigError);
  assert.throws(() => parseKbsConfig({ attestation_service: { max_sessions: 'many' } }, {}), ConfigError);
});

test('no config file: sessions are kept in memory, everything else in local-fs', () => {
  const d = defaultKbsConfig({ KBS_DATA_DIR: '/tmp/kbs-default-test' });
  assert.equal(d.sessionStorageType, 'Memory');
  assert.equal(d.storage.storageType, 'LocalFs');
  assert.equal(d.attestationService?.maxSessions, DEFAULT_MAX_SESSIONS);
});

test('nonceMatches: equal only for identical UTF-8 bytes', () => {
  const n = 'q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=';
  assert.ok(nonceMatches(n, n));
  assert.equal(nonceMatches(n, n.slice(0, -1) + 'A'), false);
  assert.equal(nonceMatches(n, n.slice(0, -1)), false);
  assert.equal(nonceMatches('é', 'e\u0301'), false, 'no normalisation');
  assert.equal(nonceMatches('', ''), true);
});
