// Per-client /auth rate limit (src/kbs/rate-limit.ts, `[http_server] auth_rate_limit`): token bucket, client
// attribution (peer, trusted proxies, X-Forwarded-For, IPv4-mapped IPv6, IPv6 /64), config errors, and the 429 over
// HTTP on a real KBS with nothing stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthRateLimiter, TokenBucketLimiter, clientAddress, clientKeyOf, parseCidr, parseIp } from '../../src/kbs/rate-limit.js';
import { defaultKbsConfig, parseKbsConfig } from '../../src/kbs/config.js';
import { ConfigError } from '../../src/util/config-error.js';
import { startKbs } from './support/harness.js';
import { call, errorType } from './support/rcar.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function bucket(ratePerSec: number, burst: number, maxClients?: number) {
  const clock = { now: T0 };
  const l = new TokenBucketLimiter({ ratePerSec, burst, now: () => clock.now, ...(maxClients ? { maxClients } : {}) });
  return { l, clock };
}

const key = (s: string) => {
  const a = parseIp(s);
  assert.ok(a, `parses: ${s}`);
  return clientKeyOf(a);
};

test('token bucket: a new client gets the burst, then waits for the refill; Retry-After is whole seconds ≥ 1', () => {
  const { l, clock } = bucket(2, 3);
  for (let i = 0; i < 3; i++) assert.equal(l.take('a'), 0, `burst request ${i}`);
  // Empty: one token is due in 0.5 s, which rounds up to 1 s.
  assert.equal(l.take('a'), 1);
  clock.now += 499;
  assert.equal(l.take('a'), 1, 'not yet refilled');
  clock.now += 1;
  assert.equal(l.take('a'), 0, 'one token after 500 ms at 2/s');
  assert.equal(l.take('a'), 1);
  // A long pause refills to the burst, never beyond.
  clock.now += 3_600_000;
  for (let i = 0; i < 3; i++) assert.equal(l.take('a'), 0);
  assert.notEqual(l.take('a'), 0);
  // Clients do not share buckets.
  assert.equal(l.take('b'), 0);
});

test('token bucket: slow rates give longer Retry-After; many small refills add up exactly (no float drift)', () => {
  const slow = bucket(0.1, 1);
  assert.equal(slow.l.take('x'), 0);
  assert.equal(slow.l.take('x'), 10, '0.1/s: next token in 10 s');
  slow.clock.now += 4_000;
  assert.equal(slow.l.take('x'), 6);
  slow.clock.now += 6_000;
  assert.equal(slow.l.take('x'), 0);

  // 10/s, empty bucket, then 100 calls 1 ms apart (refused) and the one at exactly +100 ms is granted.
  const fine = bucket(10, 1);
  assert.equal(fine.l.take('y'), 0);
  for (let i = 0; i < 99; i++) {
    fine.clock.now += 1;
    assert.equal(fine.l.take('y'), 1);
  }
  fine.clock.now += 1;
  assert.equal(fine.l.take('y'), 0, 'the token is due at +100 ms');
});

test('token bucket: a clock stepping back neither refills nor locks the client out', () => {
  const { l, clock } = bucket(1, 1);
  assert.equal(l.take('a'), 0);
  clock.now -= 3_600_000;
  assert.equal(l.take('a'), 1, 'no refill from a backwards step');
  clock.now += 1_000;
  assert.equal(l.take('a'), 0, 'refills from the new time, not from the old one an hour ahead');
});

test('token bucket: memory is bounded by the LRU; the least recently seen client is forgotten first', () => {
  const { l } = bucket(1, 1, 3);
  for (const c of ['a', 'b', 'c']) assert.equal(l.take(c), 0);
  assert.equal(l.take('a'), 1, 'a is now the most recently seen');
  for (let i = 0; i < 100; i++) l.take(`flood-${i}`);
  assert.equal(l.size, 3);
  // a, b and c were all pushed out by the flood: each starts with a full bucket again.
  assert.equal(l.take('a'), 0);
  const kept = bucket(1, 1, 3);
  for (const c of ['a', 'b', 'c']) kept.l.take(c);
  kept.l.take('a'); // touch a: b is now the oldest
  kept.l.take('d'); // evicts b only
  assert.equal(kept.l.take('a'), 1, 'a kept its (empty) bucket');
  assert.equal(kept.l.take('b'), 0, 'b was evicted and starts full');
});

