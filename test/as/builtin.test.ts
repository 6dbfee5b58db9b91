import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { MemoryBackend } from '../../src/storage/memory.js';
import { parseAsConfig } from '../../src/as/config.js';
import { createBuiltinAttestationService, type BuiltinAttestationService } from '../../src/as/builtin.js';
import { AttestationServiceError } from '../../src/as/errors.js';
import { canonicalize } from '../../src/util/jcs.js';
import type { VerificationRequest } from '../../src/as/types.js';
import type { Json } from '../../src/verifiers/types.js';

const now = new Date('2026-06-01T00:00:00Z');

async function makeAs(): Promise<BuiltinAttestationService> {
  return createBuiltinAttestationService({ config: parseAsConfig({}, ''), storage: new MemoryBackend(), clock: () => now });
}

const runtimeData: Json = { 'additional-evidence': '', nonce: 'bm9uY2U=', 'tee-pubkey': { alg: 'RSA-OAEP', e: 'AQAB', kty: 'RSA', n: 'abc' } };

function sampleRequest(tee = 'sample', svn = '1', rd: Json = runtimeData, initToml?: string): VerificationRequest {
  const digest = createHash('sha384').update(canonicalize(rd)).digest('base64');
  const req: VerificationRequest = { tee, evidence: { svn, report_data: digest }, runtimeData: { kind: 'structured', json: rd } };
  if (initToml !== undefined) req.initData = { kind: 'toml', toml: initToml };
  return req;
}

async function verify(as: BuiltinAttestationService, token: string, at = now): Promise<JWTPayload & { submods: Record<string, Record<string, any>> }> {
  const { payload } = await jwtVerify(token, createLocalJWKSet((await as.tokenSignerJwks()) as unknown as JSONWebKeySet), { currentDate: at });
  return payload as JWTPayload & { submods: Record<string, Record<string, any>> };
}

const rvMessage = (o: unknown) => JSON.stringify({ version: '0.1.0', type: 'sample', payload: Buffer.from(JSON.stringify(o)).toString('base64') });
const b64url = (s: string) => Buffer.from(s).toString('base64url');

test('default policies installed once; ids listed; text readable', async () => {
  const storage = new MemoryBackend();
  const as = await createBuiltinAttestationService({ config: parseAsConfig({}, ''), storage });
  assert.deepEqual((await as.listPolicies()).sort(), ['default_cpu', 'default_gpu', 'default_ppcie', 'default_switch']);
  assert.match((await as.getPolicy('default_cpu'))!, /query_reference_value\("launch_digest"\)/);
  // An operator's edit survives a restart.
  const kv = await storage.open('attestation_service_policy');
  await kv.set('default_cpu.rego', Buffer.from('package policy\n'));
  await createBuiltinAttestationService({ config: parseAsConfig({}, ''), storage });
  assert.equal(await as.getPolicy('default_cpu'), 'package policy\n');
  assert.deepEqual(as.signerPublicJwk(), (await as.tokenSignerJwks()).keys[0]);
});

test('policy ids: empty, "/", ".." rejected (stricter than Trustee)', async () => {
  const as = await makeAs();
  for (const id of ['', 'a/b', '..', 'a..b', '../x', 'x y', '%2e%2e%2f', 'a\u0000b', 'ｄefault', 'x'.repeat(129), '/abs']) {
    await assert.rejects(as.setPolicy(id, b64url('package policy\n')), (e: unknown) => e instanceof AttestationServiceError && e.code === 'ERR_AS_INVALID_POLICY_ID', id);
  }
  await assert.rejects(as.setPolicy('ok', '***'), (e: unknown) => e instanceof AttestationServiceError && e.code === 'ERR_AS_POLICY_INVALID');
});

test('evaluate: empty request list, unknown TEE, report-data mismatch → typed errors', async () => {
  const as = await makeAs();
  await assert.rejects(as.evaluate([], ['default'], now), (e: unknown) => e instanceof AttestationServiceError && e.code === 'ERR_AS_BAD_REQUEST');
  await assert.rejects(as.evaluate([{ ...sampleRequest(), tee: 'nope' }], ['default'], now), (e: unknown) => e instanceof AttestationServiceError && e.code === 'ERR_AS_UNKNOWN_TEE');
  const wrong = sampleRequest();
  wrong.runtimeData = { kind: 'structured', json: { ...(runtimeData as object), nonce: 'other' } };
  await assert.rejects(as.evaluate([wrong], ['default'], now), (e: unknown) => e instanceof AttestationServiceError && e.code === 'ERR_AS_VERIFICATION');
  // Wrong hash algorithm: report data was made with sha384.
  await assert.rejects(as.evaluate([{ ...sampleRequest(), runtimeDataHashAlgorithm: 'sha512' }], ['default'], now), (e: unknown) => e instanceof AttestationServiceError && e.code === 'ERR_AS_VERIFICATION');
});

test('reference values through the AS API', async () => {
  const as = await makeAs();
  await as.registerReferenceValue(rvMessage({ svn: ['1'] }));
  assert.deepEqual(await as.queryReferenceValue('svn'), ['1']);
  assert.equal(await as.queryReferenceValue('nothing'), undefined);
  assert.equal(await as.generateSupplementalChallenge('sample', ''), '');
});

