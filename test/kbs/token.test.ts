import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SignJWT } from 'jose';
import { TokenVerifier } from '../../src/kbs/token/verifier.js';
import { loadJwkSet, oidcDiscoveryUrl } from '../../src/kbs/token/jwks.js';
import { TokenVerifierError } from '../../src/kbs/errors.js';
import { makeCa, makeLeaf } from './support/pki.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const nowS = Math.floor(NOW.getTime() / 1000);
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const claims = { iat: nowS, exp: nowS + 300, submods: {} };

test('trusted_jwk_sets: kid lookup from a file JWKS (path and file:// URL); unknown kid and wrong alg refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-jwks-'));
  const file = join(dir, 'jwks.json');
  writeFileSync(file, JSON.stringify({ keys: [{ ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec1', alg: 'ES256' }, { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'rsa1' }] }));
  assert.equal((await loadJwkSet(file, fetch as never)).length, 2);
  const jwks = await loadJwkSet(pathToFileURL(file).href, fetch as never);
  const v = new TokenVerifier({ trustedCerts: [], jwks, trustedKeys: [], insecureHeaderJwk: false });
  const t1 = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'ec1' }).sign(ec.privateKey);
  assert.equal((await v.verify(t1, NOW)).exp, nowS + 300);
  const t2 = await new SignJWT(claims).setProtectedHeader({ alg: 'PS256', kid: 'rsa1' }).sign(rsa.privateKey);
  assert.equal((await v.verify(t2, NOW)).exp, nowS + 300);
  // EC key under the RSA kid; ES384 claimed for an ES256 key; unknown kid; no exp; expired beyond the 60 s leeway.
  const bad = [
    await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'rsa1' }).sign(ec.privateKey),
    await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'nope' }).sign(ec.privateKey),
    await new SignJWT({ iat: nowS }).setProtectedHeader({ alg: 'ES256', kid: 'ec1' }).sign(ec.privateKey),
    await new SignJWT({ ...claims, exp: nowS - 61 }).setProtectedHeader({ alg: 'ES256', kid: 'ec1' }).sign(ec.privateKey),
    await new SignJWT(claims).setProtectedHeader({ alg: 'ES256' }).sign(ec.privateKey),
  ];
  for (const b of bad) await assert.rejects(v.verify(b, NOW), TokenVerifierError);
  // Within the leeway it still passes.
  const t3 = await new SignJWT({ ...claims, exp: nowS - 30 }).setProtectedHeader({ alg: 'ES256', kid: 'ec1' }).sign(ec.privateKey);
  await v.verify(t3, NOW);
});

test('header jwk: x5c to a trusted CA, directly trusted key, insecure mode; otherwise refused', async () => {
  const ca = await makeCa('ca');
  const leaf = await makeLeaf('signer', ec.publicKey, ca);
  const jwk = { ...ec.publicKey.export({ format: 'jwk' }), alg: 'ES256' };
  const withX5c = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', jwk: { ...jwk, x5c: [leaf.b64] } as never }).sign(ec.privateKey);
  const bare = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', jwk: jwk as never }).sign(ec.privateKey);

  const byCa = new TokenVerifier({ trustedCerts: [ca.x509], jwks: [], trustedKeys: [], insecureHeaderJwk: false });
  await byCa.verify(withX5c, NOW);
  await assert.rejects(byCa.verify(bare, NOW), /not trusted/);
  const other = await makeCa('other');
  await assert.rejects(new TokenVerifier({ trustedCerts: [other.x509], jwks: [], trustedKeys: [], insecureHeaderJwk: false }).verify(withX5c, NOW), TokenVerifierError);

  const direct = new TokenVerifier({ trustedCerts: [], jwks: [], trustedKeys: [ec.publicKey], insecureHeaderJwk: false });
  await direct.verify(bare, NOW);
  const insecure = new TokenVerifier({ trustedCerts: [], jwks: [], trustedKeys: [], insecureHeaderJwk: true });
  await insecure.verify(bare, NOW);
  // Even in insecure mode: no alg none, no symmetric or private JWKs, alg must match the JWK.
  const none = `${Buffer.from(JSON.stringify({ alg: 'none', jwk })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
  await assert.rejects(insecure.verify(none, NOW), /not accepted/);
  const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', jwk: { kty: 'oct', k: 'c2VjcmV0' } } as never).sign(Buffer.from('secret'));
  await assert.rejects(insecure.verify(hs, NOW), /not accepted/);
  const mismatch = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', jwk: { ...jwk, alg: 'ES384' } as never }).sign(ec.privateKey);
  await assert.rejects(insecure.verify(mismatch, NOW), /alg does not match/);
  const priv = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', jwk: ec.privateKey.export({ format: 'jwk' }) as never }).sign(ec.privateKey);
  await assert.rejects(insecure.verify(priv, NOW), /public asymmetric/);
});

test('OIDC discovery URL join', () => {
  assert.equal(oidcDiscoveryUrl('https://a.example'), 'https://a.example/.well-known/openid-configuration');
  assert.equal(oidcDiscoveryUrl('https://a.example/'), 'https://a.example/.well-known/openid-configuration');
  assert.equal(oidcDiscoveryUrl('https://a.example/tenant//'), 'https://a.example/tenant/.well-known/openid-configuration');
});
