/**
 * Rego engine benchmark: evaluation of a minimal resource policy, of the AS default CPU policy for the sample TEE
 * (both queries, through src/as/policy-engine.ts), of the KBS resource policies on EAR claims, of Trustee's EAR CPU
 * policy on a TDX-shaped input, and compile time. Targets (2-core machine): resource ≤ 20 µs median, EAR CPU
 * ≤ 100 µs, compile ≤ 20 ms. docs/rego.md (Performance) has the measured numbers.
 */
import { existsSync, readFileSync } from 'node:fs';
import { compile, type BuiltinDef } from '../src/rego/index.js';
import { fromJSON, type Value } from '../src/rego/value.js';
import { measure, printSamples, type Sample } from './harness.js';
import { testdataPath } from '../test/support/testdata.js';
import { compileAttestationPolicy } from '../src/as/policy-engine.js';
import { policyInput } from '../src/as/input.js';
import { resourcePolicyText, type ResourcePolicyName } from '../src/policies/resource.js';
import type { Json, JsonObject } from '../src/verifiers/types.js';

export const RESOURCE_POLICY = `package policy
import rego.v1

default allow := false

allow if {
	input["submods"]["cpu0"]["ear.status"] == "affirming"
	input["submods"]["cpu0"]["ear.veraison.annotated-evidence"]["tdx"]
}
`;

export function tdxShapedInput(): Record<string, unknown> {
  const events = [];
  for (let i = 0; i < 40; i++) {
    events.push({
      type_name: i === 10 ? 'EV_EFI_BOOT_SERVICES_APPLICATION' : i === 20 ? 'EV_EVENT_TAG' : 'EV_EFI_VARIABLE_DRIVER_CONFIG',
      details: i === 10 ? { device_paths: ['PciRoot(0x0)', 'File(kernel)'] } : i === 20 ? { string: 'LOADED_IMAGE::LoadOptions' } : { unicode_name: `Var${i}` },
      digests: [{ alg: 'SHA-384', digest: i === 10 ? 'kernel-digest' : i === 20 ? 'params-digest' : 'd'.repeat(96) }],
    });
  }
  return {
    tdx: {
      quote: {
        header: { version: '0400', att_key_type: '0200', tee_type: '81000000', vendor_id: '939a7233f79c4ca9940a0db3957f0607', user_data: 'a'.repeat(40) },
        body: {
          tcb_svn: '0'.repeat(32), mr_seam: 'b'.repeat(96), mrsigner_seam: '0'.repeat(96), seam_attributes: '0'.repeat(16),
          td_attributes: '0000001000000000', xfam: 'e702060000000000', mr_td: 'c'.repeat(96), mr_config_id: '0'.repeat(96),
          mr_owner: '0'.repeat(96), mr_owner_config: '0'.repeat(96), rtmr_0: '1'.repeat(96), rtmr_1: '2'.repeat(96), rtmr_2: '3'.repeat(96),
          rtmr_3: '0'.repeat(96), report_data: 'e'.repeat(128),
        },
      },
      td_attributes: { debug: false, key_locker: false, perfmon: false, protection_keys: false, septve_disable: true },
      tcb_status: 'UpToDate',
      collateral_expiration_status: '0',
      uefi_event_logs: events,
      init_data: 'f'.repeat(96),
      report_data: 'e'.repeat(128),
    },
    init_data_claims: { agent_policy_claims: { containers: [{ OCI: { Annotations: { 'io.kubernetes.cri.image-name': 'busybox' }, Process: { User: { UID: 0 } } } }] } },
  };
}

const REFS: Record<string, Value> = {
  rtmr_1: fromJSON(['2'.repeat(96)]),
  rtmr_2: fromJSON(['3'.repeat(96)]),
  mr_td: fromJSON(['c'.repeat(96)]),
  xfam: fromJSON(['e702060000000000']),
  tdvfkernel: 'kernel-digest',
  tdvfkernelparams: 'params-digest',
};
const qrv: BuiltinDef = { name: 'query_reference_value', args: ['string'], result: 'any', fn: ([id]) => REFS[id as string] ?? [] };

/** The AS policy input for the `sample` TEE as src/as/builtin.ts builds it (sample verifier claims, KBS runtime data). */
export function sampleAsInput(): JsonObject {
  const claims: JsonObject = {
    svn: '1',
    report_data: 'q'.repeat(64),
    launch_digest: 'abcde',
    platform_version: { major: 1, minor: 4 },
    debug: false,
  };
  const runtimeData: Json = {
    nonce: 'AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=',
    'tee-pubkey': { kty: 'EC', crv: 'P-256', alg: 'ES256', x: 'x'.repeat(43), y: 'y'.repeat(43) },
  };
  return policyInput('sample', claims, runtimeData, null);
}

