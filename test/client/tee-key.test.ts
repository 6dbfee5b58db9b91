import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { inspect } from 'node:util';
import { TeeKeyPair, parseTeeKeyAlgorithm } from '../../src/client/tee-key.js';
import { KbsClientError } from '../../src/client/errors.js';

const b64urlLen = (s: string) => Buffer.from(s, 'base64url').length;

test('default TEE key is EC P-256 / ECDH-ES+A256KW, members in kbs-types order', () => {
  const k = TeeKeyPair.generate();
  assert.deepEqual(Object.keys(k.publicJwk), ['kty', 'crv', 'alg', 'x', 'y']);
  assert.equal(k.publicJwk.kty, 'EC');
  assert.equal(k.alg, 'ECDH-ES+A256KW');
  if (k.publicJwk.kty !== 'EC') throw new Error('unreachable');
  assert.equal(k.publicJwk.crv, 'P-256');
  assert.equal(b64urlLen(k.publicJwk.x), 32);
  assert.equal(b64urlLen(k.publicJwk.y), 32);
  assert.doesNotMatch(k.publicJwk.x, /[=+/]/, 'base64url without padding');
});

test('P-521 TEE key has 66-byte coordinates', () => {
  const k = TeeKeyPair.generate('ECDH-ES+A256KW-P521');
  if (k.publicJwk.kty !== 'EC') throw new Error('expected EC');
  assert.equal(k.publicJwk.crv, 'P-521');
  assert.equal(b64urlLen(k.publicJwk.x), 66);
  assert.equal(b64urlLen(k.publicJwk.y), 66);
});

test('RSA TEE key is 2048-bit RSA-OAEP-256 with kty, alg, n, e', () => {
  const k = TeeKeyPair.generate('RSA-OAEP-256');
  assert.deepEqual(Object.keys(k.publicJwk), ['kty', 'alg', 'n', 'e']);
  if (k.publicJwk.kty !== 'RSA') throw new Error('expected RSA');
  assert.equal(k.publicJwk.alg, 'RSA-OAEP-256');
  assert.equal(b64urlLen(k.publicJwk.n), 256);
  assert.equal(k.publicJwk.e, 'AQAB');
});

test('loads RSA PKCS#1 and EC PKCS#8 PEM, and round-trips through toPem', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const rsaPem = rsa.export({ format: 'pem', type: 'pkcs1' }).toString();
  assert.match(rsaPem, /BEGIN RSA PRIVATE KEY/);
  const k1 = TeeKeyPair.fromPem(rsaPem);
  assert.equal(k1.alg, 'RSA-OAEP-256');
  assert.deepEqual(TeeKeyPair.fromPem(k1.toPem()).publicJwk, k1.publicJwk);

  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const ecPem = ec.export({ format: 'pem', type: 'pkcs8' }).toString();
  const k2 = TeeKeyPair.fromPem(ecPem);
  const jwk = ec.export({ format: 'jwk' });
  if (k2.publicJwk.kty !== 'EC') throw new Error('expected EC');
  assert.equal(k2.publicJwk.x, jwk.x);
  assert.equal(k2.publicJwk.y, jwk.y);
  assert.match(k2.toPem(), /BEGIN PRIVATE KEY/);
});

test('rejects keys the KBS cannot encrypt to, and non-keys, with a typed error', () => {
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'pem', type: 'pkcs8' });
  const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs1' });
  const ed = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' });
  const pub = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'pem', type: 'spki' });
  for (const [pem, re] of [
    [p384, /P-256 and P-521/],
    [rsa1024, /1024 bits/],
    [ed, /not supported/],
    [pub, /private key/],
    ['not a pem', /PEM/],
  ] as const) {
    assert.throws(
      () => TeeKeyPair.fromPem(pem),
      (e: unknown) => e instanceof KbsClientError && e.step === 'key' && e.code === 'ERR_TEE_KEY' && re.test(e.message),
    );
  }
});

test('the private key never shows in inspect or JSON', () => {
  const k = TeeKeyPair.generate();
  const d = k.privateKey.export({ format: 'jwk' }).d!;
  assert.ok(!inspect(k, { depth: 5 }).includes(d));
  assert.ok(!JSON.stringify({ k }).includes(d));
});

test('parseTeeKeyAlgorithm accepts the three names only', () => {
  assert.equal(parseTeeKeyAlgorithm('RSA-OAEP-256'), 'RSA-OAEP-256');
  assert.throws(() => parseTeeKeyAlgorithm('RSA1_5'), /unknown TEE key algorithm/);
});
