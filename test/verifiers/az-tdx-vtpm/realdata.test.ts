/**
 * az-tdx-vtpm on the real Azure TDX CVM evidence (testdata README "az-tdx-vtpm/", now = 2025-06-01).
 *
 * The README: TD quote signatures and PCK chain are checked, but there is **no TCB collateral** for its FMSPC
 * (00806f050000) in the set. So a correct verifier cannot fully accept this evidence offline: the end-to-end
 * verifier must stop at DCAP collateral, and every other check (vTPM quote, PCRs, nonce, HCL binding, claims) is
 * tested here through the same functions the verifier composes, with the TD quote's signatures and chain verified
 * by the DCAP code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readTestdata, testdataSkip } from '../../support/testdata.js';
import { parseAzTdxEvidence, type AzTdxEvidence } from '../../../src/verifiers/az-tdx-vtpm/evidence.js';
import { bindToTdQuote, verifyVtpm } from '../../../src/verifiers/az-tdx-vtpm/vtpm.js';
import { azTdxClaims } from '../../../src/verifiers/az-tdx-vtpm/claims.js';
import { AzTdxVtpmVerifier } from '../../../src/verifiers/az-tdx-vtpm/verifier.js';
import { parseQuote, tdxQuoteClaims, verifyQuoteSignatures, type TdxQuote } from '../../../src/verifiers/dcap/index.js';
import { VerificationError, type Json } from '../../../src/verifiers/types.js';

const NOW = new Date('2025-06-01T00:00:00Z');
const skip = testdataSkip('az-tdx-vtpm');
const CHALLENGE = Buffer.from('challenge');
const PCR00 = '782b20b10f55cc46e2142cc2145d548698073e5beb82752c8d7f9279f0d8a273';
const MR_TD = '024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795d1737b66205949d15469dc8c1ba7ab7b';
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const load = (f: string) => JSON.parse(readTestdata('az-tdx-vtpm', f).toString('utf8')) as Json;

async function rejectsWith(p: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  const run = typeof p === 'function' ? async () => p() : () => p;
  await assert.rejects(run, (e: unknown) => {
    assert.ok(e instanceof VerificationError, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });
}

/** Evidence from the README's stand-alone files (hcl-report.bin, td-quote.bin, tpm-quote-v1.json). */
function filesEvidence(): AzTdxEvidence {
  const q = load('tpm-quote-v1.json') as { signature: string; message: string; pcrs: string[] };
  return {
    version: 1,
    hclReport: new Uint8Array(readTestdata('az-tdx-vtpm', 'hcl-report.bin')),
    tdQuote: new Uint8Array(readTestdata('az-tdx-vtpm', 'td-quote.bin')),
    tpmQuote: { signature: Buffer.from(q.signature, 'hex'), message: Buffer.from(q.message, 'hex'), pcrs: q.pcrs.map((p) => Buffer.from(p, 'hex')) },
  };
}

test('evidence v0 (byte arrays) and v1 (hex / URL-safe base64) decode to the README files', { skip }, () => {
  const want = filesEvidence();
  for (const f of ['evidence-v0.json', 'evidence-v1.json']) {
    const ev = parseAzTdxEvidence(load(f));
    assert.equal(ev.version, f === 'evidence-v0.json' ? 0 : 1);
    assert.deepEqual(Buffer.from(ev.hclReport), Buffer.from(want.hclReport), f);
    assert.deepEqual(Buffer.from(ev.tdQuote), Buffer.from(want.tdQuote), f);
    assert.deepEqual(Buffer.from(ev.tpmQuote.message), Buffer.from(want.tpmQuote.message), f);
    assert.deepEqual(Buffer.from(ev.tpmQuote.signature), Buffer.from(want.tpmQuote.signature), f);
    assert.deepEqual(ev.tpmQuote.pcrs.map(hex), want.tpmQuote.pcrs.map(hex), f);
  }
});

