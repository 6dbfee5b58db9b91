/**
 * EAR token signing on node:crypto (src/as/ear.ts): the token must be exactly what jose's CompactSign produced before
 * (same protected header bytes, same payload bytes, a 64-byte R ‖ S ES256 signature), verifiable by jose against the
 * published JWKS, and any tampering must be rejected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CompactSign, createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { EarTokenBroker, type EarIssueInput } from '../../src/as/ear.js';
import { DEFAULT_TOKEN_BROKER } from '../../src/as/config.js';
import { ephemeralSigner, loadConfiguredSigner, type TokenSigner } from '../../src/as/signer.js';
import { testdataPath, testdataSkip } from '../support/testdata.js';

const now = new Date('2026-06-01T00:00:00Z');

function input(): EarIssueInput {
  return {
    policyId: 'default',
    now,
    appraisals: [
      {
        class: 'cpu',
        trustVector: { executables: 3, hardware: 2, configuration: 2 },
        annotatedEvidence: { sample: { svn: '1', note: 'ünïcödé ✓' }, runtime_data_claims: { nonce: 'abc' }, init_data_claims: null },
        extensions: [{ name: 'ear.trustee.identifiers', key: -18, value: { validated: {} } }],
      },
      { class: 'gpu', trustVector: { hardware: 97 }, annotatedEvidence: { gpu: true }, extensions: [] },
    ],
  };
}

const parts = (t: string) => t.split('.') as [string, string, string];
const jwksOf = (b: EarTokenBroker) => createLocalJWKSet(b.jwks() as unknown as JSONWebKeySet);

/** The previous implementation, verbatim: jose CompactSign over the same header and payload. */
async function joseIssue(broker: EarTokenBroker, signer: TokenSigner, inp: EarIssueInput): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(broker.payload(inp))))
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT', jwk: { ...signer.publicJwk } as unknown as import('jose').JWK })
    .sign(signer.privateKey);
}

test('EAR signing: header and payload bytes equal the jose-built token; both verify', async () => {
  const signer = ephemeralSigner();
  const broker = new EarTokenBroker(DEFAULT_TOKEN_BROKER, signer);
  const ours = await broker.issue(input());
  const theirs = await joseIssue(broker, signer, input());
  const [h1, p1, s1] = parts(ours);
  const [h2, p2, s2] = parts(theirs);
  assert.equal(h1, h2, 'protected header bytes');
  assert.equal(p1, p2, 'payload bytes');
  // ECDSA is randomized: signatures differ, but both are fixed-length 64-byte R ‖ S (RFC 7518 §3.4).
  assert.equal(Buffer.from(s1, 'base64url').length, 64);
  assert.equal(Buffer.from(s2, 'base64url').length, 64);
  assert.match(ours, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'compact serialization, no padding');
  for (const t of [ours, theirs]) await jwtVerify(t, jwksOf(broker), { currentDate: now, algorithms: ['ES256'] });
});

test('EAR signing: header is {alg,typ,jwk} in that order, jwk = the JWKS key; claims per §2.7', async () => {
  const signer = ephemeralSigner();
  const broker = new EarTokenBroker({ ...DEFAULT_TOKEN_BROKER, durationMin: 7 }, signer);
  const token = await broker.issue(input());
  const headerJson = Buffer.from(parts(token)[0], 'base64url').toString('utf8');
  const { kty, crv, alg, x, y } = signer.publicJwk;
  assert.equal(headerJson, JSON.stringify({ alg: 'ES256', typ: 'JWT', jwk: { kty, crv, alg, x, y } }));
  assert.deepEqual(decodeProtectedHeader(token).jwk, (broker.jwks().keys[0] as object));
  // The jwk in the header is the signer's public key (independent check through node's JWK import).
  const fromHeader = createPublicKey({ key: JSON.parse(headerJson).jwk, format: 'jwk' });
  assert.ok(fromHeader.equals(createPublicKey(signer.privateKey)));

  const { payload, protectedHeader } = await jwtVerify(token, jwksOf(broker), { currentDate: now, algorithms: ['ES256'] });
  assert.equal(protectedHeader.alg, 'ES256');
  assert.equal(protectedHeader.typ, 'JWT');
  const iat = Math.floor(now.getTime() / 1000);
  assert.equal(payload.iat, iat);
  assert.equal(payload.exp, iat + 7 * 60);
  assert.equal(payload.iss, 'CoCo-Attestation-Service');
  assert.equal(payload.eat_profile, 'tag:github.com,2024:confidential-containers/Trustee'); // spec default
  const submods = payload.submods as Record<string, Record<string, unknown>>;
  assert.deepEqual(Object.keys(submods), ['cpu0', 'gpu0']);
  assert.equal(submods.cpu0!['ear.status'], 'affirming');
  assert.equal(submods.gpu0!['ear.status'], 'contraindicated');
  assert.deepEqual((submods.cpu0!['ear.veraison.annotated-evidence'] as { sample: unknown }).sample, { svn: '1', note: 'ünïcödé ✓' });
  // Payload segment is the UTF-8 JSON of payload() exactly (no re-encoding, non-ASCII kept as UTF-8).
  assert.equal(Buffer.from(parts(token)[1], 'base64url').toString('utf8'), JSON.stringify(broker.payload(input())));
});

