// Trustee integration-tests (specs/trustee.md §8.2) against a real KBS with the built-in AS and the sample
// attesters, driven by our client library.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { KbsClient } from '../../src/client/kbs-client.js';
import { HttpTransport } from '../../src/client/http.js';
import { sampleAttester, sampleDeviceAttester } from '../../src/client/attester.js';
import { parseInitData } from '../../src/client/init-data.js';
import { samplePolicy } from '../../src/kbs/resource-policy.js';
import { startKbs, type TestKbs } from './support/harness.js';

const SECRET = Buffer.from('scenario secret');

async function setup(t: { after(fn: () => Promise<void>): void }) {
  const k = await startKbs();
  t.after(() => k.stop());
  const admin = new KbsClient({ transport: new HttpTransport({ url: k.url }), adminToken: k.adminToken });
  await admin.setResource('default/key/1', SECRET);
  return { k, admin };
}

function guest(k: TestKbs, opts: { device?: boolean; initData?: string } = {}) {
  return new KbsClient({
    transport: new HttpTransport({ url: k.url }),
    attesters: { primary: sampleAttester, devices: opts.device ? [sampleDeviceAttester] : [] },
    ...(opts.initData ? { initData: parseInitData(opts.initData).wire } : {}),
  });
}

async function violations(k: TestKbs): Promise<number> {
  return (await k.kbs.ctx.metrics.policyViolations.get()).values[0]?.value ?? 0;
}

/** The request fails, and because the resource policy said no (not for any other reason). */
async function denied(k: TestKbs, c: KbsClient): Promise<void> {
  const before = await violations(k);
  await assert.rejects(c.getResource('default/key/1'));
  assert.ok((await violations(k)) > before, 'denied by the resource policy');
}

const NOT_CONTRAINDICATED = `package policy
import rego.v1
default allow := false
allow if {
  input.submods.cpu0["ear.status"] != "contraindicated"
}
`;
const DEVICE_NOT_CONTRAINDICATED = `package policy
import rego.v1
default allow := false
allow if {
  input.submods.cpu0["ear.status"] != "contraindicated"
  input.submods.gpu0["ear.status"] != "contraindicated"
}
`;
const CPU_POLICY = `package policy
import rego.v1
default hardware := 97
hardware := 2 if {
  input.sample.svn in query_reference_value("svn")
}
trust_claims := {"hardware": hardware}
`;
const GPU_POLICY = `package policy
import rego.v1
default hardware := 97
hardware := 2 if {
  input.sampledevice.svn in query_reference_value("device_svn")
}
trust_claims := {"hardware": hardware}
`;

test('policy_contraindicated: no reference values → denied; policy_not_contraindicated: svn RV → allowed', async (t) => {
  const { k, admin } = await setup(t);
  await admin.setResourcePolicy(NOT_CONTRAINDICATED);
  await admin.setAttestationPolicy(CPU_POLICY, { id: 'default_cpu' });
  await denied(k, guest(k));
  await admin.setSampleReferenceValue('svn', ['1']);
  assert.deepEqual(await guest(k).getResource('default/key/1'), SECRET);
});

test('device_contraindicated → denied; device_not_contraindicated with device_svn RV → allowed', async (t) => {
  const { k, admin } = await setup(t);
  await admin.setResourcePolicy(DEVICE_NOT_CONTRAINDICATED);
  await admin.setAttestationPolicy(CPU_POLICY, { id: 'default_cpu' });
  await admin.setAttestationPolicy(GPU_POLICY, { id: 'default_gpu' });
  await admin.setSampleReferenceValue('svn', ['1']);
  await denied(k, guest(k, { device: true }));
  await admin.setSampleReferenceValue('device_svn', ['2']);
  assert.deepEqual(await guest(k, { device: true }).getResource('default/key/1'), SECRET);
  // Without the device evidence there is no gpu0 submod, so the same policy denies.
  await denied(k, guest(k));
});