test('TD quote: v4, FMSPC 00806f050000, QE isvsvn 5, signatures and PCK chain verify to the Intel root', { skip }, () => {
  const q = parseQuote(filesEvidence().tdQuote) as TdxQuote;
  assert.equal(q.kind, 'tdx');
  assert.equal(q.header.version, 4);
  assert.equal(hex(q.body.mrTd), MR_TD);
  assert.equal(hex(q.body.tdAttributes), '0000000000000000');
  for (const r of q.body.rtmr) assert.equal(hex(r), '00'.repeat(48));
  assert.equal(q.signatureData.certification.qeReport.isvSvn, 5);
  const sig = verifyQuoteSignatures(q, { now: NOW });
  assert.equal(hex(sig.pck.fmspc), '00806f050000');
  // PCK 2023-09-13 → 2030-09-13: before it, the chain is refused.
  assert.throws(() => verifyQuoteSignatures(q, { now: new Date('2023-01-01T00:00:00Z') }), VerificationError);
});

test('vTPM checks pass with nonce "challenge"; HCL var-data binds to the TD quote; Trustee claims', { skip }, () => {
  for (const f of ['evidence-v0.json', 'evidence-v1.json']) {
    const ev = parseAzTdxEvidence(load(f));
    const vtpm = verifyVtpm(ev, CHALLENGE);
    assert.equal(vtpm.hcl.reportType, 4);
    assert.deepEqual(vtpm.covered, Array.from({ length: 24 }, (_, i) => i));
    const q = parseQuote(ev.tdQuote) as TdxQuote;
    // README: td-quote.report_data[0:32] == SHA-256(var data), checked here independently of src/.
    assert.equal(hex(q.body.reportData.subarray(0, 32)), createHash('sha256').update(vtpm.hcl.varData).digest('hex'));
    bindToTdQuote(vtpm, q.body.reportData);
    const sig = verifyQuoteSignatures(q, { now: NOW });
    const claims = azTdxClaims(tdxQuoteClaims(q, sig.pck.platformInstanceId), vtpm) as Record<string, any>;
    assert.equal(claims.report_data, '6368616c6c656e6765', f);
    assert.equal(claims.tpm.pcr00, PCR00, f);
    assert.equal(Object.keys(claims.tpm).length, 24);
    assert.equal(claims.init_data, '00'.repeat(32)); // PCR8 of this VM is all zero
    assert.equal(claims.quote.body.mr_td, MR_TD);
    assert.equal(claims.td_attributes.debug, false);
    assert.equal(claims.quote.body.rtmr_0, '00'.repeat(48));
  }
});

test('end to end: the verifier stops at DCAP collateral (none for this FMSPC in the set)', { skip }, async () => {
  const evidence = load('evidence-v1.json');
  // Nothing configured: refused for lack of collateral, after the vTPM checks passed.
  await rejectsWith(new AzTdxVtpmVerifier({ config: {} }).verify({ evidence, expectedReportData: CHALLENGE, now: NOW }), 'ERR_DCAP_COLLATERAL_UNAVAILABLE');
  // The only Intel collateral in the set (tdx/, FMSPC 00A06D080000) belongs to another platform and must not be used.
  const chain = readTestdata('trust-anchors', 'Intel_SGX_TCB_Signing_chain.pem').toString('latin1');
  const enc = (s: string) => JSON.stringify(encodeURIComponent(s));
  const file =
    `{"collaterals":{"tcbinfos":[{"fmspc":"00A06D080000","tdx_tcbinfo":${readTestdata('tdx', 'tcbInfo.json').toString('utf8')}}],` +
    `"tdqeidentity":${readTestdata('tdx', 'enclaveIdentity.json').toString('utf8')},` +
    `"certificates":{"TCB-Info-Issuer-Chain":${enc(chain)},"SGX-Enclave-Identity-Issuer-Chain":${enc(chain)}},"rootcacrl":""}}`;
  const v = new AzTdxVtpmVerifier(
    { config: { dcap_verifier: { collateral_service: 'file:///c.json', insecure_allow_missing_crls: true, insecure_allow_expired_tcb_signing_cert: true } } },
    { dcap: { readText: async () => file } },
  );
  await assert.rejects(v.verify({ evidence, expectedReportData: CHALLENGE, now: new Date('2025-11-01T00:00:00Z') }), (e: unknown) => {
    assert.ok(e instanceof VerificationError);
    assert.equal(e.code, 'ERR_DCAP_COLLATERAL_NOT_FOUND', e.message);
    return true;
  });
  // The vTPM checks run first: a wrong nonce is refused before any collateral is looked for.
  await rejectsWith(new AzTdxVtpmVerifier({ config: {} }).verify({ evidence, expectedReportData: Buffer.from('challengf'), now: NOW }), 'TPM_NONCE_MISMATCH');
  await rejectsWith(new AzTdxVtpmVerifier({ config: {} }).verify({ evidence, now: NOW }), 'AZ_REPORT_DATA_REQUIRED');
});

