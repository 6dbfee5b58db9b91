import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readTestdata, testdataSkip } from '../support/testdata.js';
import { MemoryBackend } from '../../src/storage/memory.js';
import { ResourcePolicy, samplePolicy, RESOURCE_POLICY_NAMESPACE } from '../../src/kbs/resource-policy.js';
import { PolicyEngineError } from '../../src/kbs/errors.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const claims = (productId: string, svn: number) => ({
  submods: { cpu0: { 'ear.trustworthiness-vector': { executables: 2, hardware: 3 }, 'ear.veraison.annotated-evidence': { sample: { productId, svn } } } },
});

async function withPolicy(source: string) {
  const kv = await new MemoryBackend().open(RESOURCE_POLICY_NAMESPACE);
  const p = await ResourcePolicy.open(kv);
  await p.set(source);
  return p;
}

// Expected results: /work/shared/testdata/README.md (policies/, Trustee's test_kbs_policy_evaluate).
const CASES: Array<[string, string, string[], string, number, boolean]> = [
  ['policy_1', 'resource', ['my_repo', 'Alice', 'key'], 'Alice', 1, true],
  ['policy_1', 'another-plugin', ['my_repo', 'Alice', 'key'], 'Alice', 1, false],
  ['policy_4', 'resource', ['my_repo', 'Alice', 'key'], 'Alice', 1, true],
  ['policy_1', 'resource', ['my_repo', 'Alice', 'key'], 'Bob', 1, false],
  ['policy_3', 'resource', ['my_repo', 'Alice', 'key'], 'Alice', 1, false],
  ['policy_5', 'resource', ['myrepo', 'secret', 'secret'], 'n', 2, false],
  ['policy_5', 'resource', ['myrepo', 'secret', 'secret1'], 'n', 1, false],
  ['policy_5', 'resource', ['myrepo', 'secret', 'secret2'], 'n', 2, false],
  ['policy_5', 'resource', ['myrepo', 'secret', 'secret3'], 'n', 3, false],
  ['policy_5', 'resource', ['a', 'b', 'secret2'], 'n', 3, false],
  ['policy_5', 'abc', [], 'n', 3, false],
  ['policy_5', 'resource', ['myrepo', 'secret', 'secret1'], 'n', 2, true],
];

for (const [file, plugin, path, productId, svn, allow] of CASES) {
  test(`Trustee ${file}: ${plugin} ${path.join('/')} ${productId}/${svn} → ${allow}`, { skip: testdataSkip('policies/policy-engine') }, async () => {
    const p = await withPolicy(readTestdata('policies', 'policy-engine', `${file}.rego`).toString('utf8'));
    assert.equal(await p.allows({ plugin, resourcePath: path, query: {} }, claims(productId, svn), NOW), allow);
  });
}

test('our sample policies', async () => {
  const ear = (tee: string, status = 'affirming') => ({ submods: { cpu0: { 'ear.status': status, 'ear.veraison.annotated-evidence': { [tee]: { svn: '1' } } } } });
  const req = { plugin: 'resource', resourcePath: ['a', 'b', 'c'], query: {} };
  const other = { plugin: 'sample', resourcePath: [], query: {} };
  const def = await withPolicy(samplePolicy('default'));
  assert.equal(await def.allows(req, ear('snp'), NOW), true);
  assert.equal(await def.allows(req, ear('sample'), NOW), false);
  assert.equal(await def.allows(other, ear('snp'), NOW), false);
  // Stricter than Trustee: a contraindicated submodule (cpu or device) or no submodule at all is refused.
  assert.equal(await def.allows(req, ear('snp', 'warning'), NOW), true);
  assert.equal(await def.allows(req, ear('snp', 'contraindicated'), NOW), false);
  const gpuBad = { submods: { cpu0: ear('tdx').submods.cpu0, gpu0: { 'ear.status': 'contraindicated' } } };
  assert.equal(await def.allows(req, gpuBad, NOW), false);
  assert.equal(await def.allows(req, { submods: {} }, NOW), false);
  const allowAll = await withPolicy(samplePolicy('allow_all'));
  assert.equal(await allowAll.allows(req, ear('sample'), NOW), true);
  assert.equal(await allowAll.allows(other, ear('sample'), NOW), false);
  const deny = await withPolicy(samplePolicy('deny_all'));
  assert.equal(await deny.allows(req, ear('snp'), NOW), false);
  const aff = await withPolicy(samplePolicy('affirming'));
  assert.equal(await aff.allows(req, ear('snp'), NOW), true);
  assert.equal(await aff.allows(req, ear('snp', 'warning'), NOW), false);
  assert.equal(await aff.allows(req, { submods: {} }, NOW), false);
  const two = { submods: { cpu0: { 'ear.status': 'affirming' }, gpu0: { 'ear.status': 'contraindicated' } } };
  assert.equal(await aff.allows(req, two, NOW), false);
});

test('allow must be exactly true; a non-compiling policy is refused and the old one stays', async () => {
  const p = await withPolicy('package policy\nallow := "yes"\n');
  assert.equal(await p.allows({ plugin: 'resource', resourcePath: [], query: {} }, {}, NOW), false);
  await assert.rejects(p.set('package policy\nallow if {'), PolicyEngineError);
  assert.equal(await p.allows({ plugin: 'resource', resourcePath: [], query: {} }, {}, NOW), false);
  assert.deepEqual(await p.ids(), ['resource-policy']);
});