test('init-data: the policy sees the digest of the exact TOML bytes and the cdh.toml claims as JSON', async (t) => {
  const { k, admin } = await setup(t);
  const toml = [
    'version = "0.1.0"',
    'algorithm = "sha256"',
    '[data]',
    '"cdh.toml" = \'\'\'',
    '[image]',
    'extra_root_certificates = ["-----BEGIN CERTIFICATE-----abc"]',
    "'''",
    '',
  ].join('\n');
  const digest = createHash('sha256').update(toml).digest('base64');
  await admin.setResourcePolicy(`package policy
import rego.v1
default allow := false
allow if {
  ae := input.submods.cpu0["ear.veraison.annotated-evidence"]
  ae.init_data == "${digest}"
  ae.init_data_claims["cdh.toml"].image.extra_root_certificates[0] == "-----BEGIN CERTIFICATE-----abc"
}
`);
  assert.deepEqual(await guest(k, { initData: toml }).getResource('default/key/1'), SECRET);
  // One byte more whitespace changes the digest.
  await denied(k, guest(k, { initData: toml + ' ' }));
  await denied(k, guest(k));
});

test('basic_ear allow_all / deny_all', async (t) => {
  const { k, admin } = await setup(t);
  await admin.setResourcePolicy(samplePolicy('allow_all'));
  assert.deepEqual(await guest(k).getResource('default/key/1'), SECRET);
  await admin.setResourcePolicy(samplePolicy('deny_all'));
  await denied(k, guest(k));
});

test('reference values through the KBS admin API', async (t) => {
  const { k, admin } = await setup(t);
  await admin.setSampleReferenceValue('svn', ['1', '3']);
  assert.deepEqual(JSON.parse(await admin.getReferenceValue('svn')), ['1', '3']);
  const auth = { authorization: `Bearer ${k.adminToken}` };
  const missing = await fetch(`${k.url}/kbs/v0/reference-value/nothing`, { headers: auth });
  assert.equal(missing.status, 401);
  assert.match(((await missing.json()) as { type: string }).type, /\/RvpsError$/);
  const bad = await fetch(`${k.url}/kbs/v0/reference-value`, { method: 'POST', headers: auth, body: '{"version":"9"}' });
  assert.equal(bad.status, 401);
  assert.match(((await bad.json()) as { type: string }).type, /\/RvpsError$/);
  const anon = await fetch(`${k.url}/kbs/v0/reference-value/svn`);
  assert.equal(anon.status, 401);
});

test('init-data with a Kata agent policy: agent_policy_claims reach the resource policy; validated identifiers in the token', async (t) => {
  const { k, admin } = await setup(t);
  const policyData = {
    containers: [
      { OCI: { Annotations: {}, Process: { Args: ['/pause'], User: { UID: 65535 } } } },
      { OCI: { Annotations: { 'io.kubernetes.cri.image-name': 'bitnami/nginx:latest' }, Process: { Args: ['/opt/bitnami/scripts/nginx/run.sh'], User: { UID: 1001 } } } },
    ],
  };
  const toml = [
    'version = "0.1.0"',
    'algorithm = "sha384"',
    '[data]',
    '"policy.rego" = \'\'\'',
    'package agent_policy',
    '',
    'default AllowRequestsFailingPolicy := false',
    '',
    `policy_data := ${JSON.stringify(policyData, null, 2)}`,
    "'''",
    '',
  ].join('\n');
  await admin.setResourcePolicy(`package policy
import rego.v1
default allow := false
allow if {
  input.submods.cpu0["ear.veraison.annotated-evidence"].init_data_claims.agent_policy_claims.containers[1].OCI.Process.Args[0] == "/opt/bitnami/scripts/nginx/run.sh"
}
`);
  const g = guest(k, { initData: toml });
  const token = await g.handshake();
  assert.deepEqual(await g.getResource('default/key/1'), SECRET);
  const claims = (await import('jose')).decodeJwt(token) as any;
  assert.deepEqual(claims.submods.cpu0['ear.trustee.identifiers'].validated, { container_images: ['bitnami/nginx:latest'], container_uids: [65535, 1001] });
});