test('token bucket: bad rate or burst is refused', () => {
  for (const [rate, burst] of [[0, 1], [-1, 1], [Number.NaN, 1], [Number.POSITIVE_INFINITY, 1], [1, 0], [1, 1.5]] as const)
    assert.throws(() => new TokenBucketLimiter({ ratePerSec: rate, burst, now: () => 0 }), RangeError, `${rate}/${burst}`);
});

test('client keys: IPv4-mapped IPv6 is the IPv4 client; IPv6 is keyed by its /64', () => {
  assert.equal(key('1.2.3.4'), '1.2.3.4');
  assert.equal(key('::ffff:1.2.3.4'), '1.2.3.4');
  assert.equal(key('::FFFF:102:304'), '1.2.3.4', 'mapped, hex tail');
  assert.equal(key('0:0:0:0:0:ffff:1.2.3.4'), '1.2.3.4');
  assert.equal(key('2001:db8:0:1::1'), '2001:db8:0:1::/64');
  assert.equal(key('2001:db8:0:1:ffff:ffff:ffff:ffff'), '2001:db8:0:1::/64', 'same /64, same client');
  assert.equal(key('2001:0DB8:0000:0001:0:0:0:2'), '2001:db8:0:1::/64', 'leading zeros and case do not make a new client');
  assert.notEqual(key('2001:db8:0:2::1'), key('2001:db8:0:1::1'), 'another /64 is another client');
  assert.equal(key('fe80::1%eth0'), 'fe80:0:0:0::/64', 'zone id ignored');
  assert.equal(key('::'), '0:0:0:0::/64');
  assert.equal(key('1:2:3:4:5:6:7:8'), '1:2:3:4::/64');
  assert.equal(key('1::'), '1:0:0:0::/64');
  // NAT64 / other IPv4-embedding prefixes are not the IPv4 client (only ::ffff:0:0/96 is).
  assert.equal(key('64:ff9b::1.2.3.4'), '64:ff9b:0:0::/64');
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-4', 'a.b.c.d', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', ':1:2:3:4:5:6:7', 'g::1', '1.2.3.4::', '::1.2.3', 'localhost', ' 1.2.3.4'])
    assert.equal(parseIp(bad), undefined, JSON.stringify(bad));
});

