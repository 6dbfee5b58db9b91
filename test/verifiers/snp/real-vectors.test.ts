// The SNP vectors from real AMD hardware in ../shared/testdata, verified at the README's fixed "now"
// (2025-06-01T00:00:00Z) against the AMD trust anchors there, with the values the README lists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readTestdata, testdataPath, testdataSkip } from '../../support/testdata.js';
import { SnpVerifier } from '../../../src/verifiers/snp/verifier.js';
import { VerificationError, type Json, type JsonObject } from '../../../src/verifiers/types.js';
import { parseAmdCert, pemToDers, endorsementTcb, hwid, productName } from '../../../src/verifiers/snp/certs.js';
import { parseReport } from '../../../src/verifiers/snp/layout.js';
import { checkTcbBinding } from '../../../src/verifiers/snp/verify.js';

const NOW = new Date('2025-06-01T00:00:00Z');
const skip = testdataSkip('snp');

function verifier(extra: JsonObject = {}, warnings: string[] = []) {
  return new SnpVerifier({
    config: { snp_verifier: { trust_anchors_dir: testdataPath('trust-anchors'), crl: 'best-effort', ...extra } },
    log: { warn: (m) => warnings.push(m), info: () => {} },
  });
}

function evidence(report: Uint8Array, certs: [string, Uint8Array][]): Json {
  return {
    attestation_report: Buffer.from(report).toString('base64'),
    cert_chain: certs.map(([t, der]) => ({ cert_type: t, data: [...der] })),
  };
}

const milanReport = () => new Uint8Array(readTestdata('snp', 'test-report.bin'));
const milanVcek = () => new Uint8Array(readTestdata('snp', 'test-vcek.der'));

async function rejects(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (e: unknown) => e instanceof VerificationError && e.code === code);
}

test('snp/test-report.bin (v2 Milan, VCEK) verifies with README values', { skip }, async () => {
  const warnings: string[] = [];
  const rd = Buffer.from('ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e2', 'hex');
  const [cs] = await verifier({}, warnings).verify({ evidence: evidence(milanReport(), [['VCEK', milanVcek()]]), now: NOW, expectedReportData: rd, expectedInitDataHash: new Uint8Array(32) });
  const c = cs.claims;
  assert.equal(cs.class, 'cpu');
  assert.equal(c.measurement, 'a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c');
  assert.equal(c.report_data, rd.toString('hex') + '00'.repeat(32));
  assert.equal(c.init_data, '00'.repeat(32));
  assert.match(String(c.chip_id), /^c38427a3.*477524e$/);
  assert.deepEqual([c.reported_tcb_bootloader, c.reported_tcb_tee, c.reported_tcb_snp, c.reported_tcb_microcode], [3, 0, 8, 115]);
  assert.equal(c.reported_tcb_fmc, undefined);
  assert.equal(c.guest_svn, 4);
  assert.equal(c.family_id, '01' + '00'.repeat(15));
  assert.equal(c.image_id, '02' + '00'.repeat(15));
  // policy 0x3001f: ABI 0.31, SMT allowed, debug off
  assert.equal(c.policy_abi_major, 0);
  assert.equal(c.policy_abi_minor, 31);
  assert.equal(c.policy_smt_allowed, true);
  assert.equal(c.policy_debug_allowed, false);
  assert.equal(c.policy_migrate_ma, false);
  assert.equal(c.vmpl, 0);
  assert.equal(c.signing_key, 'vcek');
  assert.equal(c.generation, 'Milan');
  assert.equal(c.report_version, 2);
  assert.ok(warnings.some((w) => /revocation .* not checked/.test(w)), 'best-effort CRL mode warns');
});

test('test-report.bin: wrong report_data / init-data digest rejected', { skip }, async () => {
  const ev = evidence(milanReport(), [['VCEK', milanVcek()]]);
  await rejects(verifier().verify({ evidence: ev, now: NOW, expectedReportData: new Uint8Array(48).fill(1) }), 'SNP_REPORT_DATA_MISMATCH');
  await rejects(verifier().verify({ evidence: ev, now: NOW, expectedInitDataHash: new Uint8Array(32).fill(1) }), 'SNP_HOST_DATA_MISMATCH');
});

test('test-report.bin: byte 42 flipped → signature rejected', { skip }, async () => {
  const r = milanReport();
  r[42] ^= 0xff;
  await rejects(verifier().verify({ evidence: evidence(r, [['VCEK', milanVcek()]]), now: NOW }), 'SNP_SIGNATURE_INVALID');
});

