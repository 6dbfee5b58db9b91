// Opt-in `iss` / `aud` checks on attestation tokens at the KBS (`[attestation_token] expected_issuer` /
// `expected_audience`, security-cases.md #15): a real KBS on loopback, resource requests with Bearer tokens from a
// trusted signer, and the built-in AS's own tokens through RCAR.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { b64url } from './support/harness.js';
import { call, ecTeeKey, errorType, handshake } from './support/rcar.js';
import { kbsWithSecret, RESOURCE, SECRET } from '../security/support.js';
import { parseKbsConfig } from '../../src/kbs/config.js';
import { TokenVerifier } from '../../src/kbs/token/verifier.js';
import { TokenVerifierError } from '../../src/kbs/errors.js';
import { ConfigError } from '../../src/util/config-error.js';

const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signerJwk = { ...signer.publicKey.export({ format: 'jwk' }), alg: 'ES256' };

function token(extra: Record<string, unknown>): string {
  const payload = { exp: Math.floor(Date.now() / 1000) + 300, submods: { cpu0: { 'ear.status': 'affirming' } }, 'tee-pubkey': ecTeeKey().jwk, ...extra };
  const input = `${b64url(JSON.stringify({ alg: 'ES256', jwk: signerJwk }))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: signer.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

async function kbs(t: Parameters<typeof kbsWithSecret>[0], attestation_token: Record<string, unknown>) {
  const ctx = await kbsWithSecret(t, { trustedSignerKeys: [signer.publicKey] }, undefined, { attestation_token });
  return (extra: Record<string, unknown>) => call(ctx.k.url, 'GET', RESOURCE, { headers: { authorization: `Bearer ${token(extra)}` } });
}

function assertRefused(r: Awaited<ReturnType<Awaited<ReturnType<typeof kbs>>>>, claim: 'iss' | 'aud', what: string): void {
  assert.equal(r.status, 401, `${what}: ${r.text}`);
  assert.equal(errorType(r), 'TokenVerifierError', what);
  assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(r.json.status, 401);
  assert.ok(r.json.detail.includes(`"${claim}"`), `${what}: detail names the claim: ${r.json.detail}`);
  assert.ok(!r.text.includes(SECRET));
}

test('absent expected_issuer / expected_audience: iss and aud are not looked at (Trustee parity)', async (t) => {
  const get = await kbs(t, {});
  for (const extra of [{}, { iss: 'anyone' }, { aud: 'anything' }, { iss: 42, aud: { odd: true } }]) {
    const r = await get(extra);
    assert.equal(r.status, 200, `${JSON.stringify(extra)}: ${r.text}`);
  }
});

test('expected_issuer: iss must be one of the configured values; wrong, missing or non-string iss → 401', async (t) => {
  const get = await kbs(t, { expected_issuer: ['as-east', 'as-west'] });
  for (const iss of ['as-east', 'as-west']) assert.equal((await get({ iss })).status, 200, iss);
  // Tokens with an aud still pass: only iss is checked.
  assert.equal((await get({ iss: 'as-east', aud: 'whatever' })).status, 200);
  for (const [extra, what] of [
    [{ iss: 'as-north' }, 'another issuer'],
    [{}, 'no iss'],
    [{ iss: ['as-east'] }, 'iss as an array'],
    [{ iss: 'AS-EAST' }, 'case differs'],
    [{ iss: 'as-east ' }, 'trailing space'],
  ] as const)
    assertRefused(await get(extra), 'iss', what);

  // A single string works as well as a list.
  const one = await kbs(t, { expected_issuer: 'as-east' });
  assert.equal((await one({ iss: 'as-east' })).status, 200);
  assertRefused(await one({ iss: 'as-west' }), 'iss', 'single expected issuer');
});

test('expected_audience: aud (string or array) must contain one of the configured values; missing aud → 401', async (t) => {
  const get = await kbs(t, { expected_audience: ['kbs-a', 'kbs-b'] });
  for (const aud of ['kbs-a', 'kbs-b', ['other', 'kbs-b'], ['kbs-a']]) assert.equal((await get({ aud })).status, 200, JSON.stringify(aud));
  for (const [extra, what] of [
    [{}, 'no aud'],
    [{ aud: 'kbs-c' }, 'another audience'],
    [{ aud: ['kbs-c', 'kbs-d'] }, 'array without ours'],
    [{ aud: [] }, 'empty array'],
    [{ aud: { 0: 'kbs-a' } }, 'object'],
    [{ aud: [['kbs-a']] }, 'nested array'],
    [{ aud: 'kbs-a,kbs-b' }, 'comma-joined string'],
  ] as const)
    assertRefused(await get(extra), 'aud', what);
});

test('both configured: each claim is checked and the detail names the one that failed, without echoing token content', async (t) => {
  const get = await kbs(t, { expected_issuer: 'as-east', expected_audience: 'kbs-a' });
  assert.equal((await get({ iss: 'as-east', aud: 'kbs-a' })).status, 200);
  assertRefused(await get({ iss: 'as-east', aud: 'kbs-z' }), 'aud', 'right iss, wrong aud');
  assertRefused(await get({ iss: 'as-zzz', aud: 'kbs-a' }), 'iss', 'wrong iss, right aud');
  const long = 'attacker-controlled-'.repeat(200);
  for (const extra of [{ iss: long, aud: 'kbs-a' }, { iss: 'as-east', aud: [long] }]) {
    const r = await get(extra);
    assert.equal(r.status, 401);
    assert.ok(!r.text.includes('attacker-controlled'), 'claim values are not echoed');
    assert.ok(r.text.length < 400, `short problem body (${r.text.length} chars)`);
  }
});

test('built-in AS: its tokens carry iss = issuer_name and no aud; expected_issuer matches them, expected_audience refuses them (warned at start)', async (t) => {
  const ok = await kbsWithSecret(t, {}, undefined, { attestation_token: { expected_issuer: 'CoCo-Attestation-Service' } });
  const h = await handshake(ok.k.url);
  const r = await call(ok.k.url, 'GET', RESOURCE, { headers: { cookie: h.cookie } });
  assert.equal(r.status, 200, r.text);

  const named = await kbsWithSecret(t, {}, undefined, {
    attestation_service: { attestation_token_broker: { issuer_name: 'my-as' } },
    attestation_token: { expected_issuer: ['CoCo-Attestation-Service'] },
  });
  const h2 = await handshake(named.k.url);
  assertRefused(await call(named.k.url, 'GET', RESOURCE, { headers: { cookie: h2.cookie } }), 'iss', 'issuer_name not in expected_issuer');
  assertRefused(await call(named.k.url, 'GET', RESOURCE, { headers: { authorization: `Bearer ${h2.token}` } }), 'iss', 'same token as Bearer');

  const warnings: string[] = [];
  const aud = await kbsWithSecret(t, { log: { info() {}, warn: (m) => warnings.push(m) } }, undefined, { attestation_token: { expected_audience: 'kbs' } });
  assert.ok(warnings.some((w) => w.includes('attestation_token.expected_audience')), warnings.join('\n'));
  const h3 = await handshake(aud.k.url);
  assertRefused(await call(aud.k.url, 'GET', RESOURCE, { headers: { cookie: h3.cookie } }), 'aud', 'built-in AS token has no aud');
});

test('TokenVerifier: the claim checks run after signature and time (a bad signature is reported as such)', async () => {
  const v = new TokenVerifier({ trustedCerts: [], jwks: [], trustedKeys: [signer.publicKey], insecureHeaderJwk: false, expectedIssuers: ['as-east'] });
  const now = new Date();
  assert.equal((await v.verify(token({ iss: 'as-east' }), now)).iss, 'as-east');
  const good = token({ iss: 'as-north' });
  await assert.rejects(v.verify(good, now), (e: unknown) => e instanceof TokenVerifierError && /"iss"/.test(e.message));
  const forged = good.slice(0, -4) + (good.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  await assert.rejects(v.verify(forged, now), (e: unknown) => e instanceof TokenVerifierError && /verification failed/.test(e.message));
  const expired = token({ iss: 'as-north', exp: Math.floor(now.getTime() / 1000) - 3600 });
  await assert.rejects(v.verify(expired, now), (e: unknown) => e instanceof TokenVerifierError && /ERR_JWT_EXPIRED/.test(e.message));
});

test('config: expected_issuer / expected_audience take a string or a list; bad values name the key', () => {
  const at = (attestation_token: Record<string, unknown>) => parseKbsConfig({ attestation_token }, {}).attestationToken;
  assert.equal(at({}).expectedIssuers, undefined);
  assert.equal(at({}).expectedAudiences, undefined);
  assert.deepEqual(at({ expected_issuer: 'a' }).expectedIssuers, ['a']);
  assert.deepEqual(at({ expected_issuer: ['a', 'b'], expected_audience: 'k' }), {
    trustedCertsPaths: [],
    trustedJwkSets: [],
    extraTeekeyPaths: [],
    insecureHeaderJwk: false,
    expectedIssuers: ['a', 'b'],
    expectedAudiences: ['k'],
  });
  for (const [raw, k] of [
    [{ expected_issuer: [] }, 'attestation_token.expected_issuer'],
    [{ expected_issuer: '' }, 'attestation_token.expected_issuer'],
    [{ expected_issuer: 7 }, 'attestation_token.expected_issuer'],
    [{ expected_audience: ['k', 3] }, 'attestation_token.expected_audience'],
    [{ expected_audience: [''] }, 'attestation_token.expected_audience'],
    [{ expected_audiences: 'k' }, 'attestation_token.expected_audiences'],
  ] as const) {
    assert.throws(() => at(raw), (e: unknown) => e instanceof ConfigError && e.key === k, `${JSON.stringify(raw)} → ${k}`);
  }
});
