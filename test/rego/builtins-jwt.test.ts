import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, createHmac } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { call, callCtx, ctx } from './builtins-helper.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsa2 = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');

function pubPem(k: KeyObject): string {
  return k.export({ format: 'pem', type: 'spki' }).toString();
}

/** Tokens are made by jose (an independent implementation), then checked by the built-ins. */
async function jwt(alg: string, key: KeyObject | Uint8Array, claims: Record<string, unknown> = { iss: 'xxx' }, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT', ...header }).sign(key);
}

function tamper(token: string): string {
  const [h, , s] = token.split('.');
  return `${h}.${Buffer.from(JSON.stringify({ iss: 'evil' })).toString('base64url')}.${s}`;
}

test('RFC 7515 A.1: encode_sign_raw reproduces the published HS256 token', () => {
  const key = '{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}';
  const got = call('io.jwt.encode_sign_raw', '{"typ":"JWT",\r\n "alg":"HS256"}', '{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}', key);
  assert.equal(
    got,
    'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
  );
});

test('verify_* accept genuine tokens and reject tampered ones and wrong keys', async () => {
  const cases: [string, string, KeyObject, KeyObject][] = [
    ['RS256', 'io.jwt.verify_rs256', rsa.privateKey, rsa.publicKey],
    ['RS512', 'io.jwt.verify_rs512', rsa.privateKey, rsa.publicKey],
    ['PS256', 'io.jwt.verify_ps256', rsa.privateKey, rsa.publicKey],
    ['ES256', 'io.jwt.verify_es256', ec.privateKey, ec.publicKey],
    ['EdDSA', 'io.jwt.verify_eddsa', ed.privateKey, ed.publicKey],
  ];
  for (const [alg, fn, priv, pub] of cases) {
    const token = await jwt(alg, priv);
    assert.equal(call(fn, token, pubPem(pub)), true, `${alg} PEM`);
    const jwk = JSON.stringify(pub.export({ format: 'jwk' }));
    assert.equal(call(fn, token, jwk), true, `${alg} JWK`);
    assert.equal(call(fn, token, JSON.stringify({ keys: [JSON.parse(jwk)] })), true, `${alg} JWKS`);
    assert.equal(call(fn, tamper(token), pubPem(pub)), false, `${alg} tampered`);
    const other = alg.startsWith('E') ? (alg === 'EdDSA' ? generateKeyPairSync('ed25519').publicKey : generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey) : rsa2.publicKey;
    assert.equal(call(fn, token, pubPem(other)), false, `${alg} wrong key`);
  }
  // The function's algorithm decides: an RS256 token does not pass verify_ps256.
  assert.equal(call('io.jwt.verify_ps256', await jwt('RS256', rsa.privateKey), pubPem(rsa.publicKey)), false);
});

test('verify_hs256 with a shared secret', async () => {
  const token = await jwt('HS256', new TextEncoder().encode('secret'));
  assert.equal(call('io.jwt.verify_hs256', token, 'secret'), true);
  assert.equal(call('io.jwt.verify_hs256', token, 'Secret'), false);
  assert.equal(call('io.jwt.verify_hs256', tamper(token), 'secret'), false);
  assert.throws(() => call('io.jwt.verify_hs256', token.split('.').slice(0, 2).join('.'), 'secret'), /encoded JWT must have 3 sections, found 2/);
});

test('key material errors are reported, not treated as "unverified"', async () => {
  const token = await jwt('RS256', rsa.privateKey);
  assert.throws(() => call('io.jwt.verify_rs256', token, 'not a key'), /failed to parse a JWK key \(set\)/);
  assert.throws(() => call('io.jwt.verify_rs256', token, pubPem(rsa.publicKey) + 'junk'), /extra data after a PEM certificate block/);
  assert.throws(() => call('io.jwt.verify_rs256', token, '-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n'), /failed to extract a Key from the PEM certificate/);
});

test('decode_verify: algorithm confusion (HS256 signed with the RSA public key) is rejected', async () => {
  const pem = pubPem(rsa.publicKey);
  const forged = await jwt('HS256', new TextEncoder().encode(pem));
  assert.deepEqual(call('io.jwt.decode_verify', forged, { cert: pem }), [false, {}, {}]);
  // And the secret path never verifies an asymmetric algorithm.
  const rs = await jwt('RS256', rsa.privateKey);
  assert.deepEqual(call('io.jwt.decode_verify', rs, { secret: pem }), [false, {}, {}]);
});

