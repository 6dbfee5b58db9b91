/**
 * az-tdx-vtpm end to end on evidence these tests make with their own keys: a DCAP PKI (root pinned by injection),
 * TCB Info / QE identity, a TD quote, an RSA vTPM AK, the HCL report and the TPM quote. The positive path gives
 * Trustee's claims; every tampered copy must be refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { AzTdxVtpmVerifier } from '../../../src/verifiers/az-tdx-vtpm/verifier.js';
import { parseAzTdxEvidence } from '../../../src/verifiers/az-tdx-vtpm/evidence.js';
import { VerificationError, type Json, type JsonObject } from '../../../src/verifiers/types.js';
import { NOW, collateralFile, makePki, makeQuote, qeIdentityObject, signedBody, tcbInfoObject, tdBody, type Pki } from '../dcap/support/forge.js';
import { hclReport, pcrBank, rsaAk, signQuote, tpmsAttest, varData, type RsaAk } from './support/forge-vtpm.js';

// testdata README (az-snp-vtpm, Trustee's init-data test): PCR8 for init-data digest 8505e4… is bddacc….
const INIT_DATA = Buffer.from('8505e4e25e50a27c5dc8147af88efbece627fbea55291911eff832d9ee127781', 'hex');
const PCR8 = Buffer.from('bddaccb9c52249e97a31baea61b7d91be8221a16e703d92148d04fb8e9c1dfdd', 'hex');
const REPORT_DATA = createHash('sha384').update('runtime data').digest();

interface World {
  pki: Pki;
  file: string;
  ak: RsaAk;
}

let world: Promise<World> | undefined;
function getWorld(): Promise<World> {
  world ??= (async () => {
    const pki = await makePki();
    const chain = pki.tcbSigner.pem + pki.root.pem;
    const file = collateralFile({
      fmspc: '00a06d080000',
      tee: 'tdx',
      tcbInfoBody: signedBody('tcbInfo', JSON.stringify(tcbInfoObject({ id: 'TDX' })), pki.tcbSigner),
      qeIdentityBody: signedBody('enclaveIdentity', JSON.stringify(qeIdentityObject({ id: 'TD_QE' })), pki.tcbSigner),
      tcbChainPem: chain,
      qeChainPem: chain,
      pckCrl: pki.pckCrl,
      rootCrl: pki.rootCrl,
    });
    return { pki, file, ak: rsaAk() };
  })();
  return world;
}

interface Parts {
  version?: 0 | 1 | 2;
  userData?: string;
  vd?: Buffer;
  /** TD report_data; default SHA-256(var data) ‖ 32 zero bytes. */
  tdReportData?: Buffer;
  nonce?: Buffer;
  pcrs?: Buffer[];
  /** PCR values put into the evidence (default: the ones the quote was made over). */
  evidencePcrs?: Buffer[];
  selected?: number[];
  signer?: RsaAk;
  reportType?: number;
  pki?: Pki;
  tamperMessage?: (m: Buffer) => void;
}

interface Made {
  evidence: Json;
  vd: Buffer;
  hcl: Buffer;
  tdQuote: Buffer;
}

async function make(w: World, p: Parts = {}): Promise<Made> {
  const version = p.version ?? 1;
  const vd = p.vd ?? varData(w.ak, p.userData ?? (version === 2 ? REPORT_DATA.toString('hex') + '00'.repeat(16) : undefined));
  const tdReportData = p.tdReportData ?? Buffer.concat([createHash('sha256').update(vd).digest(), Buffer.alloc(32)]);
  const hcl = hclReport({ varData: vd, tdReportData, reportType: p.reportType });
  const tdQuote = await makeQuote({ version: 4, pki: p.pki ?? w.pki, body: tdBody({ reportData: tdReportData }, false) });
  const pcrs = p.pcrs ?? pcrBank(PCR8);
  const message = tpmsAttest(p.nonce ?? REPORT_DATA, pcrs, p.selected ?? Array.from({ length: 24 }, (_, i) => i));
  const signature = signQuote(p.signer ?? w.ak, message);
  p.tamperMessage?.(message);
  const ep = p.evidencePcrs ?? pcrs;
  const evidence: Json =
    version === 0
      ? { tpm_quote: { signature: [...signature], message: [...message], pcrs: ep.map((x) => [...x]) }, hcl_report: [...hcl], td_quote: [...tdQuote] }
      : {
          version,
          tpm_quote: { signature: signature.toString('hex'), message: message.toString('hex'), pcrs: ep.map((x) => x.toString('hex')) },
          hcl_report: hcl.toString('base64url'),
          td_quote: tdQuote.toString('base64url'),
        };
  return { evidence, vd, hcl, tdQuote };
}

function verifier(w: World, config: JsonObject = {}, warn?: (m: string) => void) {
  return new AzTdxVtpmVerifier(
    { config: { dcap_verifier: { collateral_service: 'file:///collateral.json', ...config } }, ...(warn ? { log: { warn, info: () => {} } } : {}) },
    { dcap: { rootSha256: w.pki.rootSha256, readText: async () => w.file } },
  );
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof VerificationError, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });
}

