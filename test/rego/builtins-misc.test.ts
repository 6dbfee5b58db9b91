import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, callCtx, ctx, set } from './builtins-helper.js';
import { STANDARD_BUILTINS } from '../../src/rego/builtins/index.js';

test('net.cidr_*', () => {
  assert.equal(call('net.cidr_contains', '10.0.0.0/8', '10.1.0.0/24'), true);
  assert.equal(call('net.cidr_contains', '172.17.0.0/24', '172.17.0.0/16'), false);
  assert.equal(call('net.cidr_contains', '2001:4860:4860::8888/32', '2001:4860:4860:1234::8888/40'), true);
  assert.equal(call('net.cidr_contains', '10.0.0.0/8', '192.168.1.1'), false);
  assert.throws(() => call('net.cidr_contains', 'not-a-cidr', '1.2.3.4'), /invalid CIDR address/);
  assert.equal(call('net.cidr_intersects', '192.168.1.0/25', '192.168.1.64/25'), true);
  assert.equal(call('net.cidr_intersects', 'fd1e:5bfe:8af3:9ddc::/64', '2001:4860:4860::8888/32'), false);
  assert.equal(call('net.cidr_is_valid', '2002::1234:abcd:ffff:c0a8:101/64'), true);
  assert.equal(call('net.cidr_is_valid', '192.168.1.2'), false);
  assert.deepEqual(call('net.cidr_expand', '192.168.1.1/30'), ['192.168.1.0', '192.168.1.1', '192.168.1.2', '192.168.1.3']);
  assert.throws(() => call('net.cidr_expand', '192.168.1.1/33'), /invalid CIDR address: 192.168.1.1\/33/);
  assert.deepEqual(call('net.cidr_merge', ['192.0.2.112/30', '192.0.2.116/31', '192.0.2.118/31']), ['192.0.2.112/29']);
  assert.deepEqual(call('net.cidr_merge', ['fe80::/120', '192.0.2.0/24', '192.0.3.0/24', '192.0.4.0/25', '192.0.4.128/25']), [
    '192.0.2.0/23',
    '192.0.4.0/24',
    'fe80::/120',
  ]);
  assert.throws(() => call('net.cidr_merge', ['2601:600::1']), /IPv6 invalid: needs prefix length/);
  assert.deepEqual(call('net.cidr_contains_matches', ['1.1.2.0/24', '1.1.1.0/24'], ['1.1.1.1', '1.1.2.1']), [
    [0, 1],
    [1, 0],
  ]);
  assert.throws(() => call('net.lookup_ip_addr', 'example.com'), /network access disabled/);
});

test('semver', () => {
  assert.equal(call('semver.is_valid', '1.0.0-rc.1+build.5'), true);
  assert.equal(call('semver.is_valid', 'v1.0.0'), false);
  assert.equal(call('semver.is_valid', 1), false);
  assert.equal(call('semver.compare', '1.0.0', '2.0.0'), -1);
  assert.equal(call('semver.compare', '1.0.0-alpha', '1.0.0'), -1);
  assert.equal(call('semver.compare', '1.0.0-alpha.10', '1.0.0-alpha.2'), 1);
  assert.equal(call('semver.compare', '1.0.0+a', '1.0.0+b'), 0);
  assert.throws(() => call('semver.compare', '1', '1.0.0'), /semver.compare: operand 1: string "1" is not a valid SemVer/);
});

test('units', () => {
  assert.equal(call('units.parse', '500m'), 0.5);
  assert.equal(call('units.parse', '1.1Ki'), 1126.4);
  assert.equal(call('units.parse', '10K'), 10000);
  assert.equal(call('units.parse', '"100TI"'), 109951162777600);
  assert.throws(() => call('units.parse', '100 k'), /spaces not allowed/);
  assert.throws(() => call('units.parse', '0.0.0'), /could not parse amount to a number/);
  assert.equal(call('units.parse_bytes', '1.1KiB'), 1126);
  assert.equal(call('units.parse_bytes', '100m'), 100000000);
  assert.equal(call('units.parse_bytes', '10KIB'), 10240);
  assert.throws(() => call('units.parse_bytes', 'GB'), /no byte amount provided/);
});

test('uuid', () => {
  assert.deepEqual(call('uuid.parse', 'b01d0062-a116-11ee-822b-7ab0b9e5e0c0'), {
    clocksequence: 555,
    macvariables: 'local:unicast',
    nodeid: '7a-b0-b9-e5-e0-c0',
    time: 1703282931110717000,
    variant: 'RFC4122',
    version: 1,
  });
  assert.deepEqual(call('uuid.parse', '{00000000-0000-4000-8000-000000000000}'), { variant: 'RFC4122', version: 4 });
  assert.equal(call('uuid.parse', 'not-a-uuid'), undefined);
  const c = ctx(0n, 'seed-a');
  const a = callCtx(c, 'uuid.rfc4122', 'k') as string;
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(callCtx(c, 'uuid.rfc4122', 'k'), a);
  assert.notEqual(callCtx(c, 'uuid.rfc4122', 'other'), a);
  assert.notEqual(callCtx(ctx(0n, 'seed-b'), 'uuid.rfc4122', 'k'), a);
});

