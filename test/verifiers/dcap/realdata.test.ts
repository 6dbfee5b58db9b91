/**
 * DCAP verification on the real Intel evidence in ../shared/testdata (README "tdx/", "sgx/", "coco-as/").
 * Expected values are the README's (checked there with OpenSSL / Python) and Trustee's golden claims file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseQuote, type TdxQuote } from '../../../src/verifiers/dcap/quote.js';
import { parseSignedQeIdentity, parseSignedTcbInfo, type Collateral } from '../../../src/verifiers/dcap/collateral.js';
import { INTEL_SGX_ROOT_CA_SHA256, splitPem, verifyQuote, verifyQuoteSignatures } from '../../../src/verifiers/dcap/verify.js';
import { tdxQuoteClaims } from '../../../src/verifiers/dcap/claims.js';
import { createDcapVerifier } from '../../../src/verifiers/dcap/verifier.js';
import { readTestdata, testdataSkip } from '../../support/testdata.js';

const SIG_NOW = new Date('2025-06-01T00:00:00Z');
const COLLATERAL_NOW = new Date('2025-11-01T00:00:00Z');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const skip = testdataSkip('tdx');

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { code?: string }).code ?? 'no code';
  }
  return 'no error';
}

test('pinned root = SHA-256 of trust-anchors/Intel_SGX_Root_CA.pem (Intel published 44:A0:19:6B…)', { skip }, () => {
  const [root] = splitPem(readTestdata('trust-anchors', 'Intel_SGX_Root_CA.pem').toString('latin1'));
  assert.equal(root.fingerprint256.replace(/:/g, '').toLowerCase(), INTEL_SGX_ROOT_CA_SHA256);
  assert.equal(INTEL_SGX_ROOT_CA_SHA256, '44A0196B2B99F889B8E149E95B807A350E7424964399E885A7CBB8CCFAB674D3'.toLowerCase());
});

const vectors = [
  {
    file: ['tdx', 'tdx_quote_4.dat'],
    version: 4,
    fmspc: '50806f000000',
    sgxComps: [5, 5, 13, 2, 3, 1, 0, 3],
    pceSvn: 11,
    qeSvn: 4,
    mrTd: '705ee9381b8633a9fbe532b52345e8433343d2868959f57889d84ca377c395b689cac1599ccea1b7d420483a9ce5f031',
    reportData: '7c71fe2c86eff65a7cf8dbc22b3275689fd0464a267baced1bf94fc1324656aeb755da3d44d098c0c87382f3a5f85b45c8a28fee1d3bdb38342bf96671501429',
  },
  {
    file: ['tdx', 'tdx_quote_5.dat'],
    version: 5,
    fmspc: '90c06f000000',
    qeSvn: 6,
    mrTd: 'dfba221b48a22af8511542ee796603f37382800840dcd978703909bf8e64d4c8a1e9de86e7c9638bfcba422f3886400a',
    reportDataPrefix: '6d6ab13b046cff60',
  },
  {
    file: ['tdx', 'tdx_quote_6.dat'],
    version: 4,
    fmspc: '00a06d080000',
    sgxComps: [2, 2, 7, 7, 4, 1, 0, 2],
    pceSvn: 11,
    qeSvn: 7,
    mrTd: '21e8dead92d6c69d7cbba79816686c03a48485c7df0c11f6f04792d5e1d378f6b8c46615ba6946adccac6becffbb1e88',
    reportData: '26cae1c77185617fb6a03fc29bf1f924596e52352b9b7594940b576ae126cd4a570cc3202a900c5d19a6eb0a95b32cfd' + '00'.repeat(16),
  },
];

for (const v of vectors) {
  test(`${v.file[1]}: parses as v${v.version} and its signatures and PCK chain verify to the Intel root`, { skip }, () => {
    const q = parseQuote(readTestdata(...v.file));
    assert.equal(q.kind, 'tdx');
    assert.equal(q.header.version, v.version);
    assert.equal(hex(q.header.qeVendorId), '939a7233f79c4ca9940a0db3957f0607');
    const t = q as TdxQuote;
    assert.equal(hex(t.body.mrTd), v.mrTd);
    if (v.reportData) assert.equal(hex(t.body.reportData), v.reportData);
    if (v.reportDataPrefix) assert.ok(hex(t.body.reportData).startsWith(v.reportDataPrefix));
    assert.equal(q.signatureData.certification.qeReport.isvSvn, v.qeSvn);
    for (const now of [SIG_NOW, COLLATERAL_NOW]) {
      const r = verifyQuoteSignatures(q, { now });
      assert.equal(hex(r.pck.fmspc), v.fmspc);
      assert.equal(r.caType, 'platform');
      if (v.sgxComps) assert.deepEqual(r.pck.tcb.sgxTcbComponents.slice(0, 8), v.sgxComps);
      if (v.pceSvn) assert.equal(r.pck.tcb.pceSvn, v.pceSvn);
    }
    // Outside the PCK's validity (the quote-4 PCK starts 2023-02-07) the chain is refused.
    assert.throws(() => verifyQuoteSignatures(q, { now: new Date('2020-01-01T00:00:00Z') }), { code: 'ERR_DCAP_CERT_EXPIRED' });
  });
}

test('tdx_quote_4.dat: RTMRs, debug TD and TEE_TCB_SVN as in the README', { skip }, () => {
  const q = parseQuote(readTestdata('tdx', 'tdx_quote_4.dat')) as TdxQuote;
  assert.ok(hex(q.body.rtmr[0]).startsWith('e940da7c') && hex(q.body.rtmr[0]).endsWith('b288'));
  assert.ok(hex(q.body.rtmr[1]).startsWith('559cfcf4') && hex(q.body.rtmr[1]).endsWith('a596'));
  assert.equal(hex(q.body.rtmr[2]), '00'.repeat(48));
  assert.equal(hex(q.body.rtmr[3]), '00'.repeat(48));
  assert.equal(hex(q.body.tdAttributes), '0100001000000000');
  assert.ok(hex(q.body.teeTcbSvn).startsWith('03000500'));
  assert.equal(
    hex(q.body.mrSeam),
    '2fd279c16164a93dd5bf373d834328d46008c2b693af9ebb865b08b2ced320c9a89b4869a9fab60fbe9d0c5a5363c656',
  );
});

test('tdx_quote_5.dat: v5 body type 3 (TDX 1.5, 648 bytes)', { skip }, () => {
  const q = parseQuote(readTestdata('tdx', 'tdx_quote_5.dat')) as TdxQuote;
  assert.equal(q.bodyType, 3);
  assert.equal(q.bodySize, 648);
  assert.ok(q.body.teeTcbSvn2 && q.body.mrServiceTd);
  assert.ok(hex(q.body.teeTcbSvn).startsWith('05010200'));
  assert.equal(hex(q.body.tdAttributes), '0000001000000000');
});

test('tdx_quote_4.dat claims equal Trustee parse_tdx_claims_expected.json (event log part excluded)', { skip }, () => {
  const expected = JSON.parse(readTestdata('tdx', 'parse_tdx_claims_expected.json').toString('utf8')) as Record<string, unknown>;
  const q = parseQuote(readTestdata('tdx', 'tdx_quote_4.dat')) as TdxQuote;
  const r = verifyQuoteSignatures(q, { now: SIG_NOW });
  const got = tdxQuoteClaims(q, r.pck.platformInstanceId);
  const { uefi_event_logs: _events, ...rest } = expected;
  assert.deepEqual(got, rest);
});

/** Real Intel collateral for tdx_quote_6.dat; the issuer chain is the (expired) TCB Signing chain. */
function realCollateral(): Collateral {
  const chain = readTestdata('trust-anchors', 'Intel_SGX_TCB_Signing_chain.pem').toString('latin1');
  return {
    tcbInfo: parseSignedTcbInfo(readTestdata('tdx', 'tcbInfo.json').toString('utf8')),
    tcbInfoIssuerChainPem: chain,
    qeIdentity: parseSignedQeIdentity(readTestdata('tdx', 'enclaveIdentity.json').toString('utf8')),
    qeIdentityIssuerChainPem: chain,
    pckCrl: {},
  };
}