test('v0, v1 and v2 evidence verify end to end, with Trustee az-tdx-vtpm claims', async () => {
  const w = await getWorld();
  for (const version of [0, 1, 2] as const) {
    const m = await make(w, { version });
    const sets = await verifier(w).verify({ evidence: m.evidence, expectedReportData: REPORT_DATA, expectedInitDataHash: INIT_DATA, now: NOW });
    assert.equal(sets.length, 1);
    assert.equal(sets[0].class, 'cpu');
    const c = sets[0].claims as Record<string, any>;
    assert.equal(c.report_data, REPORT_DATA.toString('hex'), `v${version}`);
    assert.equal(c.init_data, PCR8.toString('hex'));
    assert.equal(c.tpm.pcr08, PCR8.toString('hex'));
    assert.equal(c.tpm.pcr00, createHash('sha256').update('pcr0').digest('hex'));
    assert.equal(c.tpm.pcr23, createHash('sha256').update('pcr23').digest('hex'));
    assert.equal(Object.keys(c.tpm).length, 24);
    // TDX quote claims and DCAP supplemental claims are carried through.
    assert.equal(c.quote.body.mr_td, '7d'.repeat(48));
    assert.equal(c.quote.body.report_data, createHash('sha256').update(m.vd).digest('hex') + '00'.repeat(32));
    assert.equal(c.tcb_status, 'UpToDate');
    assert.equal(c.td_attributes.debug, false);
    assert.equal(c.uefi_event_logs, undefined);
  }
});

test('without expectations the quote still verifies; report data is required', async () => {
  const w = await getWorld();
  const m = await make(w);
  const [s] = await verifier(w).verify({ evidence: m.evidence, expectedReportData: REPORT_DATA, now: NOW });
  assert.equal((s.claims as Record<string, unknown>).init_data, PCR8.toString('hex'));
  await rejectsWith(verifier(w).verify({ evidence: m.evidence, now: NOW }), 'AZ_REPORT_DATA_REQUIRED');
});

test('a quote that does not cover PCR8 yields no init_data claim and cannot satisfy an init-data expectation', async () => {
  const w = await getWorld();
  const m = await make(w, { selected: [0, 1, 2, 3, 4, 5, 6, 7] });
  const [s] = await verifier(w).verify({ evidence: m.evidence, expectedReportData: REPORT_DATA, now: NOW });
  const c = s.claims as Record<string, any>;
  assert.equal(c.init_data, undefined);
  assert.deepEqual(Object.keys(c.tpm), ['pcr00', 'pcr01', 'pcr02', 'pcr03', 'pcr04', 'pcr05', 'pcr06', 'pcr07']);
  await rejectsWith(verifier(w).verify({ evidence: m.evidence, expectedReportData: REPORT_DATA, expectedInitDataHash: INIT_DATA, now: NOW }), 'TPM_INIT_DATA_MISMATCH');
});