test('trusted_proxies entries: addresses and CIDRs, host bits and prefixes checked', () => {
  assert.deepEqual(parseCidr('10.0.0.0/8'), { bytes: Uint8Array.from([10, 0, 0, 0]), prefix: 8 });
  assert.deepEqual(parseCidr('10.1.2.3'), { bytes: Uint8Array.from([10, 1, 2, 3]), prefix: 32 });
  assert.deepEqual(parseCidr('::ffff:10.0.0.0/104'), { bytes: Uint8Array.from([10, 0, 0, 0]), prefix: 8 }, 'mapped CIDR = IPv4 CIDR');
  assert.equal(parseCidr('2001:db8::/32').prefix, 32);
  assert.equal(parseCidr('0.0.0.0/0').prefix, 0);
  for (const bad of ['10.0.0.1/8', '10.0.0.0/33', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/08x', '2001:db8::1/32', '2001:db8::/129', 'proxy.example', '10.0.0.0/8/8', ''])
    assert.throws(() => parseCidr(bad), RangeError, bad);
});

test('X-Forwarded-For: believed only from a trusted peer; right-most untrusted hop wins; malformed → the peer', () => {
  const proxies = [parseCidr('10.0.0.0/8'), parseCidr('2001:db8:ffff::/48')];
  const at = (peer: string, xff?: string | string[], trusted = proxies) => {
    const a = clientAddress(peer, xff, trusted);
    return a && clientKeyOf(a);
  };
  // Untrusted peer: its X-Forwarded-For is ignored, whatever it says.
  assert.equal(at('203.0.113.7', '198.51.100.1'), '203.0.113.7');
  assert.equal(at('203.0.113.7', '10.0.0.1'), '203.0.113.7');
  // No trusted proxies configured: the peer, always.
  assert.equal(at('10.0.0.5', '198.51.100.1', []), '10.0.0.5');
  // Trusted peer: the right-most address that is not a trusted proxy.
  assert.equal(at('10.0.0.5', '198.51.100.1'), '198.51.100.1');
  assert.equal(at('::ffff:10.0.0.5', '198.51.100.1'), '198.51.100.1', 'a mapped peer address is matched as IPv4');
  assert.equal(at('10.0.0.5', '198.51.100.1, 10.9.9.9'), '198.51.100.1', 'trusted hops on the right are skipped');
  // Spoofed left-most entries (written by the client) are never read.
  for (const spoof of ['1.1.1.1', 'garbage', '1.1.1.1, 2.2.2.2', '::1'])
    assert.equal(at('10.0.0.5', `${spoof}, 198.51.100.1`), '198.51.100.1', spoof);
  // Several header lines are one list (node gives an array for repeated headers it does not join).
  assert.equal(at('10.0.0.5', ['1.1.1.1', '198.51.100.1']), '198.51.100.1');
  // Ports and brackets some proxies add; IPv6 clients by /64; an IPv6 proxy.
  assert.equal(at('10.0.0.5', '198.51.100.1:4711'), '198.51.100.1');
  assert.equal(at('10.0.0.5', '[2001:db8:1:2::9]:443'), '2001:db8:1:2::/64');
  assert.equal(at('2001:db8:ffff:1::1', '2001:db8:1:2::9'), '2001:db8:1:2::/64');
  // Malformed where we would read it → the peer address (the proxy), never a guess.
  for (const bad of ['', ' ', 'unknown', '198.51.100.1, ', '198.51.100.1,,', '[2001:db8::1', '999.1.1.1', '198.51.100.1:port'])
    assert.equal(at('10.0.0.5', bad), '10.0.0.5', JSON.stringify(bad));
  // Every hop trusted: the farthest one.
  assert.equal(at('10.0.0.5', '10.1.1.1, 10.2.2.2'), '10.1.1.1');
  // No header: the peer.
  assert.equal(at('10.0.0.5', undefined), '10.0.0.5');
  // No peer address at all (socket gone): nothing to key by; the limiter then uses one shared bucket.
  assert.equal(clientAddress(undefined, '198.51.100.1', proxies), undefined);
});

test('AuthRateLimiter: mapped and plain IPv4 share a bucket, one IPv6 /64 shares a bucket, XFF only via trusted proxies', () => {
  const now = T0;
  const l = new AuthRateLimiter({ ratePerSec: 1, burst: 1, trustedProxies: [parseCidr('127.0.0.1')], now: () => now });
  assert.equal(l.check('1.2.3.4', undefined), 0);
  assert.equal(l.check('::ffff:1.2.3.4', undefined), 1, 'the mapped form is the same client');
  assert.equal(l.check('2001:db8:0:1::1', undefined), 0);
  assert.equal(l.check('2001:db8:0:1::2', undefined), 1, 'another address in the same /64 is the same client');
  assert.equal(l.check('2001:db8:0:2::1', undefined), 0, 'another /64 is another client');
  // Via the trusted proxy: client 1.2.3.4 (already empty) stays limited; a spoofed XFF from an untrusted peer is
  // not a way out for 1.2.3.4 either.
  assert.equal(l.check('127.0.0.1', '1.2.3.4'), 1);
  assert.equal(l.check('1.2.3.4', '5.6.7.8'), 1);
  assert.equal(l.check('127.0.0.1', '5.6.7.8'), 0);
  // enforce() sets Retry-After and throws the 429 variant.
  const headers: Record<string, string> = {};
  assert.throws(
    () => l.enforce('1.2.3.4', undefined, { header: (k, v) => (headers[k] = v) }),
    (e: unknown) => (e as { variant?: string; status?: number }).variant === 'TooManyRequests' && (e as { status: number }).status === 429,
  );
  assert.deepEqual(headers, { 'retry-after': '1' });
});

test('config: auth_rate_limit / auth_rate_burst / trusted_proxies parse; off unless configured; errors name the key', () => {
  const hs = (http_server: Record<string, unknown>) => parseKbsConfig({ http_server }, {}).httpServer;
  assert.equal(defaultKbsConfig({}).httpServer.authRateLimit, undefined, 'no-config defaults: off');
  assert.equal(hs({}).authRateLimit, undefined, 'absent: off');
  assert.equal(hs({ auth_rate_limit: 0 }).authRateLimit, undefined, '0: off');
  assert.equal(hs({ auth_rate_limit: 0, auth_rate_burst: 5, trusted_proxies: ['10.0.0.0/8'] }).authRateLimit, undefined);
  assert.deepEqual(hs({ auth_rate_limit: 2.5 }).authRateLimit, { ratePerSec: 2.5, burst: 3, trustedProxies: [] }, 'burst defaults to ceil(rate)');
  assert.equal(hs({ auth_rate_limit: 0.2 }).authRateLimit?.burst, 1, 'burst is at least 1');
  assert.equal(hs({ auth_rate_limit: 10n as unknown as number }).authRateLimit?.ratePerSec, 10, 'TOML integers arrive as bigint');
  const full = hs({ auth_rate_limit: 5, auth_rate_burst: 20, trusted_proxies: ['10.0.0.0/8', '::1'] }).authRateLimit;
  assert.equal(full?.burst, 20);
  assert.equal(full?.trustedProxies.length, 2);

  const refused: Array<[Record<string, unknown>, string]> = [
    [{ auth_rate_limit: -1 }, 'http_server.auth_rate_limit'],
    [{ auth_rate_limit: 'fast' }, 'http_server.auth_rate_limit'],
    [{ auth_rate_limit: Number.POSITIVE_INFINITY }, 'http_server.auth_rate_limit'],
    [{ auth_rate_limit: Number.NaN }, 'http_server.auth_rate_limit'],
    [{ auth_rate_limit: 1, auth_rate_burst: 0 }, 'http_server.auth_rate_burst'],
    [{ auth_rate_limit: 1, auth_rate_burst: 1.5 }, 'http_server.auth_rate_burst'],
    [{ auth_rate_limit: 1, trusted_proxies: ['10.0.0.0/8', '10.0.0.1/8'] }, 'http_server.trusted_proxies[1]'],
    [{ auth_rate_limit: 1, trusted_proxies: ['proxy.internal'] }, 'http_server.trusted_proxies[0]'],
    [{ auth_rate_limit: 1, trusted_proxies: '10.0.0.0/8' }, 'http_server.trusted_proxies'],
    // Checked even while the limit is off, so switching it on later cannot reveal a bad value.
    [{ trusted_proxies: ['10.0.0.0/33'] }, 'http_server.trusted_proxies[0]'],
    [{ auth_rate_burst: 0 }, 'http_server.auth_rate_burst'],
  ];
  for (const [raw, k] of refused) {
    assert.throws(
      () => hs(raw),
      (e: unknown) => e instanceof ConfigError && e.key === k && e.message.includes(`"${k}"`),
      `${JSON.stringify(raw)} → ${k}`,
    );
  }
});

const AUTH_BODY = JSON.stringify({ version: '0.4.0', tee: 'sample', 'extra-params': '' });
const authCall = (url: string, headers: Record<string, string> = {}) =>
  call(url, 'POST', '/kbs/v0/auth', { body: AUTH_BODY, headers: { 'content-type': 'application/json', ...headers } });

async function sessionCount(k: Awaited<ReturnType<typeof startKbs>>): Promise<number> {
  return (await (await k.storage.open('kbs_protocol_session')).list()).length;
}

test('HTTP: over the limit /auth is 429 TooManyRequests with Retry-After, no cookie, nothing stored; served again after the refill', async (t) => {
  let now = T0;
  const k = await startKbs({ http_server: { auth_rate_limit: 0.5, auth_rate_burst: 3 } }, { clock: () => new Date(now) });
  t.after(() => k.stop());
  for (let i = 0; i < 3; i++) assert.equal((await authCall(k.url)).status, 200, `burst ${i}`);
  const before = await sessionCount(k);
  assert.equal(before, 3);
  const r = await authCall(k.url);
  assert.equal(r.status, 429, r.text);
  assert.equal(errorType(r), 'TooManyRequests');
  assert.equal(r.json.status, 429);
  assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(r.headers.get('retry-after'), '2', '0.5/s: next token in 2 s');
  assert.equal(r.headers.get('set-cookie'), null);
  assert.ok(!r.text.includes('127.0.0.1'), 'the client address is not echoed');
  // More refused calls store nothing either.
  for (let i = 0; i < 5; i++) assert.equal((await authCall(k.url)).status, 429);
  assert.equal(await sessionCount(k), before, 'refused calls stored no session');
  now += 1_999;
  assert.equal((await authCall(k.url)).status, 429);
  now += 1;
  assert.equal((await authCall(k.url)).status, 200, 'a token is due after 2 s');
  assert.equal(await sessionCount(k), before + 1);
});

test('HTTP: behind a trusted proxy each X-Forwarded-For client has its own bucket; spoofed left-most entries do not help', async (t) => {
  const k = await startKbs({ http_server: { auth_rate_limit: 1, auth_rate_burst: 1, trusted_proxies: ['127.0.0.0/8'] } }, { clock: () => new Date(T0) });
  t.after(() => k.stop());
  const via = (xff: string) => authCall(k.url, { 'x-forwarded-for': xff });
  assert.equal((await via('198.51.100.1')).status, 200);
  assert.equal((await via('198.51.100.1')).status, 429);
  assert.equal((await via('198.51.100.2')).status, 200, 'another client behind the same proxy is not limited');
  // The client writes any left-most entries it likes; the proxy appends the real address on the right.
  for (let i = 0; i < 5; i++) {
    const r = await via(`203.0.113.${i}, 198.51.100.1`);
    assert.equal(r.status, 429, `spoof ${i}`);
    assert.equal(errorType(r), 'TooManyRequests');
  }
  // Malformed header from the proxy → the proxy's own address (127.0.0.1): one bucket, used once, then limited.
  assert.equal((await via('not-an-ip')).status, 200);
  assert.equal((await via('also bad')).status, 429);
  // IPv4-mapped IPv6 from the proxy is the same client as the plain address.
  assert.equal((await via('::ffff:198.51.100.2')).status, 429);
});

test('HTTP: X-Forwarded-For from an untrusted peer is ignored; without the key there is no limit at all', async (t) => {
  const k = await startKbs({ http_server: { auth_rate_limit: 1, auth_rate_burst: 2, trusted_proxies: ['10.0.0.0/8'] } }, { clock: () => new Date(T0) });
  t.after(() => k.stop());
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await authCall(k.url, { 'x-forwarded-for': `198.51.100.${i}` })).status);
  assert.deepEqual(statuses, [200, 200, 429, 429, 429], 'all keyed by the loopback peer');

  // Default (Trustee parity): off, and the context carries no limiter.
  const open = await startKbs({}, { clock: () => new Date(T0) });
  t.after(() => open.stop());
  assert.equal(open.kbs.ctx.authRateLimit, undefined);
  for (let i = 0; i < 30; i++) assert.equal((await authCall(open.url)).status, 200);
  assert.equal(await sessionCount(open), 30);
});