test('test-report.bin: byte 384 (reported_tcb) flipped → TCB check fails', { skip }, async () => {
  const r = milanReport();
  r[384] ^= 0x01;
  assert.throws(() => checkTcbBinding(parseReport(r), parseAmdCert(milanVcek()), 'Milan'), (e: unknown) => e instanceof VerificationError && e.code === 'SNP_TCB_MISMATCH');
  await rejects(verifier().verify({ evidence: evidence(r, [['VCEK', milanVcek()]]), now: NOW }), 'SNP_TCB_MISMATCH');
});

test('test-report.bin: fails closed without a CRL by default, and offline without anchors', { skip }, async () => {
  const ev = evidence(milanReport(), [['VCEK', milanVcek()]]);
  const strict = new SnpVerifier({ config: { snp_verifier: { trust_anchors_dir: testdataPath('trust-anchors') } } });
  await rejects(strict.verify({ evidence: ev, now: NOW }), 'SNP_CRL_UNAVAILABLE');
  const noAnchors = new SnpVerifier({ config: { snp_verifier: { crl: 'best-effort' } } });
  await assert.rejects(noAnchors.verify({ evidence: ev, now: NOW }), /milan_ask_ark_asvk\.pem/);
});

test('test-report.bin: VCEK outside its validity (now = 2031) rejected', { skip }, async () => {
  const ev = evidence(milanReport(), [['VCEK', milanVcek()]]);
  await rejects(verifier().verify({ evidence: ev, now: new Date('2031-01-01T00:00:00Z') }), 'SNP_CERT_EXPIRED');
});

test('test-report.bin: the Milan VCEK presented as a VLEK is refused', { skip }, async () => {
  await rejects(verifier().verify({ evidence: evidence(milanReport(), [['VLEK', milanVcek()]]), now: NOW }), 'SNP_CERT_CHAIN');
});

test('test-vcek-invalid-{legacy,new}.der: both hwID encodings parse; signature does not chain', { skip }, async () => {
  const expected = Uint8Array.from({ length: 64 }, (_, i) => i);
  for (const f of ['test-vcek-invalid-legacy.der', 'test-vcek-invalid-new.der']) {
    const der = new Uint8Array(readTestdata('snp', f));
    const cert = parseAmdCert(der, f);
    assert.deepEqual(hwid(cert), expected, f);
    const tcb = endorsementTcb(cert);
    for (const k of ['bootloader', 'tee', 'snp', 'microcode'] as const) assert.equal(typeof tcb[k], 'number');
    await assert.rejects(verifier().verify({ evidence: evidence(milanReport(), [['VCEK', der]]), now: NOW }), VerificationError);
  }
});

test('snp/test-vlek-report.bin (v3 Milan, VLEK, VMPL 1)', { skip }, async () => {
  const report = new Uint8Array(readTestdata('snp', 'test-vlek-report.bin'));
  const vlek = new Uint8Array(readTestdata('snp', 'test-vlek.der'));
  const ev = evidence(report, [['VLEK', vlek]]);
  // VMPL 1 is refused by default (VMPL 0 expected)...
  await rejects(verifier().verify({ evidence: ev, now: NOW }), 'SNP_VMPL');
  // ...and accepted when configured.
  const rd = Buffer.from(report.subarray(0x50, 0x90));
  const [cs] = await verifier({ vmpl: 1 }).verify({ evidence: ev, now: NOW, expectedReportData: rd });
  const c = cs.claims;
  assert.equal(c.measurement, '8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df2a570d7bf0');
  assert.match(String(c.report_data), /^819770b7.*a7bc27ca$/);
  assert.deepEqual([c.reported_tcb_bootloader, c.reported_tcb_snp, c.reported_tcb_microcode], [4, 24, 217]);
  assert.equal(c.signing_key, 'vlek');
  assert.equal(c.vmpl, 1);
  assert.equal(c.chip_id, '00'.repeat(64));
  assert.equal(c.policy_smt_allowed, true); // 0x30000
  assert.equal(c.policy_abi_minor, 0);
  // VLEK expired 2025-12-10
  await rejects(verifier({ vmpl: 1 }).verify({ evidence: ev, now: new Date('2026-01-01T00:00:00Z') }), 'SNP_CERT_EXPIRED');
  // a VLEK-signed report cannot be passed off with a VCEK
  await rejects(verifier({ vmpl: 1 }).verify({ evidence: evidence(report, [['VCEK', milanVcek()]]), now: NOW }), 'SNP_CERT_CHAIN');
});