test('tampered copies are refused', async () => {
  const w = await getWorld();
  const v = verifier(w);
  const run = (evidence: Json, o: { rd?: Buffer; init?: Buffer } = {}) =>
    v.verify({ evidence, expectedReportData: o.rd ?? REPORT_DATA, expectedInitDataHash: o.init ?? INIT_DATA, now: NOW });

  // TPM quote message byte flipped after signing (in the nonce).
  await rejectsWith(run((await make(w, { tamperMessage: (m) => (m[40] ^= 1) })).evidence), 'TPM_SIGNATURE_INVALID');
  // TPM quote signed by another AK than the HCL report's HCLAkPub.
  await rejectsWith(run((await make(w, { signer: rsaAk() })).evidence), 'TPM_SIGNATURE_INVALID');
  // A PCR value changed in the evidence (quote digest made over the original).
  const changed = pcrBank(PCR8).map((p, i) => (i === 4 ? createHash('sha256').update('evil').digest() : p));
  await rejectsWith(run((await make(w, { evidencePcrs: changed })).evidence), 'TPM_PCR_MISMATCH');
  // Wrong nonce.
  await rejectsWith(run((await make(w)).evidence, { rd: createHash('sha384').update('other').digest() }), 'TPM_NONCE_MISMATCH');
  // Init-data digest that does not produce PCR8 (and one that is not SHA-256).
  await rejectsWith(run((await make(w)).evidence, { init: createHash('sha256').update('other').digest() }), 'TPM_INIT_DATA_MISMATCH');
  await rejectsWith(run((await make(w)).evidence, { init: createHash('sha384').update('x').digest() }), 'TPM_INIT_DATA_MISMATCH');
  // PCR8 in the evidence is not sha256(0^32 ‖ digest) (e.g. the bare digest).
  await rejectsWith(run((await make(w, { pcrs: pcrBank(INIT_DATA) })).evidence), 'TPM_INIT_DATA_MISMATCH');
  // security-cases #6 (trustee#532): the expected digest extended into PCR8 after another value is a replayed /
  // re-extended PCR, not a fresh boot with this init-data.
  const extend = (pcr: Buffer, d: Buffer) => createHash('sha256').update(pcr).update(d).digest();
  const reExtended = extend(extend(Buffer.alloc(32), createHash('sha256').update('earlier init-data').digest()), INIT_DATA);
  await rejectsWith(run((await make(w, { pcrs: pcrBank(reExtended) })).evidence), 'TPM_INIT_DATA_MISMATCH');
  assert.deepEqual(extend(Buffer.alloc(32), INIT_DATA), PCR8); // the README pair is one extend from zero

  // HCL var data changed (user-data edited; AK untouched) while the TD quote still binds the original.
  {
    const m = await make(w, { version: 2 });
    const edited = varData(w.ak, REPORT_DATA.toString('hex') + '11'.repeat(16));
    const tdReportData = Buffer.concat([createHash('sha256').update(m.vd).digest(), Buffer.alloc(32)]);
    const hcl = hclReport({ varData: edited, tdReportData });
    await rejectsWith(run({ ...(m.evidence as JsonObject), hcl_report: hcl.toString('base64url') }), 'AZ_VAR_DATA_MISMATCH');
  }
  // TD quote report_data not SHA-256(var data) (signed that way by the QE: the binding, not the signature, fails).
  await rejectsWith(run((await make(w, { tdReportData: Buffer.alloc(64, 0x33) })).evidence), 'AZ_VAR_DATA_MISMATCH');
  // v2: user-data that does not start with the report data.
  await rejectsWith(run((await make(w, { version: 2, userData: '00'.repeat(64) })).evidence), 'AZ_USER_DATA_MISMATCH');
  await rejectsWith(run((await make(w, { version: 2, vd: varData(w.ak) })).evidence), 'AZ_USER_DATA_MISMATCH');
  // …while v1 does not look at user-data (Trustee behaviour).
  await v.verify({ evidence: (await make(w, { version: 1, userData: '00'.repeat(64) })).evidence, expectedReportData: REPORT_DATA, now: NOW });
  // An SNP HCL report type.
  await rejectsWith(run((await make(w, { reportType: 2 })).evidence), 'AZ_HCL_MALFORMED');
  // TD quote from a PKI that does not chain to the pinned root.
  await rejectsWith(run((await make(w, { pki: await makePki() })).evidence), 'ERR_DCAP_UNTRUSTED_ROOT');
  // TD quote byte flipped (mr_td).
  {
    const m = await make(w);
    const tq = Buffer.from(m.tdQuote);
    tq[48 + 136] ^= 1;
    await rejectsWith(run({ ...(m.evidence as JsonObject), td_quote: tq.toString('base64url') }), 'ERR_DCAP_QUOTE_SIGNATURE');
  }
});

test('DCAP freshness and TCB rules apply to the TD quote', async () => {
  const w = await getWorld();
  const m = await make(w);
  // Collateral nextUpdate is 2025-07-01: after it, refused unless expired collateral is explicitly allowed.
  const later = new Date('2025-07-02T00:00:00Z');
  await rejectsWith(verifier(w).verify({ evidence: m.evidence, expectedReportData: REPORT_DATA, now: later }), 'ERR_DCAP_COLLATERAL_EXPIRED');
  // Only the statuses listed are accepted.
  await rejectsWith(verifier(w, { accepted_tcb_statuses: ['OutOfDate'] }).verify({ evidence: m.evidence, expectedReportData: REPORT_DATA, now: NOW }), 'ERR_DCAP_TCB_STATUS');
  // Insecure switches are announced.
  const warnings: string[] = [];
  verifier(w, { insecure_allow_missing_crls: true }, (s) => warnings.push(s));
  assert.equal(warnings.length, 1);
});

test('malformed evidence is refused with a typed error', () => {
  const bad: Json[] = [
    null,
    [],
    'x',
    { version: 3, tpm_quote: {}, hcl_report: '', td_quote: '' },
    { version: 1, tpm_quote: { signature: 'zz', message: '00', pcrs: ['00'.repeat(32)] }, hcl_report: 'AA', td_quote: 'AA' },
    { version: 1, tpm_quote: { signature: '00', message: '00', pcrs: ['00'.repeat(31)] }, hcl_report: 'AA', td_quote: 'AA' },
    { version: 1, tpm_quote: { signature: '00', message: '00', pcrs: [] }, hcl_report: 'AA', td_quote: 'AA' },
    { version: 1, tpm_quote: { signature: '00', message: '00', pcrs: ['00'.repeat(32)] }, hcl_report: 'A+/A', td_quote: 'AA' },
    { tpm_quote: { signature: [256], message: [0], pcrs: [new Array(32).fill(0)] }, hcl_report: [1], td_quote: [1] },
    { tpm_quote: { signature: [1], message: [0], pcrs: [new Array(32).fill(0)] }, hcl_report: 'AA', td_quote: [1] },
  ];
  for (const b of bad) assert.throws(() => parseAzTdxEvidence(b), (e: unknown) => e instanceof VerificationError && e.code === 'AZ_EVIDENCE_MALFORMED', JSON.stringify(b));
});
