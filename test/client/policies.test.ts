import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as rego from '../../src/rego/index.js';
import { cannedPolicy, type CannedPolicy } from '../../src/client/policies.js';

// The Rego engine is written in parallel; until `compile` exists at run time these tests say so and skip.
const compile = (rego as Record<string, unknown>).compile as typeof rego.compile | undefined;
const skip = typeof compile === 'function' ? false : 'src/rego compile() not implemented yet';

function allow(name: CannedPolicy, input: unknown, plugin = 'resource'): unknown {
  const policy = compile!([{ filename: `${name}.rego`, source: cannedPolicy(name) }]);
  return policy.evaluate('data.policy.allow', {
    input,
    data: { plugin, 'resource-path': ['one', 'two', 'three'], query: {} },
  });
}

const submod = (status: string, evidence: Record<string, unknown> = { snp: {} }) => ({
  'ear.status': status,
  'ear.veraison.annotated-evidence': evidence,
});

test('allow-all allows the resource plugin only', { skip }, () => {
  assert.equal(allow('allow-all', { submods: { cpu0: submod('contraindicated') } }), true);
  assert.equal(allow('allow-all', {}, 'nebula-ca'), false);
});

test('deny-all denies everything', { skip }, () => {
  assert.equal(allow('deny-all', { submods: { cpu0: submod('affirming') } }), false);
});

test('affirming needs at least one submodule and every one affirming', { skip }, () => {
  assert.equal(allow('affirming', { submods: { cpu0: submod('affirming'), gpu0: submod('affirming') } }), true);
  assert.equal(allow('affirming', { submods: { cpu0: submod('affirming'), gpu0: submod('warning') } }), false);
  assert.equal(allow('affirming', { submods: {} }), false);
  assert.equal(allow('affirming', {}), false);
  assert.equal(allow('affirming', { submods: { cpu0: { 'ear.veraison.annotated-evidence': {} } } }), false);
  assert.equal(allow('affirming', { submods: { cpu0: submod('affirming') } }, 'nebula-ca'), false);
});

test('default allows the resource plugin unless the evidence is from the sample TEE', { skip }, () => {
  assert.equal(allow('default', { submods: { cpu0: submod('affirming', { snp: { measurement: 'ab' } }) } }), true);
  assert.equal(allow('default', { submods: { cpu0: submod('affirming', { sample: { svn: '1' } }) } }), false);
  assert.equal(allow('default', { submods: { cpu0: submod('affirming', { sample: false }) } }), false);
  assert.equal(allow('default', { submods: { cpu0: submod('affirming') } }, 'sample'), false);
});