// The set has no Intel CRLs, and Intel's TCB Signing certificate here expired 2025-05-21 although Intel still
// signs with its key (README tdx/ "Clock"). Both gaps are bridged only by the named insecure switches.
const REAL = { now: COLLATERAL_NOW, allowMissingCrls: true, allowExpiredTcbSigningCert: true };

test('tdx_quote_6.dat + real TCB Info / QE identity: platform OutOfDate (PCESVN 11 < 13), TDX_03 and QE UpToDate', { skip }, async () => {
  const q = parseQuote(readTestdata('tdx', 'tdx_quote_6.dat'));
  const v = await verifyQuote(q, realCollateral(), REAL);
  assert.equal(v.tcb.verdict, 'OutOfDate');
  assert.equal(v.tcb.platformStatus, 'OutOfDate');
  assert.equal(v.tcb.tcbDate, '2018-01-04T00:00:00Z');
  assert.equal(v.tcb.tdxModuleStatus, 'UpToDate');
  assert.equal(v.tcb.qeStatus, 'UpToDate');
  assert.equal(v.collateralExpired, true); // only because the TCB signing cert's expiry was waived
  assert.equal(hex((q as TdxQuote).body.mrConfigId).slice(0, 8), '889abf47');
});

test('real collateral: each relaxation is needed, and dates are enforced', { skip }, async () => {
  const q = parseQuote(readTestdata('tdx', 'tdx_quote_6.dat'));
  const c = realCollateral();
  assert.equal(await codeOf(verifyQuote(q, c, { ...REAL, allowExpiredTcbSigningCert: false })), 'ERR_DCAP_CERT_EXPIRED');
  assert.equal(await codeOf(verifyQuote(q, c, { ...REAL, allowMissingCrls: false })), 'ERR_DCAP_CRL_MISSING');
  assert.equal(await codeOf(verifyQuote(q, c, { ...REAL, now: new Date('2025-11-26T13:07:17Z') })), 'ERR_DCAP_COLLATERAL_EXPIRED');
  assert.equal(await codeOf(verifyQuote(q, c, { ...REAL, now: new Date('2025-10-28T00:00:00Z') })), 'ERR_DCAP_COLLATERAL_NOT_YET_VALID');
  // Quotes 4 and 5 have other FMSPCs: this collateral does not apply to them.
  const q4 = parseQuote(readTestdata('tdx', 'tdx_quote_4.dat'));
  assert.equal(await codeOf(verifyQuote(q4, c, REAL)), 'ERR_DCAP_COLLATERAL_MISMATCH');
});