test('decode_verify checks signature, alg, iss, aud, exp and nbf against an explicit time', async () => {
  const t = (sec: number) => BigInt(sec) * 1_000_000_000n;
  const token = await jwt('ES256', ec.privateKey, { iss: 'xxx', aud: ['fred', 'bob'], nbf: 1000, exp: 3000 });
  const cert = pubPem(ec.publicKey);
  const ok = callCtx(ctx(t(2000)), 'io.jwt.decode_verify', token, { cert, aud: 'bob', iss: 'xxx', alg: 'ES256' }) as unknown[];
  assert.equal(ok[0], true);
  assert.deepEqual(ok[1], { alg: 'ES256', typ: 'JWT' });
  assert.deepEqual(ok[2], { aud: ['fred', 'bob'], exp: 3000, iss: 'xxx', nbf: 1000 });
  // The `time` constraint overrides the evaluation clock.
  assert.equal((callCtx(ctx(t(2000)), 'io.jwt.decode_verify', token, { cert, aud: 'bob', time: Number(t(3000)) }) as unknown[])[0], false);
  const unverified = [false, {}, {}];
  assert.deepEqual(callCtx(ctx(t(3000)), 'io.jwt.decode_verify', token, { cert, aud: 'bob' }), unverified); // exp is exclusive
  assert.deepEqual(callCtx(ctx(t(999)), 'io.jwt.decode_verify', token, { cert, aud: 'bob' }), unverified);
  assert.deepEqual(callCtx(ctx(t(2000)), 'io.jwt.decode_verify', token, { cert }), unverified); // token has aud, none expected
  assert.deepEqual(callCtx(ctx(t(2000)), 'io.jwt.decode_verify', token, { cert, aud: 'alice' }), unverified);
  assert.deepEqual(callCtx(ctx(t(2000)), 'io.jwt.decode_verify', token, { cert, aud: 'bob', iss: 'yyy' }), unverified);
  assert.deepEqual(callCtx(ctx(t(2000)), 'io.jwt.decode_verify', token, { cert, aud: 'bob', alg: 'ES384' }), unverified);
  assert.deepEqual(callCtx(ctx(t(2000)), 'io.jwt.decode_verify', tamper(token), { cert }), unverified);
  assert.throws(() => callCtx(ctx(t(2000)), 'io.jwt.decode_verify', token, {}), /no key constraint/);
  assert.throws(() => callCtx(ctx(t(2000)), 'io.jwt.decode_verify', token, { cert, secret: 'x' }), /duplicate key constraints/);
  assert.throws(() => callCtx(ctx(t(2000)), 'io.jwt.decode_verify', token, { cert, foo: 1 }), /unknown token validation constraint: foo/);
});

test('decode_verify: a kid selects the key from a JWKS; headers with crit extensions are refused', async () => {
  const jwks = JSON.stringify({
    keys: [
      { ...rsa2.publicKey.export({ format: 'jwk' }), kid: 'k2' },
      { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'k1' },
    ],
  });
  const token = await jwt('RS256', rsa.privateKey, { iss: 'xxx' }, { kid: 'k1' });
  assert.equal((call('io.jwt.decode_verify', token, { cert: jwks }) as unknown[])[0], true);
  const wrongKid = await jwt('RS256', rsa.privateKey, { iss: 'xxx' }, { kid: 'k2' });
  assert.equal((call('io.jwt.decode_verify', wrongKid, { cert: jwks }) as unknown[])[0], false);
  const crit = await jwt('RS256', rsa.privateKey, { iss: 'xxx' }, { crit: ['junk'], junk: 'x' }).catch(() => undefined);
  if (crit) assert.equal((call('io.jwt.decode_verify', crit, { cert: pubPem(rsa.publicKey) }) as unknown[])[0], false);
});

test('io.jwt.decode and its errors', () => {
  const h = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url');
  const p = Buffer.from('{"sub":"0","iss":"opa"}').toString('base64url');
  const s = createHmac('sha256', 'k').update(`${h}.${p}`).digest();
  assert.deepEqual(call('io.jwt.decode', `${h}.${p}.${s.toString('base64url')}`), [{ alg: 'HS256', typ: 'JWT' }, { iss: 'opa', sub: '0' }, s.toString('hex')]);
  assert.throws(() => call('io.jwt.decode', 'abc'), /encoded JWT had no period separators/);
  assert.throws(() => call('io.jwt.decode', 'a.b'), /encoded JWT must have 3 sections, found 2/);
  assert.throws(() => call('io.jwt.decode', `${h}^.${p}.x`), /JWT header had invalid encoding: illegal base64 data at input byte 36/);
  const jwe = Buffer.from('{"alg":"RSA-OAEP","enc":"A256GCM"}').toString('base64url');
  assert.throws(() => call('io.jwt.decode', `${jwe}.${p}.x`), /JWT is a JWE object, which is not supported/);
});

test('encode_sign produces tokens that an independent verifier accepts', async () => {
  const { jwtVerify } = await import('jose');
  const priv = JSON.stringify(rsa.privateKey.export({ format: 'jwk' }));
  const token = call('io.jwt.encode_sign', { alg: 'RS256', typ: 'JWT' }, { iss: 'keybroker', n: 1 }, JSON.parse(priv)) as string;
  const { payload } = await jwtVerify(token, rsa.publicKey);
  assert.deepEqual(payload, { iss: 'keybroker', n: 1 });
  const es = call('io.jwt.encode_sign', { alg: 'ES256' }, { a: 1 }, ec.privateKey.export({ format: 'jwk' })) as string;
  assert.deepEqual((await jwtVerify(es, ec.publicKey)).payload, { a: 1 });
  assert.throws(() => call('io.jwt.encode_sign_raw', '{"alg":"dummy"}', '{}', priv), /unknown signature algorithm/);
  assert.throws(() => call('io.jwt.encode_sign_raw', '{}', '{}', priv), /unsupported signature algorithm/);
  assert.throws(() => call('io.jwt.encode_sign_raw', '{"alg":"HS256","typ":"JWT"}', 'e', '{"kty":"oct","k":"AA"}'), /type is JWT but payload is not JSON/);
});
