// The default attestation policies against the logic tables of specs/trustee.md §3.5, one TEE at a time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileAttestationPolicy } from '../../src/as/policy-engine.js';
import { DEFAULT_POLICY_IDS, readDefaultPolicy } from '../../src/as/policy-store.js';
import { parseExtensions, parseTrustClaims, statusOf } from '../../src/as/ear.js';
import type { Json, JsonObject } from '../../src/verifiers/types.js';

const now = new Date('2026-06-01T00:00:00Z');

async function run(id: (typeof DEFAULT_POLICY_IDS)[number], input: JsonObject, rvs: Record<string, Json> = {}) {
  const p = compileAttestationPolicy(id, await readDefaultPolicy(id));
  const r = p.evaluate(input, new Map(Object.entries(rvs)), now);
  return { tv: parseTrustClaims(r.trustClaims), ext: parseExtensions(r.extensions) };
}

const base = { runtime_data_claims: null, init_data_claims: null };

test('every default policy compiles and sets all eight trust claims', async () => {
  for (const id of DEFAULT_POLICY_IDS) {
    const { tv } = await run(id, { ...base });
    assert.equal(Object.keys(tv).length, 8, id);
  }
});

test('default_cpu on unknown input: executables 33, hardware 97, configuration 36', async () => {
  const { tv, ext } = await run('default_cpu', { ...base, unknown: {} });
  assert.equal(tv.executables, 33);
  assert.equal(tv.hardware, 97);
  assert.equal(tv.configuration, 36);
  assert.equal(statusOf(tv), 'contraindicated');
  assert.deepEqual(ext, [{ name: 'ear.trustee.identifiers', key: -18, value: { validated: {} } }]);
});

test('default_cpu sample: an empty or partial RV set never yields affirming (security-cases #23)', async () => {
  const sample = { svn: '1', launch_digest: 'abcde', platform_version: { major: 1, minor: 4 }, debug: false };
  const full = { svn: ['1'], launch_digest: ['abcde'], major_version: 1, minimum_minor_version: 1 };
  let { tv } = await run('default_cpu', { ...base, sample }, full);
  assert.equal(statusOf(tv), 'affirming');
  const partial: Record<string, Json>[] = [{}, { ...full, svn: [] }, { ...full, launch_digest: [] }, { svn: ['1'], launch_digest: ['abcde'], major_version: 1 }, { ...full, major_version: 2 }];
  for (const rvs of partial) {
    ({ tv } = await run('default_cpu', { ...base, sample }, rvs));
    assert.notEqual(statusOf(tv), 'affirming', JSON.stringify(rvs));
  }
});

const snpClaims = {
  measurement: 'aa', reported_tcb_bootloader: 10, reported_tcb_microcode: 25, reported_tcb_snp: 23, reported_tcb_tee: 0,
  policy_debug_allowed: false, policy_migrate_ma: false, platform_smt_enabled: true, platform_tsme_enabled: false,
  policy_abi_major: 0, policy_abi_minor: 0, policy_single_socket: false, policy_smt_allowed: true,
};
const snpRvs = {
  snp_launch_measurement: ['aa'], snp_bootloader: [10], snp_microcode: [25], snp_snp_svn: [23], snp_tee_svn: [0],
  snp_smt_enabled: true, snp_tsme_enabled: false, snp_guest_abi_major: 0, snp_guest_abi_minor: 0, snp_single_socket: false, snp_smt_allowed: true,
};

test('default_cpu snp: all RVs → 3/2/2; config mismatch → 3; debug → 36; TCB mismatch → 97', async () => {
  let { tv } = await run('default_cpu', { ...base, snp: snpClaims }, snpRvs);
  assert.deepEqual([tv.executables, tv.hardware, tv.configuration], [3, 2, 2]);
  ({ tv } = await run('default_cpu', { ...base, snp: snpClaims }, { ...snpRvs, snp_smt_enabled: false }));
  assert.equal(tv.configuration, 3);
  ({ tv } = await run('default_cpu', { ...base, snp: { ...snpClaims, policy_debug_allowed: true } }, snpRvs));
  assert.equal(tv.configuration, 36);
  ({ tv } = await run('default_cpu', { ...base, snp: { ...snpClaims, reported_tcb_microcode: 24 } }, snpRvs));
  assert.equal(tv.hardware, 97);
  ({ tv } = await run('default_cpu', { ...base, snp: { ...snpClaims, measurement: 'bb' } }, snpRvs));
  assert.equal(tv.executables, 33);
});

