import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { EarTokenBroker, parseExtensions, parseTrustClaims, statusOf, tierOf } from '../../src/as/ear.js';
import { DEFAULT_TOKEN_BROKER, parseAsConfig } from '../../src/as/config.js';
import { ephemeralSigner, loadConfiguredSigner, loadOrCreatePersistedSigner } from '../../src/as/signer.js';
import { AttestationServiceError } from '../../src/as/errors.js';
import { ConfigError } from '../../src/util/config-error.js';
import { testdataPath, testdataSkip } from '../support/testdata.js';

const now = new Date('2026-06-01T00:00:00Z');

test('tierOf: AR4SI tier boundaries (specs/trustee.md §2.7)', () => {
  const cases: [number, string][] = [
    [-128, 'contraindicated'], [-97, 'contraindicated'], [-96, 'warning'], [-33, 'warning'], [-32, 'affirming'],
    [-2, 'affirming'], [-1, 'none'], [0, 'none'], [1, 'none'], [2, 'affirming'], [31, 'affirming'], [32, 'warning'],
    [95, 'warning'], [96, 'contraindicated'], [97, 'contraindicated'], [127, 'contraindicated'],
  ];
  for (const [v, t] of cases) assert.equal(tierOf(v), t, `value ${v}`);
});

test('statusOf: worst tier over set claims', () => {
  assert.equal(statusOf({}), 'none');
  assert.equal(statusOf({ executables: 3, hardware: 2, configuration: 2 }), 'affirming');
  assert.equal(statusOf({ executables: 33, hardware: 2 }), 'warning');
  assert.equal(statusOf({ executables: 33, hardware: 97, configuration: 2 }), 'contraindicated');
  assert.equal(statusOf({ executables: 0, 'file-system': 0 }), 'none');
});