test('scenario: default CPU policy on sample claims without RVs → contraindicated', async () => {
  const as = await makeAs();
  const p = await verify(as, await as.evaluate([sampleRequest()], ['default'], now));
  const cpu0 = p.submods.cpu0!;
  assert.equal(cpu0['ear.status'], 'contraindicated');
  assert.equal(cpu0['ear.trustworthiness-vector'].hardware, 97);
  assert.equal(cpu0['ear.trustworthiness-vector'].executables, 33);
  assert.equal(cpu0['ear.trustworthiness-vector'].configuration, 2);
  assert.equal(cpu0['ear.appraisal-policy-id'], 'default');
  assert.deepEqual(cpu0['ear.veraison.annotated-evidence'].runtime_data_claims, runtimeData);
  assert.deepEqual(cpu0['ear.veraison.annotated-evidence'].sample, { svn: '1', launch_digest: 'abcde', platform_version: { major: 1, minor: 4 }, debug: false });
  assert.deepEqual(cpu0['ear.trustee.identifiers'], { validated: {} });
});

test('scenario: with RVs svn/launch_digest/major/minor → hardware 2, affirming', async () => {
  const as = await makeAs();
  await as.registerReferenceValue(rvMessage({ svn: ['1'], launch_digest: ['abcde'], major_version: 1, minimum_minor_version: 1 }));
  const p = await verify(as, await as.evaluate([sampleRequest()], ['default'], now));
  assert.equal(p.submods.cpu0!['ear.status'], 'affirming');
  assert.deepEqual(p.submods.cpu0!['ear.trustworthiness-vector'], {
    'instance-identity': 0, configuration: 2, executables: 3, 'file-system': 0, hardware: 2, 'runtime-opaque': 0, 'storage-opaque': 0, 'sourced-data': 0,
  });
  // A minimum minor version above the evidence's (4) denies the hardware claim.
  await as.registerReferenceValue(rvMessage({ minimum_minor_version: 5 }));
  const q = await verify(as, await as.evaluate([sampleRequest()], ['default'], now));
  assert.equal(q.submods.cpu0!['ear.trustworthiness-vector'].hardware, 97);
  // RVs expire (unlike Trustee): a year later the token is contraindicated again.
  await as.registerReferenceValue(rvMessage({ minimum_minor_version: 1 }));
  const later = new Date('2027-06-02T00:00:00Z');
  const r = await verify(as, await as.evaluate([sampleRequest()], ['default'], later), later);
  assert.equal(r.submods.cpu0!['ear.status'], 'contraindicated');
  assert.equal(r.submods.cpu0!['ear.trustworthiness-vector'].hardware, 97);
});

test('scenario: init-data with policy_data → ear.trustee.identifiers', async () => {
  const as = await makeAs();
  const toml = `version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"policy.rego" = '''\npackage agent_policy\npolicy_data := {\n "containers": [\n  {"OCI": {"Annotations": {"io.kubernetes.cri.image-name": "bitnami/nginx:latest"}, "Process": {"Args": ["/pause"], "User": {"UID": 65535}}}},\n  {"OCI": {"Annotations": {}, "Process": {"Args": ["nginx"], "User": {"UID": 1001}}}}\n ]\n}\n'''\n`;
  const p = await verify(as, await as.evaluate([sampleRequest('sample', '1', runtimeData, toml)], ['default'], now));
  const cpu0 = p.submods.cpu0!;
  assert.deepEqual(cpu0['ear.trustee.identifiers'], { validated: { container_images: ['bitnami/nginx:latest'], container_uids: [65535, 1001] } });
  assert.equal(cpu0['ear.veraison.annotated-evidence'].init_data, createHash('sha256').update(toml).digest('base64'));
});

test('scenario: device evidence → gpu0 submod with the default gpu policy (contraindicated)', async () => {
  const as = await makeAs();
  const device = sampleRequest('sampledevice', '2', { nonce: 'bm9uY2U=', 'tee-pubkey': { alg: 'RSA-OAEP', e: 'AQAB', kty: 'RSA', n: 'abc' } });
  const p = await verify(as, await as.evaluate([sampleRequest(), device], ['default'], now));
  assert.deepEqual(Object.keys(p.submods).sort(), ['cpu0', 'gpu0']);
  assert.equal(p.submods.gpu0!['ear.status'], 'contraindicated');
  assert.deepEqual(p.submods.gpu0!['ear.veraison.annotated-evidence'].sampledevice, { svn: '2' });
  // A custom gpu policy trusting RV device_svn makes it pass.
  await as.registerReferenceValue(rvMessage({ device_svn: ['2'] }));
  await as.setPolicy('default_gpu', b64url(`package policy\nimport rego.v1\ndefault hardware := 97\nhardware := 2 if input.sampledevice.svn in query_reference_value("device_svn")\ntrust_claims := {"hardware": hardware}\n`));
  const q = await verify(as, await as.evaluate([sampleRequest(), device], ['default'], now));
  assert.equal(q.submods.gpu0!['ear.status'], 'affirming');
});

test('policies: invalid Rego is rejected and nothing is stored; missing class policy fails closed', async () => {
  const as = await makeAs();
  await assert.rejects(as.setPolicy('custom_cpu', b64url('package policy\nthis is not rego {')), (e: unknown) => e instanceof AttestationServiceError && e.code === 'ERR_AS_POLICY_INVALID');
  assert.equal(await as.getPolicy('custom_cpu'), undefined);
  await assert.rejects(as.evaluate([sampleRequest()], ['custom'], now), (e: unknown) => e instanceof AttestationServiceError && e.code === 'ERR_AS_POLICY_NOT_FOUND');
  await as.setPolicy('custom_cpu', b64url('package policy\ntrust_claims := {"executables": 3, "hardware": 2}\n'));
  const p = await verify(as, await as.evaluate([sampleRequest()], ['custom', 'ignored'], now));
  assert.equal(p.submods.cpu0!['ear.appraisal-policy-id'], 'custom');
  assert.deepEqual(p.submods.cpu0!['ear.trustworthiness-vector'], { executables: 3, hardware: 2 });
});