const tdxClaims: JsonObject = {
  quote: { header: { tee_type: '81000000', vendor_id: '939a7233f79c4ca9940a0db3957f0607' }, body: { rtmr_1: 'r1', rtmr_2: 'r2', mr_td: 'td', xfam: 'xf' } },
  tcb_status: 'UpToDate', collateral_expiration_status: '0', td_attributes: { debug: false },
  uefi_event_logs: [
    { type_name: 'EV_EFI_BOOT_SERVICES_APPLICATION', details: { device_paths: ['PciRoot(0x0)', 'File(kernel)'] }, digests: [{ alg: 'SHA-384', digest: 'kd' }] },
    { type_name: 'EV_EVENT_TAG', details: { string: 'LOADED_IMAGE::LoadOptions' }, digests: [{ alg: 'SHA-384', digest: 'pd' }] },
  ],
};
const tdxRvs = { rtmr_1: ['r1'], rtmr_2: ['r2'], mr_td: ['td'], xfam: ['xf'], tdvfkernel: 'kd', tdvfkernelparams: 'pd' };

test('default_cpu tdx: kernel+params → 3, RTMRs only → 4; hardware needs UpToDate and fresh collateral', async () => {
  let { tv } = await run('default_cpu', { ...base, tdx: tdxClaims }, tdxRvs);
  assert.deepEqual([tv.executables, tv.hardware, tv.configuration], [3, 2, 2]);
  ({ tv } = await run('default_cpu', { ...base, tdx: tdxClaims }, { ...tdxRvs, tdvfkernel: 'other' }));
  assert.equal(tv.executables, 4);
  ({ tv } = await run('default_cpu', { ...base, tdx: { ...tdxClaims, tcb_status: 'OutOfDate' } }, tdxRvs));
  assert.equal(tv.hardware, 97);
  ({ tv } = await run('default_cpu', { ...base, tdx: { ...tdxClaims, collateral_expiration_status: '1' } }, tdxRvs));
  assert.equal(tv.hardware, 97);
  ({ tv } = await run('default_cpu', { ...base, tdx: { ...tdxClaims, td_attributes: { debug: true } } }, tdxRvs));
  assert.equal(tv.configuration, 36);
});

test('default_cpu tpm: hardware 2 always, executables 3 only with a trusted AK, configuration 0', async () => {
  let { tv } = await run('default_cpu', { ...base, tpm: { pcr11: 'p', ak_public: 'ak' } }, { tpm_pcr11: ['p'], trusted_aks: ['ak'] });
  assert.deepEqual([tv.executables, tv.hardware, tv.configuration], [3, 2, 0]);
  ({ tv } = await run('default_cpu', { ...base, tpm: { pcr11: 'p', ak_public: 'rogue' } }, { tpm_pcr11: ['p'], trusted_aks: ['ak'] }));
  assert.equal(tv.executables, 33);
});

test('default_cpu az-snp-vtpm / az-tdx-vtpm / se branches', async () => {
  const azsnp = { measurement: 'm', tpm: { pcr11: 'p' }, reported_tcb_bootloader: 1, reported_tcb_microcode: 2, reported_tcb_snp: 3, reported_tcb_tee: 4, platform_smt_enabled: true, platform_tsme_enabled: true, policy_abi_major: 0, policy_abi_minor: 31, policy_single_socket: false, policy_smt_allowed: true };
  const azsnpRvs = { measurement: ['m'], snp_pcr11: ['p'], tcb_bootloader: [1], tcb_microcode: [2], tcb_snp: [3], tcb_tee: [4], smt_enabled: [true], tsme_enabled: [true], abi_major: [0], abi_minor: [31], single_socket: [false], smt_allowed: [true] };
  let { tv } = await run('default_cpu', { ...base, 'az-snp-vtpm': azsnp }, azsnpRvs);
  assert.deepEqual([tv.executables, tv.hardware, tv.configuration], [3, 2, 2]);
  const aztdx = { tpm: { pcr11: 'p' }, quote: tdxClaims.quote, tcb_status: 'UpToDate' };
  ({ tv } = await run('default_cpu', { ...base, 'az-tdx-vtpm': aztdx }, { tdx_pcr11: ['p'], mr_td: ['td'], xfam: ['xf'] }));
  assert.deepEqual([tv.executables, tv.hardware, tv.configuration], [3, 2, 2]);
  ({ tv } = await run('default_cpu', { ...base, se: { cuid: 'c' } }));
  assert.deepEqual([tv.executables, tv.hardware, tv.configuration], [3, 2, 2]);
});