test('parseTrustClaims: missing rule → all 0; unknown names, non-ints, empty → errors', () => {
  assert.deepEqual(Object.values(parseTrustClaims(undefined)), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(parseTrustClaims({ hardware: 2 }), { hardware: 2 });
  for (const bad of [{ bogus: 1 }, { hardware: 1.5 }, { hardware: '2' }, { hardware: 128 }, {}, [], null]) {
    assert.throws(() => parseTrustClaims(bad), AttestationServiceError);
  }
});

test('parseExtensions: array of {name,key,value}; reserved names rejected', () => {
  assert.deepEqual(parseExtensions(undefined), []);
  assert.deepEqual(parseExtensions([{ name: 'ear.trustee.identifiers', key: -18, value: { validated: {} } }]), [
    { name: 'ear.trustee.identifiers', key: -18, value: { validated: {} } },
  ]);
  assert.throws(() => parseExtensions([{ name: 'ear.status', key: 1, value: 1 }]), AttestationServiceError);
  assert.throws(() => parseExtensions([{ name: 'x', key: 1.5, value: 1 }]), AttestationServiceError);
  assert.throws(() => parseExtensions({}), AttestationServiceError);
});

test('EAR token: ES256 JWS verifiable with the published JWKS, payload per §2.7', async () => {
  const signer = ephemeralSigner();
  const broker = new EarTokenBroker({ ...DEFAULT_TOKEN_BROKER, durationMin: 7 }, signer);
  const evidence = { sample: { svn: '1' }, runtime_data_claims: null, init_data_claims: null };
  const token = await broker.issue({
    policyId: 'default',
    now,
    appraisals: [
      { class: 'cpu', trustVector: { executables: 3, hardware: 2, configuration: 2 }, annotatedEvidence: evidence, extensions: [{ name: 'ear.trustee.identifiers', key: -18, value: { validated: {} } }] },
      { class: 'gpu', trustVector: { hardware: 97 }, annotatedEvidence: {}, extensions: [] },
      { class: 'gpu', trustVector: { hardware: 33 }, annotatedEvidence: {}, extensions: [] },
    ],
  });
  const header = decodeProtectedHeader(token);
  assert.equal(header.alg, 'ES256');
  assert.equal(header.typ, 'JWT');
  assert.deepEqual(header.jwk, signer.publicJwk);
  const { payload } = await jwtVerify(token, createLocalJWKSet(broker.jwks() as unknown as JSONWebKeySet), { currentDate: now });
  const iat = now.getTime() / 1000;
  assert.equal(payload.iat, iat);
  assert.equal(payload.exp, iat + 7 * 60);
  assert.equal(payload.iss, 'CoCo-Attestation-Service');
  assert.equal(payload.eat_profile, 'tag:github.com,2024:confidential-containers/Trustee');
  assert.deepEqual(payload['ear.verifier-id'], { developer: 'https://confidentialcontainers.org', build: 'attestation-service 0.1.0' });
  const submods = payload.submods as Record<string, Record<string, unknown>>;
  assert.deepEqual(Object.keys(submods), ['cpu0', 'gpu0', 'gpu1']);
  assert.deepEqual(submods.cpu0, {
    'ear.status': 'affirming',
    'ear.trustworthiness-vector': { configuration: 2, executables: 3, hardware: 2 },
    'ear.appraisal-policy-id': 'default',
    'ear.veraison.annotated-evidence': evidence,
    'ear.trustee.identifiers': { validated: {} },
  });
  assert.equal(submods.gpu0!['ear.status'], 'contraindicated');
  assert.equal(submods.gpu1!['ear.status'], 'warning');
});

test('EAR token: a tampered payload or a foreign key fails verification', async () => {
  const signer = ephemeralSigner();
  const broker = new EarTokenBroker(DEFAULT_TOKEN_BROKER, signer);
  const token = await broker.issue({ policyId: 'default', now, appraisals: [{ class: 'cpu', trustVector: { hardware: 2 }, annotatedEvidence: {}, extensions: [] }] });
  const [h, p, s] = token.split('.');
  const body = JSON.parse(Buffer.from(p!, 'base64url').toString());
  body.submods.cpu0['ear.status'] = 'affirming';
  body.submods.cpu0['ear.trustworthiness-vector'].hardware = 3;
  const tampered = `${h}.${Buffer.from(JSON.stringify(body)).toString('base64url')}.${s}`;
  const jwks = createLocalJWKSet(broker.jwks() as unknown as JSONWebKeySet);
  await assert.rejects(jwtVerify(tampered, jwks, { currentDate: now }));
  const other = new EarTokenBroker(DEFAULT_TOKEN_BROKER, ephemeralSigner());
  await assert.rejects(jwtVerify(token, createLocalJWKSet(other.jwks() as unknown as JSONWebKeySet), { currentDate: now }));
  // Expired after duration_min.
  await assert.rejects(jwtVerify(token, jwks, { currentDate: new Date(now.getTime() + 6 * 60_000) }));
});

test('EAR token: no appraisal → error', async () => {
  const broker = new EarTokenBroker(DEFAULT_TOKEN_BROKER, ephemeralSigner());
  await assert.rejects(broker.issue({ policyId: 'default', now, appraisals: [] }), AttestationServiceError);
});

test('signer fixture: signing-key.pem + cert-chain.pem publish exactly expected-jwks.json', { skip: testdataSkip('coco-as/fixtures/jwk') }, async () => {
  const dir = testdataPath('coco-as', 'fixtures', 'jwk');
  const signer = await loadConfiguredSigner({ keyPath: join(dir, 'signing-key.pem'), certPath: join(dir, 'cert-chain.pem'), certUrl: 'https://example.io/cert' });
  const expected = JSON.parse(await readFile(join(dir, 'expected-jwks.json'), 'utf8'));
  const broker = new EarTokenBroker(DEFAULT_TOKEN_BROKER, signer);
  const { x5u, ...rest } = broker.jwks().keys[0] as Record<string, unknown>;
  assert.equal(x5u, 'https://example.io/cert');
  assert.deepEqual(rest, expected.keys[0]);
  // x starts with a 0x00 byte: must stay 32 bytes.
  assert.equal(Buffer.from(rest.x as string, 'base64url').length, 32);
  const token = await broker.issue({ policyId: 'p', now, appraisals: [{ class: 'cpu', trustVector: { hardware: 2 }, annotatedEvidence: {}, extensions: [] }] });
  await jwtVerify(token, createLocalJWKSet(expected), { currentDate: now });
  assert.deepEqual(decodeProtectedHeader(token).jwk?.x5c, expected.keys[0].x5c);
});

test('signer: non-P-256 keys and mismatching certificates are rejected', { skip: testdataSkip('coco-as/fixtures/jwk') }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kb-signer-'));
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({ format: 'pem', type: 'pkcs8' });
  await writeFile(join(dir, 'p384.pem'), p384);
  await assert.rejects(loadConfiguredSigner({ keyPath: join(dir, 'p384.pem') }), ConfigError);
  const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' });
  await writeFile(join(dir, 'p256.pem'), p256);
  const fixtureCert = testdataPath('coco-as', 'fixtures', 'jwk', 'cert-chain.pem');
  await assert.rejects(loadConfiguredSigner({ keyPath: join(dir, 'p256.pem'), certPath: fixtureCert }), ConfigError);
  await assert.rejects(loadConfiguredSigner({ keyPath: join(dir, 'missing.pem') }), (e: unknown) => e instanceof ConfigError && !/BEGIN/.test(e.message));
});