test('real collateral tampered: one byte of tcbInfo or a flipped quote byte is refused', { skip }, async () => {
  const q = readTestdata('tdx', 'tdx_quote_6.dat');
  const text = readTestdata('tdx', 'tcbInfo.json').toString('utf8').replace('"pcesvn":13', '"pcesvn":11');
  const c = { ...realCollateral(), tcbInfo: parseSignedTcbInfo(text) };
  assert.equal(await codeOf(verifyQuote(parseQuote(q), c, REAL)), 'ERR_DCAP_COLLATERAL_SIGNATURE');
  const t = Buffer.from(q);
  t[48 + 520] ^= 0x80; // report_data[0]
  assert.equal(await codeOf(verifyQuote(parseQuote(t), realCollateral(), REAL)), 'ERR_DCAP_QUOTE_SIGNATURE');
});

test('tdx verifier end to end: file:// collateral built from the real PCS bodies', { skip }, async () => {
  const enc = (s: string) => JSON.stringify(encodeURIComponent(s));
  const chain = readTestdata('trust-anchors', 'Intel_SGX_TCB_Signing_chain.pem').toString('latin1');
  // Intel bodies embedded verbatim, so their signed member text is unchanged.
  const file =
    `{"collaterals":{"tcbinfos":[{"fmspc":"00A06D080000","tdx_tcbinfo":${readTestdata('tdx', 'tcbInfo.json').toString('utf8')}}],` +
    `"tdqeidentity":${readTestdata('tdx', 'enclaveIdentity.json').toString('utf8')},` +
    `"certificates":{"TCB-Info-Issuer-Chain":${enc(chain)},"SGX-Enclave-Identity-Issuer-Chain":${enc(chain)}},"rootcacrl":""}}`;
  const warnings: string[] = [];
  const verifier = createDcapVerifier(
    'tdx',
    {
      config: {
        dcap_verifier: {
          collateral_service: 'file:///etc/keybroker/collateral.json',
          insecure_allow_missing_crls: true,
          insecure_allow_expired_tcb_signing_cert: true,
        },
      },
      log: { warn: (m) => warnings.push(m), info: () => {} },
    },
    { readText: async (p) => (p === '/etc/keybroker/collateral.json' ? file : Promise.reject(new Error('ENOENT'))) },
  );
  assert.equal(warnings.length, 2);
  const quote = readTestdata('tdx', 'tdx_quote_6.dat');
  const reportData = Buffer.from('26cae1c77185617fb6a03fc29bf1f924596e52352b9b7594940b576ae126cd4a570cc3202a900c5d19a6eb0a95b32cfd', 'hex');
  const [set] = await verifier.verify({ evidence: { quote: quote.toString('base64'), cc_eventlog: null }, expectedReportData: reportData, now: COLLATERAL_NOW });
  const c = set.claims as Record<string, any>;
  assert.equal(c.tcb_status, 'OutOfDate');
  assert.equal(c.tcb_date, '2018-01-04T00:00:00Z');
  // The TCB signing certificate's window was waived (it expired 2025-05-21): reported as expired collateral.
  assert.equal(c.collateral_expiration_status, '1');
  assert.equal(c.earliest_issue_date, '2018-05-21T10:45:10Z'); // Intel SGX Root CA notBefore (as in Trustee's QVL output)
  assert.equal(c.quote.body.mr_td, vectors[2].mrTd);
  assert.equal(c.report_data, vectors[2].reportData);
  // Trustee's QVL claims for Intel's root: root_key_id = SHA-384 of the root's public point (Trustee test values).
  assert.equal(c.root_key_id, '46e403bd34f05a3f2817ab9badcaacc7ffc98e0f261008cd30dae936cace18d5dcf58eef31463613de1570d516200993');
  assert.equal(c.sgx_type, 'Scalable with Integrity');
  // A deployment that accepts only UpToDate refuses this platform.
  const strict = createDcapVerifier(
    'tdx',
    { config: { dcap_verifier: { collateral_service: 'file:///c.json', accepted_tcb_statuses: ['UpToDate'], insecure_allow_missing_crls: true, insecure_allow_expired_tcb_signing_cert: true } } },
    { readText: async () => file },
  );
  assert.equal(await codeOf(strict.verify({ evidence: { quote: quote.toString('base64') }, now: COLLATERAL_NOW })), 'ERR_DCAP_TCB_STATUS');
});