test('rand.intn is deterministic per seed and bounded', () => {
  const c = ctx(0n, 's');
  const x = callCtx(c, 'rand.intn', 'key', 100) as number;
  assert.ok(x >= 0 && x < 100);
  assert.equal(callCtx(ctx(0n, 's'), 'rand.intn', 'key', 100), x);
  assert.equal(callCtx(c, 'rand.intn', 'key', 0), 0);
});

test('graph.reachable and reachable_paths', () => {
  assert.deepEqual(call('graph.reachable', { a: set('b'), b: set('c'), c: set('a') }, set('a')), ['a', 'b', 'c']);
  assert.deepEqual(call('graph.reachable', { a: set('b', 'c'), b: set('d'), c: set('d'), d: set(), e: set('f'), f: set('e'), x: set('x') }, set('b', 'e')), [
    'b',
    'd',
    'e',
    'f',
  ]);
  assert.deepEqual(call('graph.reachable', { a: null }, ['a']), ['a']);
  assert.throws(() => call('graph.reachable', { a: [] }, 'a'), /operand 2 must be one of \{array, set\}/);
  assert.deepEqual(call('graph.reachable_paths', { a: ['b'], b: ['nonexistent'] }, set('a', 'b')), [['a', 'b'], ['b']]);
  const g = { one: ['two', 'five'], two: ['four'], three: [''], four: ['three'], five: ['seven', 'six'], six: ['nine', 'seven'], seven: ['eight'], eight: ['three'], nine: [''] };
  assert.deepEqual(call('graph.reachable_paths', g, set('one')), [
    ['one', 'five', 'seven', 'eight', 'three'],
    ['one', 'five', 'six'],
    ['one', 'five', 'six', 'nine'],
    ['one', 'two', 'four', 'three'],
  ]);
});

test('runtime, trace and network built-ins', () => {
  assert.deepEqual(call('opa.runtime'), {});
  assert.equal(call('trace', 'hello'), true);
  assert.throws(() => call('http.send', { method: 'get', url: 'http://x' }), /network access disabled/);
  const net = STANDARD_BUILTINS.filter((d) => d.network).map((d) => d.name).sort();
  assert.deepEqual(net, ['http.send', 'net.lookup_ip_addr']);
  const nondet = STANDARD_BUILTINS.filter((d) => d.nondeterministic).map((d) => d.name).sort();
  assert.deepEqual(nondet, ['rand.intn', 'time.now_ns', 'uuid.rfc4122']);
});

test('providers.aws.sign_req reproduces OPA’s SigV4 vectors', () => {
  const cfg = { aws_access_key: 'MYAWSACCESSKEYGOESHERE', aws_secret_access_key: 'MYAWSSECRETACCESSKEYGOESHERE', aws_service: 's3', aws_region: 'us-east-1' };
  const out = call('providers.aws.sign_req', { method: 'get', url: 'http://example.com' }, cfg, 1451311705000000000n) as Record<string, Record<string, string>>;
  assert.deepEqual(out.headers, {
    Authorization:
      'AWS4-HMAC-SHA256 Credential=MYAWSACCESSKEYGOESHERE/20151228/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=0047a7016c81e5c7f29cd522f97e911e04fc472fced0aee7916cbc287ad6c8e3',
    host: 'example.com',
    'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    'x-amz-date': '20151228T140825Z',
  });
  const withBody = call('providers.aws.sign_req', { method: 'get', url: 'http://example.com', body: { example: set(1, 2, 3, 4) } }, cfg, 1451311705000000000n) as Record<string, Record<string, string>>;
  assert.equal(withBody.headers!['x-amz-content-sha256'], 'bacff6243c850423883052ac3c336fd645994442933408dfd3f9e858e69bda07');
  assert.match(withBody.headers!.Authorization!, /Signature=5fb06ab1cfd74c8fcb3af95b8cce696708cf6155d971dac10f254d79799c6e88$/);
  assert.throws(() => call('providers.aws.sign_req', {}, cfg, 0), /operand 1 missing required request parameters\(s\): \{"method", "url"\}/);
  assert.throws(() => call('providers.aws.sign_req', { method: 'get', url: 'x' }, { a: 'b' }, 0), /operand 2 missing required AWS config parameters/);
});
