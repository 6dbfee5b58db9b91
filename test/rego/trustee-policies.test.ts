/**
 * Trustee's own policies (read from the shared test data at run time, never copied) compile and evaluate as
 * Trustee documents them, on hand-built inputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compile, type BuiltinDef } from '../../src/rego/index.js';
import { fromJSON, type Value } from '../../src/rego/value.js';
import { testdataPath, testdataSkip } from '../support/testdata.js';

function regoFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) regoFiles(p, out);
    else if (name.endsWith('.rego')) out.push(p);
  }
  return out;
}

function qrv(refs: Record<string, unknown>): BuiltinDef {
  return { name: 'query_reference_value', args: ['string'], result: 'any', fn: ([id]) => (refs[id as string] === undefined ? fromJSON([]) : fromJSON(refs[id as string])) as Value };
}

test('every Trustee policy compiles', { skip: testdataSkip('policies') }, () => {
  const files = [...regoFiles(testdataPath('policies')), ...regoFiles(testdataPath('coco-as'))];
  assert.ok(files.length >= 10, `found ${files.length} policies`);
  for (const f of files) {
    assert.doesNotThrow(() => compile([{ filename: f, source: readFileSync(f, 'utf8') }], { builtins: [qrv({})] }), f);
  }
});

const CPU = 'policies/ear_token/ear_default_policy_cpu.rego';

function tdxInput(over: { rtmr1?: string; debug?: boolean; tcb?: string } = {}) {
  return {
    tdx: {
      quote: {
        header: { tee_type: '81000000', vendor_id: '939a7233f79c4ca9940a0db3957f0607' },
        body: { rtmr_1: over.rtmr1 ?? 'aa11', rtmr_2: 'bb22', mr_td: 'cc33', xfam: 'e702060000000000' },
      },
      td_attributes: { debug: over.debug ?? false },
      tcb_status: over.tcb ?? 'UpToDate',
      collateral_expiration_status: '0',
      uefi_event_logs: [
        { type_name: 'EV_EFI_BOOT_SERVICES_APPLICATION', details: { device_paths: ['File(kernel)'] }, digests: [{ digest: 'k1' }] },
        { type_name: 'EV_EVENT_TAG', details: { string: 'LOADED_IMAGE::LoadOptions' }, digests: [{ digest: 'p1' }] },
      ],
    },
  };
}

const REFS = { rtmr_1: ['aa11'], rtmr_2: ['bb22'], mr_td: ['cc33'], xfam: ['e702060000000000'], tdvfkernel: 'k1', tdvfkernelparams: 'p1' };

test('EAR CPU policy: a good TDX input gets affirming trust claims', { skip: testdataSkip(CPU) }, () => {
  const pol = compile([{ filename: CPU, source: readFileSync(testdataPath(CPU), 'utf8') }], { builtins: [qrv(REFS)] });
  const claims = pol.evaluate('data.policy.trust_claims', { input: tdxInput() }) as Record<string, number>;
  assert.equal(claims.executables, 3);
  assert.equal(claims.hardware, 2);
  assert.equal(claims.configuration, 2);
  assert.equal(claims['file-system'], 0);
  // query_reference_value ids are known up front (the AS prefetches them)
  const ids = pol.constantArgs('query_reference_value');
  assert.ok(ids && ids.includes('rtmr_1') && ids.includes('mr_td') && ids.includes('svn'));
});

test('EAR CPU policy: tampered measurements and TCB fall back to the defaults / else branch', { skip: testdataSkip(CPU) }, () => {
  const pol = compile([{ filename: CPU, source: readFileSync(testdataPath(CPU), 'utf8') }], { builtins: [qrv(REFS)] });
  const bad = pol.evaluate('data.policy.trust_claims', { input: tdxInput({ rtmr1: 'ffff', debug: true, tcb: 'OutOfDate' }) }) as Record<string, number>;
  assert.equal(bad.executables, 33);
  assert.equal(bad.hardware, 97);
  assert.equal(bad.configuration, 36);
  // kernel event digest not matching: the else := 4 branch (rtmrs still match)
  const refs2 = { ...REFS, tdvfkernel: 'other' };
  const pol2 = compile([{ filename: CPU, source: readFileSync(testdataPath(CPU), 'utf8') }], { builtins: [qrv(refs2)] });
  assert.equal(pol2.evaluate('data.policy.executables', { input: tdxInput() }), 4);
  // no platform at all
  assert.equal(pol.evaluate('data.policy.executables', { input: {} }), 33);
});

const P1 = 'policies/policy-engine/policy_1.rego';
test('resource policy_1: allow depends on data (resource path) and the EAR submods', { skip: testdataSkip(P1) }, () => {
  const pol = compile([{ filename: P1, source: readFileSync(testdataPath(P1), 'utf8') }]);
  const input = { submods: { cpu0: { 'ear.veraison.annotated-evidence': { sample: { productId: 'prod' } } } } };
  assert.equal(pol.evaluate('data.policy.allow', { input, data: { 'resource-path': ['a', 'prod', 'c'], plugin: 'resource' } }), true);
  assert.equal(pol.evaluate('data.policy.allow', { input, data: { 'resource-path': ['a', 'other', 'c'], plugin: 'resource' } }), false);
  assert.equal(pol.evaluate('data.policy.allow', { input, data: { 'resource-path': ['a', 'prod'], plugin: 'resource' } }), false);
});

const P5 = 'policies/policy-engine/policy_5.rego';
test('resource policy_5: minimum SVN per secret from a map', { skip: testdataSkip(P5) }, () => {
  const pol = compile([{ filename: P5, source: readFileSync(testdataPath(P5), 'utf8') }]);
  const input = (svn: number) => ({ submods: { cpu0: { 'ear.veraison.annotated-evidence': { sample: { svn } } } } });
  const data = (name: string) => ({ plugin: 'resource', 'resource-path': ['myrepo', 'secret', name] });
  assert.equal(pol.evaluate('data.policy.allow', { input: input(2), data: data('secret1') }), true);
  assert.equal(pol.evaluate('data.policy.allow', { input: input(2), data: data('secret2') }), false, 'svn 2 < minimum 3');
  assert.equal(pol.evaluate('data.policy.allow', { input: input(3), data: data('secret2') }), true);
  assert.equal(pol.evaluate('data.policy.allow', { input: input(9), data: data('secret3') }), false, 'unknown secret');
  assert.equal(pol.evaluate('data.policy.allow', { input: {}, data: data('secret1') }), false, 'no sample evidence');
});

test('policies 2, 3 and 4 (defaults only, blank lines before package)', { skip: testdataSkip('policies/policy-engine') }, () => {
  const ev = (f: string, input: unknown, data: unknown) =>
    compile([{ filename: f, source: readFileSync(testdataPath('policies/policy-engine', f), 'utf8') }]).evaluate('data.policy.allow', { input, data });
  assert.equal(ev('policy_2.rego', {}, {}), true);
  assert.equal(ev('policy_3.rego', {}, {}), false);
  const input = { submods: { cpu0: { 'ear.veraison.annotated-evidence': { sample: { productId: 'p' } } } } };
  assert.equal(ev('policy_4.rego', input, { plugin: 'resource', 'resource-path': ['a', 'p', 'c'] }), true);
  assert.equal(ev('policy_4.rego', input, { plugin: 'other', 'resource-path': ['a', 'p', 'c'] }), false);
});

test('EAR CPU policy: extensions carry validated identifiers; query_reference_value returning null keeps defaults', { skip: testdataSkip(CPU) }, () => {
  const nul: BuiltinDef = { name: 'query_reference_value', args: ['string'], result: 'any', fn: () => null };
  const pol = compile([{ filename: CPU, source: readFileSync(testdataPath(CPU), 'utf8') }], { builtins: [nul] });
  const input = {
    ...tdxInput(),
    init_data_claims: { agent_policy_claims: { containers: [{ OCI: { Annotations: { 'io.kubernetes.cri.image-name': 'pause' }, Process: { User: { UID: 65535 } } } }] } },
  };
  assert.deepEqual(pol.evaluate('data.policy.extensions', { input }), [
    { key: -18, name: 'ear.trustee.identifiers', value: { validated: { container_images: ['pause'], container_uids: [65535] } } },
  ]);
  assert.deepEqual(pol.evaluate('data.policy.extensions', { input: tdxInput() }), [{ key: -18, name: 'ear.trustee.identifiers', value: { validated: {} } }]);
  const claims = pol.evaluate('data.policy.trust_claims', { input }) as Record<string, number>;
  assert.deepEqual([claims.executables, claims.hardware, claims.configuration], [33, 97, 36]);
});
