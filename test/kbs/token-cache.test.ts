/**
 * Token verification with warm caches (src/kbs/token/cache.ts): caching the imported signer key and the checked x5c
 * path must never let through what a cold verifier would refuse (specs/trustee.md §2.9).
 */
import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as nodeSign, webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import { jwtVerify, SignJWT, type JWK } from 'jose';
import * as x509 from '@peculiar/x509';
import { CLOCK_LEEWAY_S, TokenVerifier } from '../../src/kbs/token/verifier.js';
import { JwtError, verifyJwt } from '../../src/kbs/token/jws.js';
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

/** ES256 compact JWS signed by hand (node:crypto), so headers and payloads jose would refuse to produce can be tested. */
function handSign(header: Record<string, unknown>, payload: unknown, key: KeyObject): string {
  const h = Buffer.from(JSON.stringify(header)).toString('base64url');
  const p = Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)).toString('base64url');
  const s = nodeSign('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  return `${h}.${p}.${s}`;
}

async function joseAccepts(token: string, key: KeyObject, alg: string, now: Date): Promise<boolean> {
  try {
    await jwtVerify(token, key, { algorithms: [alg], currentDate: now, clockTolerance: CLOCK_LEEWAY_S, requiredClaims: ['exp'] });
    return true;
  } catch {
    return false;
  }
}

function oursAccepts(token: string, key: KeyObject, alg: string, now: Date): boolean {
  try {
    verifyJwt(token, key, { alg, now, clockToleranceS: CLOCK_LEEWAY_S });
    return true;
  } catch (e) {
    assert.ok(e instanceof JwtError, String(e));
    return false;
  }
}

test('node:crypto JWT verification agrees with jose jwtVerify: every algorithm, tampering, time claims', async () => {
  const keys: Array<[string, { privateKey: KeyObject; publicKey: KeyObject }]> = [
    ['ES256', A],
    ['ES384', generateKeyPairSync('ec', { namedCurve: 'P-384' })],
    ['ES512', generateKeyPairSync('ec', { namedCurve: 'P-521' })],
    ['EdDSA', generateKeyPairSync('ed25519')],
  ];
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  for (const alg of ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']) keys.push([alg, rsa]);
  for (const [alg, k] of keys) {
    const token = await new SignJWT(claims).setProtectedHeader({ alg }).sign(k.privateKey);
    assert.equal(oursAccepts(token, k.publicKey, alg, NOW), true, alg);
    assert.equal(await joseAccepts(token, k.publicKey, alg, NOW), true, alg);
    assert.deepEqual(verifyJwt(token, k.publicKey, { alg, now: NOW, clockToleranceS: CLOCK_LEEWAY_S }), claims);
    const [h, p, s] = token.split('.') as [string, string, string];
    const sig = Buffer.from(s, 'base64url');
    const flipped = Buffer.from(sig);
    flipped[flipped.length >> 1]! ^= 1;
    const otherPayload = Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 1 })).toString('base64url');
    const bad = [
      `${h}.${p}.${flipped.toString('base64url')}`,
      `${h}.${p}.${sig.subarray(0, sig.length - 1).toString('base64url')}`,
      `${h}.${otherPayload}.${s}`,
      `${h}.${p}.`,
      `${h}.${p}`,
      `${h}.${p}.${s}.x`,
      `${h}.${p}.${s}*`,
      `${Buffer.from(JSON.stringify({ alg, kid: 'x' })).toString('base64url')}.${p}.${s}`,
    ];
    if (alg.startsWith('ES')) {
      // A DER-encoded ECDSA signature over the right input is not a JOSE signature.
      const der = nodeSign(`sha${alg.slice(2)}`, Buffer.from(`${h}.${p}`), k.privateKey);
      bad.push(`${h}.${p}.${der.toString('base64url')}`);
    }
    for (const t of bad) {
      assert.equal(oursAccepts(t, k.publicKey, alg, NOW), false, `${alg}: ${t.slice(-12)}`);
      assert.equal(await joseAccepts(t, k.publicKey, alg, NOW), false, `${alg} (jose): ${t.slice(-12)}`);
    }
  }
  // RS256 signature presented as PS256 (and the reverse): refused.
  const rs = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).sign(rsa.privateKey);
  assert.equal(oursAccepts(rs, rsa.publicKey, 'PS256', NOW), false);
  const [, rp, rsig] = rs.split('.');
  assert.equal(oursAccepts(`${Buffer.from('{"alg":"PS256"}').toString('base64url')}.${rp}.${rsig}`, rsa.publicKey, 'PS256', NOW), false);

  // Time claims and malformed claim sets: same outcome as jose at every instant around exp and nbf.
  const t0 = nowS;
  const cases: unknown[] = [
    { exp: t0 + 100 },
    { exp: t0 + 100, nbf: t0 + 30 },
    { exp: t0 + 100, nbf: t0 + 100 },
    { exp: t0 + 100, iat: 'yesterday' },
    { exp: String(t0 + 100) },
    { exp: t0 + 100, nbf: null },
    { iat: t0 },
    [{ exp: t0 + 100 }],
    'not json',
    '"a string"',
  ];
  const instants = [-200, -61, -60, -59, 0, 29, 30, 89, 90, 91, 99, 100, 159, 160, 161, 400].map((d) => new Date((t0 + d) * 1000 + 500));
  for (const c of cases) {
    const token = handSign({ alg: 'ES256' }, c, A.privateKey);
    for (const at of instants) {
      assert.equal(oursAccepts(token, A.publicKey, 'ES256', at), await joseAccepts(token, A.publicKey, 'ES256', at), `${JSON.stringify(c)} at ${at.toISOString()}`);
    }
  }
  // Headers asking for extensions are refused (jose refuses unknown crit too).
  for (const header of [{ alg: 'ES256', crit: ['exp'], exp: 1 }, { alg: 'ES256', b64: false, crit: ['b64'] }]) {
    const token = handSign(header, { exp: t0 + 100 }, A.privateKey);
    assert.equal(oursAccepts(token, A.publicKey, 'ES256', NOW), false, JSON.stringify(header));
    assert.equal(await joseAccepts(token, A.publicKey, 'ES256', NOW), false, JSON.stringify(header));
  }
  // A signature made by another key fails with the jose error code.
  assert.throws(() => verifyJwt(handSign({ alg: 'ES256' }, { exp: t0 + 100 }, B.privateKey), A.publicKey, { alg: 'ES256', now: NOW, clockToleranceS: 60 }), (e: unknown) => e instanceof JwtError && e.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
});