test('coco-as/e2e/evidence.json (Genoa v3, sev-crate JSON)', { skip: testdataSkip('coco-as/e2e/evidence.json') }, async () => {
  const ev = JSON.parse(readTestdata('coco-as', 'e2e', 'evidence.json').toString('utf8')) as Json;
  const rd = Buffer.from('7e7320889600c7ac133aea7b896c51f41026002982292a7369559796999c1bf929eef3ff23c46e858f0b1982f9a92b17c51b578d958cde6b0c92978f150cf9b0', 'hex');
  const [cs] = await verifier().verify({ evidence: ev, now: NOW, expectedReportData: rd, expectedInitDataHash: new Uint8Array(32) });
  const c = cs.claims;
  assert.equal(c.generation, 'Genoa');
  assert.equal(c.measurement, '6a6519d757e68c2e939c9dbbbc1828498e8de35d2766dd05f1a2cca5059d0cf4ae62a36d75c837974dd50b315506e73e');
  assert.equal(c.report_data, rd.toString('hex'));
  assert.match(String(c.chip_id), /^371c55d6.*8718e8$/);
  assert.deepEqual([c.reported_tcb_bootloader, c.reported_tcb_tee, c.reported_tcb_snp, c.reported_tcb_microcode], [10, 0, 23, 25]);
  assert.equal(c.report_version, 3);
  // The Genoa VCEK does not chain to the Milan anchors: a Milan CPUID is a wrong-generation claim.
  const forged = JSON.parse(JSON.stringify(ev)) as { attestation_report: { cpuid_mod_id: number } };
  forged.attestation_report.cpuid_mod_id = 0x01;
  await rejects(verifier().verify({ evidence: forged as unknown as Json, now: NOW }), 'SNP_GENERATION_MISMATCH');
  // A mutated JSON field changes the rebuilt bytes: signature fails.
  const mutated = JSON.parse(JSON.stringify(ev)) as { attestation_report: { measurement: number[] } };
  mutated.attestation_report.measurement[0] ^= 1;
  await rejects(verifier().verify({ evidence: mutated as unknown as Json, now: NOW }), 'SNP_SIGNATURE_INVALID');
});

test('az-snp-vtpm: the SNP reports inside HCL reports verify with their VCEKs', { skip: testdataSkip('az-snp-vtpm') }, async () => {
  const cases: { name: string; hcl: Uint8Array; vcekDer: Uint8Array; gen: string; tcb: number[]; measurement?: RegExp }[] = [];
  const v1 = JSON.parse(readTestdata('az-snp-vtpm', 'evidence-v1.json').toString('utf8')) as { hcl_report: string; vcek: string };
  cases.push({ name: 'evidence-v1', hcl: new Uint8Array(Buffer.from(v1.hcl_report, 'base64url')), vcekDer: new Uint8Array(Buffer.from(v1.vcek, 'base64url')), gen: 'Milan', tcb: [4, 0, 24, 219], measurement: /^6a063be9.*f9401e$/ });
  for (const [f, gen, tcb, m] of [['evidence-v0.json', 'Milan', [4, 0, 24, 219], /^6a063be9.*f9401e$/], ['evidence-genoa.json', 'Genoa', [10, 0, 23, 84], undefined]] as const) {
    const e = JSON.parse(readTestdata('az-snp-vtpm', f).toString('utf8')) as { report: number[]; vcek: string };
    cases.push({ name: f, hcl: Uint8Array.from(e.report), vcekDer: pemToDers(e.vcek)[0], gen, tcb: [...tcb], ...(m ? { measurement: m } : {}) });
  }
  cases.push({ name: 'hcl-report.bin', hcl: new Uint8Array(readTestdata('az-snp-vtpm', 'hcl-report.bin')), vcekDer: pemToDers(readTestdata('az-snp-vtpm', 'vcek.pem').toString('utf8'))[0], gen: 'Milan', tcb: [3, 0, 8, 115], measurement: /^9ac48fca.*c315$/ });
  for (const k of cases) {
    const report = k.hcl.subarray(32, 32 + 1184);
    assert.match(productName(parseAmdCert(k.vcekDer)) ?? '', new RegExp(`^${k.gen}`), k.name);
    const [cs] = await verifier().verify({ evidence: evidence(report, [['VCEK', k.vcekDer]]), now: NOW });
    assert.equal(cs.claims.generation, k.gen, k.name);
    assert.deepEqual([cs.claims.reported_tcb_bootloader, cs.claims.reported_tcb_tee, cs.claims.reported_tcb_snp, cs.claims.reported_tcb_microcode], k.tcb, k.name);
    if (k.measurement) assert.match(String(cs.claims.measurement), k.measurement, k.name);
  }
});
