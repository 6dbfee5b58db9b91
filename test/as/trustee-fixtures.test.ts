// Trustee's own AS test inputs (testdata/coco-as), through our wire decoding and REST routes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { MemoryBackend } from '../../src/storage/memory.js';
import { parseAsConfig } from '../../src/as/config.js';
import { createBuiltinAttestationService } from '../../src/as/builtin.js';
import { registerRestfulAsRoutes } from '../../src/as/restful.js';
import { parseRestAttestationRequest } from '../../src/as/wire.js';
import { readTestdata, testdataSkip } from '../support/testdata.js';

test('coco-as/request.json decodes to SGX evidence whose quote is byte-identical to sgx/occlum_quote.dat', { skip: testdataSkip('coco-as/coco-as') || testdataSkip('sgx') }, () => {
  const body = JSON.parse(readTestdata('coco-as', 'coco-as', 'request.json').toString());
  const { requests, policyIds } = parseRestAttestationRequest(body);
  assert.deepEqual(policyIds, ['default']);
  assert.equal(requests.length, 1);
  assert.equal(requests[0]!.tee, 'sgx');
  assert.equal(requests[0]!.runtimeDataHashAlgorithm, 'sha384');
  const ev = requests[0]!.evidence as { quote: string };
  assert.deepEqual(Buffer.from(ev.quote, 'base64'), readTestdata('sgx', 'occlum_quote.dat'));
});

test('restful-set-policy.json: stored, listed and read back as new_policy.rego', { skip: testdataSkip('coco-as/coco-as/policy') }, async () => {
  const as = await createBuiltinAttestationService({ config: parseAsConfig({}, ''), storage: new MemoryBackend() });
  const app = Fastify();
  registerRestfulAsRoutes(app, as);
  const payload = JSON.parse(readTestdata('coco-as', 'coco-as', 'policy', 'restful-set-policy.json').toString());
  const r = await app.inject({ method: 'POST', url: '/policy', payload });
  assert.equal(r.statusCode, 200, r.body);
  assert.equal(await as.getPolicy('some-id'), readTestdata('coco-as', 'coco-as', 'policy', 'new_policy.rego').toString());
  const list = (await app.inject({ method: 'GET', url: '/policy' })).json() as { 'policy-id': string }[];
  assert.ok(list.some((p) => p['policy-id'] === 'some-id'));
  await app.close();
});

test('Trustee ear_no_rv_policy_cpu.rego on sample evidence: 3/2/2 → affirming cpu0', { skip: testdataSkip('coco-as/coco-as/policy/opa') }, async () => {
  const { createHash } = await import('node:crypto');
  const { canonicalize } = await import('../../src/util/jcs.js');
  const { createLocalJWKSet, jwtVerify } = await import('jose');
  const now = new Date('2026-06-01T00:00:00Z');
  const as = await createBuiltinAttestationService({ config: parseAsConfig({}, ''), storage: new MemoryBackend() });
  const text = readTestdata('coco-as', 'coco-as', 'policy', 'opa', 'ear_no_rv_policy_cpu.rego');
  await as.setPolicy('norv_cpu', text.toString('base64url'));
  const rd = { nonce: 'n', 'tee-pubkey': { kty: 'EC' } };
  const report_data = createHash('sha384').update(canonicalize(rd)).digest('base64');
  const token = await as.evaluate([{ tee: 'sample', evidence: { svn: '1', report_data }, runtimeData: { kind: 'structured', json: rd } }], ['norv'], now);
  const { payload } = await jwtVerify(token, createLocalJWKSet((await as.tokenSignerJwks()) as never), { currentDate: now });
  const cpu0 = (payload.submods as Record<string, Record<string, any>>).cpu0!;
  assert.equal(cpu0['ear.status'], 'affirming');
  assert.equal(cpu0['ear.appraisal-policy-id'], 'norv');
  assert.deepEqual([cpu0['ear.trustworthiness-vector'].executables, cpu0['ear.trustworthiness-vector'].hardware, cpu0['ear.trustworthiness-vector'].configuration], [3, 2, 2]);
});
