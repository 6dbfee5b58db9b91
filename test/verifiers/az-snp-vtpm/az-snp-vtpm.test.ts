// az-snp-vtpm on the real Azure CVM evidence (README values, now = 2025-06-01) and the README's negatives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readTestdata, testdataPath, testdataSkip } from '../../support/testdata.js';
import { AzSnpVtpmVerifier } from '../../../src/verifiers/az-snp-vtpm/verifier.js';
import { parseHclReport, parseVarData } from '../../../src/verifiers/az-snp-vtpm/hcl.js';
import { pemToDers } from '../../../src/verifiers/snp/certs.js';
import { VerificationError, type Json } from '../../../src/verifiers/types.js';

const NOW = new Date('2025-06-01T00:00:00Z');
const skip = testdataSkip('az-snp-vtpm');
const CHALLENGE = Buffer.from('challenge');
const v = () => new AzSnpVtpmVerifier({ config: { snp_verifier: { trust_anchors_dir: testdataPath('trust-anchors'), crl: 'best-effort' } } });
const load = (f: string) => JSON.parse(readTestdata('az-snp-vtpm', f).toString('utf8')) as Record<string, unknown>;

async function rejects(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof VerificationError, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });
}

test('evidence v0 / v1 (Milan) verify with nonce "challenge"', { skip }, async () => {
  for (const f of ['evidence-v0.json', 'evidence-v1.json']) {
    const [cs] = await v().verify({ evidence: load(f) as Json, now: NOW, expectedReportData: CHALLENGE });
    assert.equal(cs.claims.report_data, '6368616c6c656e6765', f);
    assert.equal((cs.claims.tpm as Record<string, string>).pcr00, 'e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f48dced', f);
    assert.equal(cs.claims.generation, 'Milan');
    assert.equal(cs.claims.reported_tcb_microcode, '219');
    assert.match(Buffer.from(String(cs.claims.measurement), 'base64').toString('hex'), /^6a063be9.*f9401e$/);
    await rejects(v().verify({ evidence: load(f) as Json, now: NOW, expectedReportData: Buffer.from('challengf') }), 'TPM_NONCE_MISMATCH');
  }
});

test('evidence v2: user-data must start with the report data', { skip }, async () => {
  const rd = Buffer.from('982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef', 'hex');
  const [cs] = await v().verify({ evidence: load('evidence-v2.json') as Json, now: NOW, expectedReportData: rd });
  assert.equal(cs.claims.report_data, rd.toString('hex'));
  assert.equal((cs.claims.tpm as Record<string, string>).pcr00, '84275b2f4312cd4fc6cbe6b152ad3c3683e513d9f1e23c34fca160c8cca7a6a7');
  // Trustee test_verify_user_data: report_data 123abc → user-data mismatch
  await rejects(v().verify({ evidence: load('evidence-v2.json') as Json, now: NOW, expectedReportData: Buffer.from('123abc', 'hex') }), 'AZ_USER_DATA_MISMATCH');
});

test('evidence-genoa (v0, Genoa)', { skip }, async () => {
  const nonce = Buffer.from('0218488bae25d2509232bf676f1a66a30d7372add909109b36016ef136f2938ca05475f8b46094de6b64270ea35d950f', 'hex');
  const [cs] = await v().verify({ evidence: load('evidence-genoa.json') as Json, now: NOW, expectedReportData: nonce });
  assert.equal(cs.claims.generation, 'Genoa');
  assert.equal((cs.claims.tpm as Record<string, string>).pcr00, 'afd689d0bb1c5f36f023fbaf574135f555a28a10c1f6b938d2a25e70c7783338');
  assert.deepEqual([cs.claims.reported_tcb_bootloader, cs.claims.reported_tcb_snp, cs.claims.reported_tcb_microcode], ['10', '23', '84']);
});

function hclEvidence(hcl: Uint8Array, quote: Record<string, unknown>): Json {
  const vcek = pemToDers(readTestdata('az-snp-vtpm', 'vcek.pem').toString('utf8'))[0];
  return { version: 1, hcl_report: Buffer.from(hcl).toString('base64url'), tpm_quote: quote as Json, vcek: Buffer.from(vcek).toString('base64url') };
}

test('hcl-report.bin + tpm-quote-v1.json (SNP v2) and the README negatives', { skip }, async () => {
  const hcl = new Uint8Array(readTestdata('az-snp-vtpm', 'hcl-report.bin'));
  const quote = load('tpm-quote-v1.json') as { signature: string; message: string; pcrs: string[] };
  const [cs] = await v().verify({ evidence: hclEvidence(hcl, quote), now: NOW, expectedReportData: CHALLENGE });
  assert.match(Buffer.from(String(cs.claims.measurement), 'base64').toString('hex'), /^9ac48fca.*c315$/);
  assert.match((cs.claims.tpm as Record<string, string>).pcr00, /^f3a7e99a.*99be$/);
  assert.equal(cs.claims.snp_report_version, 2);

  const m1 = Uint8Array.from(hcl); m1[0x1a6] = 0; // reported_tcb.snp
  await rejects(v().verify({ evidence: hclEvidence(m1, quote), now: NOW, expectedReportData: CHALLENGE }), 'SNP_TCB_MISMATCH');
  const m2 = Uint8Array.from(hcl); m2[0x6e0] += 1; // inside the variable data
  await rejects(v().verify({ evidence: hclEvidence(m2, quote), now: NOW, expectedReportData: CHALLENGE }), 'AZ_VAR_DATA_MISMATCH');
  const m3 = Uint8Array.from(hcl); m3[0x540] = 0; // breaks the HCLAkPub JSON
  assert.throws(() => parseVarData(parseHclReport(m3).varData), /AKpub|JSON/);
  await assert.rejects(v().verify({ evidence: hclEvidence(m3, quote), now: NOW, expectedReportData: CHALLENGE }), VerificationError);

  const sig = Buffer.from(quote.signature, 'hex'); sig[0] ^= 1;
  await rejects(v().verify({ evidence: hclEvidence(hcl, { ...quote, signature: sig.toString('hex') }), now: NOW, expectedReportData: CHALLENGE }), 'TPM_SIGNATURE_INVALID');
  await rejects(v().verify({ evidence: hclEvidence(hcl, quote), now: NOW, expectedReportData: Buffer.from('challenge').reverse() }), 'TPM_NONCE_MISMATCH');
  const pcrs = [...quote.pcrs]; pcrs[0] = (parseInt(pcrs[0].slice(0, 2), 16) ^ 1).toString(16).padStart(2, '0') + pcrs[0].slice(2);
  await rejects(v().verify({ evidence: hclEvidence(hcl, { ...quote, pcrs }), now: NOW, expectedReportData: CHALLENGE }), 'TPM_PCR_MISMATCH');
  // a quote signed by another vTPM's AK (evidence-v1's) against this HCL report's HCLAkPub
  const other = load('evidence-v1.json').tpm_quote as Record<string, unknown>;
  await rejects(v().verify({ evidence: hclEvidence(hcl, other), now: NOW, expectedReportData: CHALLENGE }), 'TPM_SIGNATURE_INVALID');
  // report data is required; init data goes through PCR8
  await rejects(v().verify({ evidence: hclEvidence(hcl, quote), now: NOW }), 'AZ_REPORT_DATA_REQUIRED');
  await rejects(v().verify({ evidence: hclEvidence(hcl, quote), now: NOW, expectedReportData: CHALLENGE, expectedInitDataHash: Buffer.alloc(32, 1) }), 'TPM_INIT_DATA_MISMATCH');
});