test('real evidence tampered: each copy is refused by the check it breaks', { skip }, async () => {
  const base = filesEvidence();
  const vtpm = () => verifyVtpm(base, CHALLENGE);
  vtpm(); // the untampered copy passes

  // TPM quote message byte flipped (inside the PCR digest) → signature fails.
  const msg = Buffer.from(base.tpmQuote.message);
  msg[msg.length - 1] ^= 1;
  await rejectsWith(() => verifyVtpm({ ...base, tpmQuote: { ...base.tpmQuote, message: msg } }, CHALLENGE), 'TPM_SIGNATURE_INVALID');
  // Signature byte flipped.
  const sig = Buffer.from(base.tpmQuote.signature);
  sig[0] ^= 1;
  await rejectsWith(() => verifyVtpm({ ...base, tpmQuote: { ...base.tpmQuote, signature: sig } }, CHALLENGE), 'TPM_SIGNATURE_INVALID');
  // PCR value changed.
  const pcrs = base.tpmQuote.pcrs.map((p) => Buffer.from(p));
  pcrs[0][0] ^= 1;
  await rejectsWith(() => verifyVtpm({ ...base, tpmQuote: { ...base.tpmQuote, pcrs } }, CHALLENGE), 'TPM_PCR_MISMATCH');
  // Wrong nonce: reversed, truncated, padded (the az rule is the exact digest, no padding).
  for (const n of [Buffer.from('challenge').reverse(), Buffer.from('challeng'), Buffer.concat([CHALLENGE, Buffer.alloc(1)])]) {
    await rejectsWith(() => verifyVtpm(base, n), 'TPM_NONCE_MISMATCH');
  }
  // Init-data: PCR8 is zero here, so any expected digest mismatches; a non-SHA-256 digest is refused too.
  await rejectsWith(() => verifyVtpm(base, CHALLENGE, createHash('sha256').update('init').digest()), 'TPM_INIT_DATA_MISMATCH');
  await rejectsWith(() => verifyVtpm(base, CHALLENGE, createHash('sha384').update('init').digest()), 'TPM_INIT_DATA_MISMATCH');
  // v2 evidence needs HCL user-data starting with the report data; this VM's var data has none that matches.
  await rejectsWith(() => verifyVtpm({ ...base, version: 2 }, CHALLENGE), 'AZ_USER_DATA_MISMATCH');

  // Trustee's negative: HCL byte 0x880 + 1 (inside the var data) → "TDX Quote report data mismatch".
  const hcl = Buffer.from(base.hclReport);
  hcl[0x880] += 1;
  const q = parseQuote(base.tdQuote) as TdxQuote;
  const tampered = { ...base, hclReport: hcl };
  await rejectsWith(() => bindToTdQuote({ hcl: verifyVtpm(tampered, CHALLENGE).hcl }, q.body.reportData), 'AZ_VAR_DATA_MISMATCH');
  await rejectsWith(new AzTdxVtpmVerifier({ config: {} }).verify({ evidence: { version: 1, hcl_report: hcl.toString('base64url'), td_quote: Buffer.from(base.tdQuote).toString('base64url'), tpm_quote: load('tpm-quote-v1.json') }, expectedReportData: CHALLENGE, now: NOW }), 'AZ_VAR_DATA_MISMATCH');
  // HCL report type changed to SNP (2): not an az-tdx-vtpm report.
  const snp = Buffer.from(base.hclReport);
  snp.writeUInt32LE(2, 32 + 1184 + 8);
  await rejectsWith(() => verifyVtpm({ ...base, hclReport: snp }, CHALLENGE), 'AZ_HCL_MALFORMED');
  // TD quote: report_data byte flipped → the quote signature no longer verifies.
  const tq = Buffer.from(base.tdQuote);
  tq[48 + 520 + 40] ^= 1;
  await rejectsWith(() => verifyQuoteSignatures(parseQuote(tq), { now: NOW }), 'ERR_DCAP_QUOTE_SIGNATURE');
});