test('signer: persisted key is created once with mode 0600 and reused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kb-data-'));
  const [a, c] = await Promise.all([loadOrCreatePersistedSigner(dir), loadOrCreatePersistedSigner(dir)]);
  const b = await loadOrCreatePersistedSigner(dir);
  assert.deepEqual(a.publicJwk, b.publicJwk);
  assert.deepEqual(c.publicJwk, b.publicJwk);
  assert.deepEqual((await readdir(join(dir, 'as'))).sort(), ['token-signer-key.pem']);
  const st = await stat(join(dir, 'as', 'token-signer-key.pem'));
  assert.equal(st.mode & 0o777, 0o600);
});

test('parseAsConfig: Trustee keys, defaults, and errors naming the key', () => {
  const c = parseAsConfig(
    {
      rvps_config: { type: 'BuiltIn' },
      attestation_token_broker: { type: 'Ear', duration_min: 5, issuer_name: 'test', developer_name: 'someone', build_name: '0.1.0', profile_name: 'x', signer: { key_path: '/etc/key', cert_url: 'https://example.io', cert_path: '/etc/cert.pem' } },
      storage_backend: { storage_type: 'Memory' },
      timeout: 5,
    },
    '',
  );
  assert.equal(c.tokenBroker.issuerName, 'test');
  assert.deepEqual(c.tokenBroker.signer, { keyPath: '/etc/key', certPath: '/etc/cert.pem', certUrl: 'https://example.io' });
  assert.equal(c.tokenBroker.verboseToken, true);
  assert.deepEqual(parseAsConfig({}, 'attestation_service').rvps, { type: 'BuiltIn', extractors: {} });
  assert.deepEqual(parseAsConfig({ rvps_config: { type: 'GrpcRemote', address: 'http://127.0.0.1:50003' } }, 'x').rvps, { type: 'GrpcRemote', address: 'http://127.0.0.1:50003' });
  const bad: [unknown, string][] = [
    [{ bogus: 1 }, 'attestation_service.bogus'],
    [{ attestation_token_broker: { duration_min: 0 } }, 'attestation_service.attestation_token_broker.duration_min'],
    [{ attestation_token_broker: { duration_min: '5' } }, 'attestation_service.attestation_token_broker.duration_min'],
    [{ attestation_token_broker: { signer: {} } }, 'attestation_service.attestation_token_broker.signer.key_path'],
    [{ attestation_token_broker: { type: 'Simple' } }, 'attestation_service.attestation_token_broker.type'],
    [{ rvps_config: { type: 'Other' } }, 'attestation_service.rvps_config.type'],
    [{ rvps_config: { type: 'BuiltIn', extractors: { nope: {} } } }, 'attestation_service.rvps_config.extractors.nope'],
  ];
  for (const [raw, key] of bad) {
    assert.throws(() => parseAsConfig(raw, 'attestation_service'), (e: unknown) => e instanceof ConfigError && e.key === key, key);
  }
});

test('parseAsConfig: the shared AS example configs parse', { skip: testdataSkip('coco-as/configs') }, async () => {
  for (const f of ['example1.json', 'example2.json', 'example_with_tpm_verifier.json']) {
    const raw = JSON.parse(await readFile(testdataPath('coco-as', 'configs', f), 'utf8'));
    const c = parseAsConfig(raw, '');
    assert.equal(c.tokenBroker.durationMin, 5, f);
  }
});