/** Reference values that make the sample TEE affirming (as an operator registering them would). */
export const SAMPLE_RVS: ReadonlyMap<string, Json> = new Map<string, Json>([
  ['launch_digest', ['abcde']],
  ['svn', ['1']],
  ['major_version', 1],
  ['minimum_minor_version', 0],
]);

/** EAR claims as the KBS passes them to the resource policy (the token's payload, see src/as/ear.ts). */
export function earClaimsInput(): JsonObject {
  const iat = 1_790_000_000;
  return {
    eat_profile: 'tag:github.com,2024:confidential-containers/Trustee',
    iat,
    'ear.verifier-id': { developer: 'https://confidentialcontainers.org', build: 'keybroker' },
    submods: {
      cpu0: {
        'ear.status': 'affirming',
        'ear.trustworthiness-vector': { configuration: 2, executables: 3, 'file-system': 0, hardware: 2, 'instance-identity': 0, 'runtime-opaque': 0, 'sourced-data': 0, 'storage-opaque': 0 },
        'ear.appraisal-policy-id': 'default',
        'ear.veraison.annotated-evidence': sampleAsInput(),
        'ear.trustee.identifiers': { validated: {} },
      },
    },
    exp: iat + 300,
    iss: 'CoCo-Attestation-Service',
  };
}

export async function benchRego(): Promise<Record<string, Sample>> {
  const out: Record<string, Sample> = {};
  const resource = compile([{ filename: 'resource.rego', source: RESOURCE_POLICY }]);
  const resInput = { submods: { cpu0: { 'ear.status': 'affirming', 'ear.veraison.annotated-evidence': { tdx: { tcb_status: 'UpToDate' } } } } };
  if (resource.evaluate('data.policy.allow', { input: resInput }) !== true) throw new Error('resource policy bench: unexpected result');
  out.resource = await measure('resource policy evaluate (data.policy.allow)', () => resource.evaluate('data.policy.allow', { input: resInput }));

  // The AS default CPU policy for the sample TEE, through the policy engine the AS uses (trust_claims + extensions).
  const asPolicy = compileAttestationPolicy('default_cpu', readFileSync(new URL('../src/as/policies/default_cpu.rego', import.meta.url), 'utf8'));
  const asInput = sampleAsInput();
  const now = new Date();
  const asOut = asPolicy.evaluate(asInput, SAMPLE_RVS, now);
  const tc = asOut.trustClaims as Record<string, number>;
  if (tc.executables !== 3 || tc.hardware !== 2 || tc.configuration !== 2 || !Array.isArray(asOut.extensions)) throw new Error(`AS sample bench: unexpected result ${JSON.stringify(asOut)}`);
  out.asSample = await measure('AS default CPU policy, sample TEE (2 queries)', () => asPolicy.evaluate(asInput, SAMPLE_RVS, now));

  // The KBS resource policies on EAR claims of a sample-TEE token.
  const ear = earClaimsInput();
  const reqData = { plugin: 'resource', 'resource-path': ['default', 'key', 'id1'], query: {} };
  const expected: Record<Exclude<ResourcePolicyName, 'deny_all'>, boolean> = { default: false, allow_all: true, affirming: true };
  for (const [name, want] of Object.entries(expected) as [Exclude<ResourcePolicyName, 'deny_all'>, boolean][]) {
    const pol = compile([{ filename: 'resource-policy.rego', source: resourcePolicyText(name) }]);
    const got = pol.evaluate('data.policy.allow', { input: ear, data: reqData, now });
    if (got !== want) throw new Error(`resource policy ${name} bench: got ${JSON.stringify(got)}, want ${want}`);
    out[`resource_${name}`] = await measure(`KBS resource policy ${name} (EAR claims)`, () => pol.evaluate('data.policy.allow', { input: ear, data: reqData, now }));
  }

  const cpuPath = testdataPath('policies', 'ear_token', 'ear_default_policy_cpu.rego');
  if (existsSync(cpuPath)) {
    const src = readFileSync(cpuPath, 'utf8');
    const input = tdxShapedInput();
    const pol = compile([{ filename: 'ear_cpu.rego', source: src }], { builtins: [qrv] });
    const claims = pol.evaluate('data.policy.trust_claims', { input }) as Record<string, number>;
    if (claims.executables !== 3 || claims.hardware !== 2 || claims.configuration !== 2) throw new Error(`EAR bench: unexpected claims ${JSON.stringify(claims)}`);
    out.earCpu = await measure('EAR CPU policy evaluate (trust_claims, TDX input)', () => pol.evaluate('data.policy.trust_claims', { input }));
    let n = 0;
    out.compile = await measure('EAR CPU policy compile (uncached)', () => compile([{ filename: `ear_cpu_${n++}.rego`, source: src }], { builtins: [qrv] }), { warmup: 20, batches: 40, batchSize: 1 });
  }
  printSamples('rego engine', Object.values(out));
  return out;
}

if (process.argv[1]?.endsWith('bench/rego.ts')) await benchRego();