test('EAR signing: the signature is ES256 over "header.payload" (node verify, P1363)', async () => {
  const signer = ephemeralSigner();
  const broker = new EarTokenBroker(DEFAULT_TOKEN_BROKER, signer);
  const [h, p, s] = parts(await broker.issue(input()));
  const pub = createPublicKey(signer.privateKey);
  assert.ok(verify('sha256', Buffer.from(`${h}.${p}`), { key: pub, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url')));
  assert.ok(!verify('sha256', Buffer.from(`${h}.${p}x`), { key: pub, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url')));
});

test('EAR signing: tampered header, payload or signature, a foreign key and expiry are rejected', async () => {
  const signer = ephemeralSigner();
  const broker = new EarTokenBroker({ ...DEFAULT_TOKEN_BROKER, durationMin: 5 }, signer);
  const token = await broker.issue(input());
  const [h, p, s] = parts(token);
  const jwks = jwksOf(broker);
  const opts = { currentDate: now, algorithms: ['ES256'] };
  await jwtVerify(token, jwks, opts);

  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
  claims.exp = 4_000_000_000;
  const forgedPayload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  await assert.rejects(jwtVerify(`${h}.${forgedPayload}.${s}`, jwks, opts), /signature verification failed/);

  const hdr = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as Record<string, unknown>;
  hdr.typ = 'at+jwt';
  await assert.rejects(jwtVerify(`${Buffer.from(JSON.stringify(hdr)).toString('base64url')}.${p}.${s}`, jwks, opts));

  const sig = Buffer.from(s, 'base64url');
  sig[10]! ^= 0x01;
  await assert.rejects(jwtVerify(`${h}.${p}.${sig.toString('base64url')}`, jwks, opts), /signature verification failed/);

  const other = new EarTokenBroker(DEFAULT_TOKEN_BROKER, ephemeralSigner());
  await assert.rejects(jwtVerify(token, jwksOf(other), opts));
  await assert.rejects(jwtVerify(token, jwks, { ...opts, currentDate: new Date(now.getTime() + 6 * 60_000) }), /"exp" claim timestamp check failed/);
});

test('EAR signing: a non-P-256 key cannot be used (signer module rejects it first)', async () => {
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey;
  const { publicJwkOf } = await import('../../src/as/signer.js');
  assert.throws(() => publicJwkOf(p384));
});

test('EAR signing: configured key with x5c: header carries the chain and verifies against expected-jwks.json', { skip: testdataSkip('coco-as/fixtures/jwk') }, async () => {
  const dir = testdataPath('coco-as', 'fixtures', 'jwk');
  const signer = await loadConfiguredSigner({ keyPath: join(dir, 'signing-key.pem'), certPath: join(dir, 'cert-chain.pem') });
  const broker = new EarTokenBroker(DEFAULT_TOKEN_BROKER, signer);
  const token = await broker.issue(input());
  const expected = JSON.parse(await readFile(join(dir, 'expected-jwks.json'), 'utf8')) as JSONWebKeySet & { keys: { x5c?: string[] }[] };
  await jwtVerify(token, createLocalJWKSet(expected), { currentDate: now, algorithms: ['ES256'] });
  assert.deepEqual(decodeProtectedHeader(token).jwk?.x5c, expected.keys[0]!.x5c);
  assert.equal(parts(token)[0], parts(await joseIssue(broker, signer, input()))[0]);
});

test('AS hot path: a policy changed by another instance on shared storage is used at once, and so is its revert', async () => {
  const { MemoryBackend } = await import('../../src/storage/memory.js');
  const { parseAsConfig } = await import('../../src/as/config.js');
  const { createBuiltinAttestationService } = await import('../../src/as/builtin.js');
  const { createHash } = await import('node:crypto');
  const { canonicalize } = await import('../../src/util/jcs.js');
  const storage = new MemoryBackend();
  const make = () => createBuiltinAttestationService({ config: parseAsConfig({}, ''), storage, clock: () => now });
  const [a, b] = [await make(), await make()];
  const rd = { 'additional-evidence': '', nonce: 'bm9uY2U=', 'tee-pubkey': { alg: 'RSA-OAEP', e: 'AQAB', kty: 'RSA', n: 'abc' } };
  const req = { tee: 'sample', evidence: { svn: '1', report_data: createHash('sha384').update(canonicalize(rd)).digest('base64') }, runtimeData: { kind: 'structured' as const, json: rd } };
  const b64url = (s: string) => Buffer.from(s).toString('base64url');
  const vectorOf = async () => {
    const { payload } = await jwtVerify(await a.evaluate([req], ['custom'], now), createLocalJWKSet((await a.tokenSignerJwks()) as unknown as JSONWebKeySet), { currentDate: now });
    return (payload.submods as Record<string, Record<string, unknown>>).cpu0!['ear.trustworthiness-vector'];
  };
  const one = b64url('package policy\ntrust_claims := {"executables": 3, "hardware": 2}\n');
  const two = b64url('package policy\ntrust_claims := {"executables": 33}\n');
  await b.setPolicy('custom_cpu', one);
  assert.deepEqual(await vectorOf(), { executables: 3, hardware: 2 });
  await b.setPolicy('custom_cpu', two); // a's cache still holds policy one
  assert.deepEqual(await vectorOf(), { executables: 33 });
  await b.setPolicy('custom_cpu', one);
  assert.deepEqual(await vectorOf(), { executables: 3, hardware: 2 });
  // A bad id is refused before storage is touched, as through PolicyStore.
  await assert.rejects(a.evaluate([req], ['../x'], now), /policy id/);
});