test('Trustee QVL test values for tdx_quote_4.dat: platform_provider_id = PPID, Scalable, dynamic/cached/SMT', { skip }, () => {
  const r = verifyQuoteSignatures(parseQuote(readTestdata('tdx', 'tdx_quote_4.dat')), { now: SIG_NOW });
  assert.equal(hex(r.pck.ppid), 'df4c32a9d8d86009aaf380ec43cfcefb');
  assert.equal(r.pck.sgxType, 1);
  assert.equal(r.pck.dynamicPlatform, true);
  assert.equal(r.pck.cachedKeys, true);
  assert.equal(r.pck.smtEnabled, true);
});

test('tdx_quote_4.dat + CCEL_data claims equal Trustee parse_tdx_claims_expected.json in full', { skip }, async () => {
  const { parseEventLog } = await import('../../../src/verifiers/eventlog/ccel.js');
  const { uefiEventLogsClaim } = await import('../../../src/verifiers/eventlog/details.js');
  const expected = JSON.parse(readTestdata('tdx', 'parse_tdx_claims_expected.json').toString('utf8')) as Record<string, unknown>;
  const q = parseQuote(readTestdata('tdx', 'tdx_quote_4.dat')) as TdxQuote;
  const r = verifyQuoteSignatures(q, { now: SIG_NOW });
  const got = { ...tdxQuoteClaims(q, r.pck.platformInstanceId), uefi_event_logs: uefiEventLogsClaim(parseEventLog(readTestdata('tdx', 'CCEL_data'))) };
  assert.deepEqual(got, expected);
});

test('CCEL_data is not the event log of tdx_quote_4.dat: replay against its RTMRs fails (README note)', { skip }, async () => {
  const { checkRtmrs, parseEventLog } = await import('../../../src/verifiers/eventlog/ccel.js');
  const q = parseQuote(readTestdata('tdx', 'tdx_quote_4.dat')) as TdxQuote;
  assert.throws(() => checkRtmrs(parseEventLog(readTestdata('tdx', 'CCEL_data')), q.body.rtmr), { code: 'ERR_EVENTLOG_RTMR_MISMATCH' });
});
