/**
 * Token verification with warm caches (src/kbs/token/cache.ts): caching the imported signer key and the checked x5c
 * path must never let through what a cold verifier would refuse (specs/trustee.md §2.9).
 */
import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import { SignJWT, type JWK } from 'jose';
import * as x509 from '@peculiar/x509';
import { TokenVerifier } from '../../src/kbs/token/verifier.js';
import { BoundedCache, canonicalJson } from '../../src/kbs/token/cache.js';
import { TokenVerifierError } from '../../src/kbs/errors.js';
import { makeCa, makeLeaf } from './support/pki.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const nowS = Math.floor(NOW.getTime() / 1000);
const claims = { iat: nowS, exp: nowS + 300, submods: {} };
const A = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const B = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pubJwk = (k: KeyObject) => ({ ...(k.export({ format: 'jwk' }) as JWK), alg: 'ES256' });

const sign = (signer: KeyObject, header: Record<string, unknown>, body: Record<string, unknown> = claims) =>
  new SignJWT(body).setProtectedHeader({ alg: 'ES256', ...header }).sign(signer);

const refused = (e: unknown) => e instanceof TokenVerifierError;

test('a cached trusted key does not let a token signed by another key through', async () => {
  const v = new TokenVerifier({ trustedCerts: [], jwks: [{ ...pubJwk(A.publicKey), kty: 'EC', kid: 'a' }], trustedKeys: [A.publicKey], insecureHeaderJwk: false });
  const good = await sign(A.privateKey, { jwk: pubJwk(A.publicKey) });
  for (let i = 0; i < 3; i++) await v.verify(good, NOW); // warm
  // Header names A's key, B signed: the signature check still runs with A's key.
  await assert.rejects(v.verify(await sign(B.privateKey, { jwk: pubJwk(A.publicKey) }), NOW), refused);
  // Header names B's key: not trusted, however warm A is.
  await assert.rejects(v.verify(await sign(B.privateKey, { jwk: pubJwk(B.publicKey) }), NOW), /not trusted/);
  // Same through the JWKS kid path.
  await v.verify(await sign(A.privateKey, { kid: 'a' }), NOW);
  await assert.rejects(v.verify(await sign(B.privateKey, { kid: 'a' }), NOW), refused);
  // The same JWK text with members in another order hits the same cache entry and still verifies only A.
  const reordered = Object.fromEntries(Object.entries(pubJwk(A.publicKey)).reverse());
  await v.verify(await sign(A.privateKey, { jwk: reordered }), NOW);
  await assert.rejects(v.verify(await sign(B.privateKey, { jwk: reordered }), NOW), refused);
  // A warm key is not accepted for another algorithm (ES384 with a P-256 key), even in insecure mode.
  const insecure = new TokenVerifier({ trustedCerts: [], jwks: [], trustedKeys: [], insecureHeaderJwk: true });
  const bare = { ...pubJwk(A.publicKey), alg: undefined };
  await insecure.verify(await sign(A.privateKey, { jwk: bare }), NOW);
  const es384 = await new SignJWT(claims).setProtectedHeader({ alg: 'ES384', jwk: bare as JWK }).sign(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey);
  await assert.rejects(insecure.verify(es384, NOW), /does not fit/);
});

test('an expired token is rejected on a warm cache; exp is checked against the given clock', async () => {
  const v = new TokenVerifier({ trustedCerts: [], jwks: [], trustedKeys: [A.publicKey], insecureHeaderJwk: false });
  const token = await sign(A.privateKey, { jwk: pubJwk(A.publicKey) });
  await v.verify(token, NOW);
  // 60 s leeway (Trustee's default): exp + 59 s still passes, exp + 61 s does not.
  await v.verify(token, new Date((nowS + 300 + 59) * 1000));
  await assert.rejects(v.verify(token, new Date((nowS + 300 + 61) * 1000)), /ERR_JWT_EXPIRED/);
  const expired = await sign(A.privateKey, { jwk: pubJwk(A.publicKey) }, { ...claims, exp: nowS - 61 });
  await assert.rejects(v.verify(expired, NOW), /ERR_JWT_EXPIRED/);
  const noExp = await sign(A.privateKey, { jwk: pubJwk(A.publicKey) }, { iat: nowS });
  await assert.rejects(v.verify(noExp, NOW), refused);
  await v.verify(token, NOW); // and the warm key still verifies good tokens
});