const nras = {
  'x-nvidia-gpu-attestation-report-cert-chain': { 'x-nvidia-cert-ocsp-status': 'good', 'x-nvidia-cert-status': 'valid' },
  'x-nvidia-gpu-attestation-report-cert-chain-fwid-match': true,
  'x-nvidia-gpu-attestation-report-parsed': true,
  'x-nvidia-gpu-attestation-report-signature-verified': true,
  'x-nvidia-gpu-arch-check': true,
  secboot: true,
  dbgstat: 'disabled',
  'x-nvidia-gpu-vbios-version': 'v1',
  'x-nvidia-gpu-driver-version': 'd1',
  'x-nvidia-gpu-vbios-rim-cert-chain': { 'x-nvidia-cert-ocsp-status': 'good', 'x-nvidia-cert-status': 'valid' },
  'x-nvidia-gpu-driver-rim-fetched': true, 'x-nvidia-gpu-driver-rim-measurements-available': true, 'x-nvidia-gpu-driver-rim-schema-validated': true,
  'x-nvidia-gpu-driver-rim-signature-verified': true, 'x-nvidia-gpu-driver-rim-version-match': true,
  'x-nvidia-gpu-vbios-rim-fetched': true, 'x-nvidia-gpu-vbios-rim-measurements-available': true, 'x-nvidia-gpu-vbios-rim-schema-validated': true,
  'x-nvidia-gpu-vbios-rim-signature-verified': true, 'x-nvidia-gpu-vbios-rim-version-match': true,
  measres: 'success',
};

test('default_gpu: NRAS claims → 3/2/2; unknown versions → configuration 3; revoked cert → hardware 97', async () => {
  const rvs = { allowed_vbios_versions: ['v1'], allowed_driver_versions: ['d1'] };
  let { tv } = await run('default_gpu', { ...base, nvidia: nras }, rvs);
  assert.deepEqual([tv.executables, tv.hardware, tv.configuration], [3, 2, 2]);
  ({ tv } = await run('default_gpu', { ...base, nvidia: nras }));
  assert.equal(tv.configuration, 3);
  ({ tv } = await run('default_gpu', { ...base, nvidia: { ...nras, 'x-nvidia-gpu-attestation-report-cert-chain': { 'x-nvidia-cert-ocsp-status': 'revoked', 'x-nvidia-cert-status': 'valid' } } }, rvs));
  assert.equal(tv.hardware, 97);
  ({ tv } = await run('default_gpu', { ...base, nvidia: { ...nras, 'x-nvidia-gpu-driver-rim-version-match': false } }, rvs));
  assert.equal(tv.executables, 33);
  // sampledevice is never trusted by the default policy (Trustee's data.reference is never defined).
  ({ tv } = await run('default_gpu', { ...base, sampledevice: { svn: '2' } }, { device_svn: ['2'] }));
  assert.equal(tv.hardware, 97);
});

test('default_switch and default_ppcie', async () => {
  const sw = {
    'x-nvidia-switch-attestation-report-cert-chain': { 'x-nvidia-cert-ocsp-status': 'good', 'x-nvidia-cert-status': 'valid' },
    'x-nvidia-switch-attestation-report-cert-chain-fwid-match': true, 'x-nvidia-switch-attestation-report-parsed': true,
    'x-nvidia-switch-attestation-report-signature-verified': true, 'x-nvidia-switch-arch-check': true,
    secboot: true, dbgstat: 'disabled', 'x-nvidia-switch-bios-version': 'b1',
    'x-nvidia-switch-bios-rim-cert-chain': { 'x-nvidia-cert-ocsp-status': 'good', 'x-nvidia-cert-status': 'valid' },
    'x-nvidia-switch-bios-rim-fetched': true, 'x-nvidia-switch-bios-rim-measurements-available': true, 'x-nvidia-switch-bios-rim-schema-validated': true,
    'x-nvidia-switch-bios-rim-signature-verified': true, 'x-nvidia-switch-bios-rim-version-match': true, measres: 'success',
  };
  let { tv } = await run('default_switch', { ...base, nvidia: sw }, { allowed_switch_bios_versions: ['b1'] });
  assert.deepEqual([tv.executables, tv.hardware, tv.configuration], [3, 2, 2]);
  ({ tv } = await run('default_switch', { ...base, nvidia: { ...sw, dbgstat: 'enabled' } }, { allowed_switch_bios_versions: ['b1'] }));
  assert.equal(tv.configuration, 36);
  ({ tv } = await run('default_ppcie', { ...base, nvidia: { switch_count: 4, gpu_count: 8 } }));
  assert.deepEqual([tv.executables, tv.hardware, tv.configuration], [0, 0, 2]);
  assert.equal(statusOf(tv), 'affirming');
});

test('referenceValueIds: constant ids of query_reference_value, "all" when an id is computed', async () => {
  const p = compileAttestationPolicy('default_cpu', await readDefaultPolicy('default_cpu'));
  const ids = p.referenceValueIds();
  assert.ok(Array.isArray(ids) && ids.includes('launch_digest') && ids.includes('snp_launch_measurement') && ids.includes('trusted_aks'));
  const q = compileAttestationPolicy('x', 'package policy\nimport rego.v1\nk := "svn"\ntrust_claims := {"hardware": 2} if input.v in query_reference_value(k)\n');
  assert.equal(q.referenceValueIds(), 'all');
});