/** A CA-issued certificate with chosen validity (the shared helper fixes 2025–2035). */
async function issue(name: string, publicKey: webcrypto.CryptoKey, issuer: { subject: string; key: webcrypto.CryptoKey }, ca: boolean, notAfter: Date) {
  const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${name}`,
    issuer: issuer.subject,
    publicKey,
    signingKey: issuer.key,
    notBefore: new Date('2025-01-01T00:00:00Z'),
    notAfter,
    extensions: ca
      ? [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)]
      : [new x509.BasicConstraintsExtension(false, undefined, true)],
    signingAlgorithm: EC,
  });
  return Buffer.from(cert.rawData).toString('base64');
}

test('a cert chain cached while valid is rejected once the clock passes notAfter (leaf or intermediate)', async () => {
  const root = await makeCa('cache-root');
  const leaf = await makeLeaf('cache-signer', A.publicKey, root); // valid 2025-01-01 .. 2035-01-01
  const v = new TokenVerifier({ trustedCerts: [root.x509], jwks: [], trustedKeys: [], insecureHeaderJwk: false });
  const far = { ...claims, exp: Math.floor(Date.parse('2045-01-01T00:00:00Z') / 1000) };
  const token = await sign(A.privateKey, { jwk: { ...pubJwk(A.publicKey), x5c: [leaf.b64] } }, far);
  await v.verify(token, NOW);
  await v.verify(token, NOW); // cached path
  await assert.rejects(v.verify(token, new Date('2035-01-01T00:00:01Z')), /not valid at/);
  await assert.rejects(v.verify(token, new Date('2024-12-31T23:59:59Z')), /not valid at/);
  await v.verify(token, NOW); // still fine at a time the chain is valid

  // An intermediate that expires before the leaf: the whole cached path is re-checked, not only the leaf.
  const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const interKeys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const rootIssuer = { subject: root.x509.subject.replace(/\n/g, ', '), key: root.keys.privateKey };
  const interB64 = await issue('cache-inter', interKeys.publicKey, rootIssuer, true, new Date('2028-01-01T00:00:00Z'));
  const interSubject = new X509Certificate(Buffer.from(interB64, 'base64')).subject.replace(/\n/g, ', ');
  const bPub = await webcrypto.subtle.importKey('spki', B.publicKey.export({ type: 'spki', format: 'der' }), EC, true, ['verify']);
  const leafB64 = await issue('cache-leaf-b', bPub, { subject: interSubject, key: interKeys.privateKey }, false, new Date('2034-01-01T00:00:00Z'));
  const chained = await sign(B.privateKey, { jwk: { ...pubJwk(B.publicKey), x5c: [leafB64, interB64] } }, far);
  await v.verify(chained, NOW);
  await v.verify(chained, new Date('2027-12-31T00:00:00Z'));
  // (The path search skips issuers not valid at `now`, so the chain no longer leads to the root.)
  await assert.rejects(v.verify(chained, new Date('2028-01-01T00:00:01Z')), /not trusted: x5c chain does not lead/);

  // A warm chain does not endorse another key that presents the same x5c.
  const C = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await assert.rejects(v.verify(await sign(C.privateKey, { jwk: { ...pubJwk(C.publicKey), x5c: [leaf.b64] } }, far), NOW), /leaf key does not match/);
  // Nor does it endorse A's key with the chain dropped or replaced.
  await assert.rejects(v.verify(await sign(A.privateKey, { jwk: pubJwk(A.publicKey) }, far), NOW), /not trusted/);
  await assert.rejects(v.verify(await sign(A.privateKey, { jwk: { ...pubJwk(A.publicKey), x5c: [leafB64, interB64] } }, far), NOW), /leaf key does not match/);
  // A different verifier (another trust store) does not share the cache.
  const other = await makeCa('cache-other');
  await assert.rejects(new TokenVerifier({ trustedCerts: [other.x509], jwks: [], trustedKeys: [], insecureHeaderJwk: false }).verify(token, NOW), /does not lead/);
});

test('BoundedCache evicts the least recently used entry; canonicalJson sorts members at every level', () => {
  const c = new BoundedCache<string, number>(2);
  c.set('a', 1);
  c.set('b', 2);
  assert.equal(c.get('a'), 1); // a is now the most recent
  c.set('c', 3);
  assert.equal(c.get('b'), undefined);
  assert.equal(c.get('a'), 1);
  assert.equal(c.get('c'), 3);
  assert.equal(c.size, 2);
  assert.throws(() => new BoundedCache(0), RangeError);
  assert.equal(canonicalJson({ b: [{ y: 1, x: 2 }], a: 'é"' }), '{"a":"é\\"","b":[{"x":2,"y":1}]}');
  assert.notEqual(canonicalJson({ a: '1' }), canonicalJson({ a: 1 }));
});
