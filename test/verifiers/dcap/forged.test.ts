/**
 * DCAP verification on evidence these tests forge with their own PKI (root CA pinned by injection), QE and
 * attestation keys, TCB Info and QE identity: the positive paths, and every tampering that must be refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parseQuote } from '../../../src/verifiers/dcap/quote.js';
import { collateralFromFile, parseSignedTcbInfo, type Collateral } from '../../../src/verifiers/dcap/collateral.js';
import { verifyQuote, type DcapVerifyOptions } from '../../../src/verifiers/dcap/verify.js';
import { createDcapVerifier, type DcapTee } from '../../../src/verifiers/dcap/verifier.js';
import type { JsonObject } from '../../../src/verifiers/types.js';
import {
  NOW,
  collateralFile,
  keyPair,
  makePki,
  makeQuote,
  qeIdentityObject,
  sgxLevel,
  sgxReport,
  signedBody,
  tcbInfoObject,
  tdBody,
  tdxLevel,
  type Pki,
  type TcbInfoParams,
} from './support/forge.js';
import { readTestdata, testdataSkip } from '../../support/testdata.js';

interface Fixture {
  pki: Pki;
  file: string;
  collateral: Collateral;
}

async function fixture(
  o: {
    tee?: DcapTee;
    pki?: Pki;
    tcb?: TcbInfoParams;
    qe?: Parameters<typeof qeIdentityObject>[0];
    tcbText?: (obj: unknown) => { text: string; signed?: string };
    crls?: boolean;
  } = {},
): Promise<Fixture> {
  const tee = o.tee ?? 'tdx';
  const pki = o.pki ?? (await makePki());
  const tcbObj = tcbInfoObject({ id: tee === 'tdx' ? 'TDX' : 'SGX', ...o.tcb });
  const t = o.tcbText ? o.tcbText(tcbObj) : { text: JSON.stringify(tcbObj) };
  const qeText = JSON.stringify(qeIdentityObject({ id: tee === 'tdx' ? 'TD_QE' : 'QE', ...o.qe }));
  const chain = pki.tcbSigner.pem + pki.root.pem;
  const file = collateralFile({
    fmspc: '00a06d080000',
    tee,
    tcbInfoBody: signedBody('tcbInfo', t.text, pki.tcbSigner, t.signed),
    qeIdentityBody: signedBody('enclaveIdentity', qeText, pki.tcbSigner),
    tcbChainPem: chain,
    qeChainPem: chain,
    pckCrl: o.crls === false ? undefined : pki.pckCrl,
    rootCrl: o.crls === false ? undefined : pki.rootCrl,
  });
  return { pki, file, collateral: collateralFromFile(file, { tee, fmspc: Buffer.from('00a06d080000', 'hex') }, 'standard') };
}

function opts(f: Fixture, extra: Partial<DcapVerifyOptions> = {}): DcapVerifyOptions {
  return { now: NOW, rootSha256: f.pki.rootSha256, ...extra };
}

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    if (typeof p === 'function') p();
    else await p;
  } catch (e) {
    return (e as { code?: string }).code ?? `no code: ${(e as Error).message}`;
  }
  return 'no error';
}

function verifier(f: Fixture, tee: DcapTee, config: JsonObject = {}) {
  return createDcapVerifier(
    tee,
    { config: { dcap_verifier: { collateral_service: 'file:///collateral.json', ...config } } },
    { rootSha256: f.pki.rootSha256, readText: async () => f.file },
  );
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

test('TDX v4 quote with fresh collateral verifies UpToDate, with Trustee claims', async () => {
  const f = await fixture();
  const reportData = Buffer.concat([createHash('sha384').update('nonce').digest(), Buffer.alloc(16)]);
  const initData = createHash('sha384').update('initdata').digest();
  const quote = await makeQuote({ version: 4, pki: f.pki, body: tdBody({ reportData, mrConfigId: initData }, false) });
  const v = await verifyQuote(parseQuote(quote), f.collateral, opts(f));
  assert.equal(v.tcb.verdict, 'UpToDate');
  assert.equal(v.tcb.tdxModuleStatus, 'UpToDate');
  assert.equal(v.pckCrlNum, 3);
  assert.equal(v.rootCaCrlNum, 2);

  const [set] = await verifier(f, 'tdx').verify({
    evidence: { quote: b64(quote), cc_eventlog: null },
    expectedReportData: createHash('sha384').update('nonce').digest(),
    expectedInitDataHash: initData,
    now: NOW,
  });
  assert.equal(set.class, 'cpu');
  const c = set.claims as Record<string, any>;
  assert.equal(c.tcb_status, 'UpToDate');
  assert.equal(c.collateral_expiration_status, '0');
  assert.deepEqual(c.advisory_ids, []);
  assert.equal(c.report_data, reportData.toString('hex'));
  assert.equal(c.init_data, initData.toString('hex'));
  assert.equal(c.quote.header.version, '0400');
  assert.equal(c.quote.header.tee_type, '81000000');
  assert.equal(c.quote.body.mr_td, '7d'.repeat(48));
  assert.equal(c.quote.body.rtmr_3, 'a3'.repeat(48));
  assert.equal(c.td_attributes.debug, false);
  assert.equal(c.td_attributes.septve_disable, true);
  // PlatformInstanceID 0011…eeff, printed byte-reversed as Trustee does.
  assert.equal(c.platform_instance_id, 'ffeeddccbbaa99887766554433221100');
  assert.equal(c.platform_provider_id, 'ab'.repeat(16));
  assert.equal(c.sgx_type, 'Scalable');
  assert.equal(c.is_cached_keys, true);
  assert.equal(c.tcb_eval_num, 17);
  assert.equal(c.earliest_expiration_date, '2025-07-01T00:00:00Z');
});

test('TDX v5 with a TDX 1.5 body verifies and reports tee_tcb_svn2, mr_servicetd, type and size', async () => {
  const f = await fixture();
  const quote = await makeQuote({ version: 5, pki: f.pki, body: tdBody({}, true) });
  const q = parseQuote(quote);
  assert.equal(q.kind, 'tdx');
  const [set] = await verifier(f, 'tdx').verify({ evidence: { quote: b64(quote) }, now: NOW });
  const c = set.claims as Record<string, any>;
  assert.equal(c.quote.type, '0300');
  assert.equal(c.quote.size, '88020000'); // 648 little-endian
  assert.equal(c.quote.body.mr_servicetd, '55'.repeat(48));
  assert.equal(c.quote.body.tee_tcb_svn2, '05030200000000000000000000000000');
  assert.equal(c.quote.header.version, '0500');
});

test('TDX v5 with a TDX 1.0 body (type 2) verifies', async () => {
  const f = await fixture();
  const quote = await makeQuote({ version: 5, pki: f.pki, body: tdBody({}, false) });
  const v = await verifyQuote(parseQuote(quote), f.collateral, opts(f));
  assert.equal(v.tcb.verdict, 'UpToDate');
});

test('a debug TD verifies: verification is not appraisal', async () => {
  const f = await fixture();
  const quote = await makeQuote({ version: 4, pki: f.pki, body: tdBody({ tdAttributes: Buffer.from('0100001000000000', 'hex') }, false) });
  const [set] = await verifier(f, 'tdx').verify({ evidence: { quote: b64(quote) }, now: NOW });
  assert.equal((set.claims as any).td_attributes.debug, true);
});

test('SGX v3 quote verifies with SGX collateral; claims use Trustee sgx names', async () => {
  const f = await fixture({ tee: 'sgx' });
  const configId = Buffer.alloc(64, 0xc1);
  const body = sgxReport({ mrEnclave: Buffer.alloc(32, 0x11), configId, reportData: Buffer.concat([Buffer.from('hello'), Buffer.alloc(59)]) });
  const quote = await makeQuote({ version: 3, pki: f.pki, body });
  const [set] = await verifier(f, 'sgx').verify({
    evidence: { quote: b64(quote) },
    expectedReportData: Buffer.from('hello'),
    expectedInitDataHash: configId,
    now: NOW,
  });
  const c = set.claims as Record<string, any>;
  assert.equal(c.tcb_status, 'UpToDate');
  assert.equal(c.header.version, '0300');
  assert.equal(c.header.qe_svn, '0700');
  assert.equal(c.header.pce_svn, '0d00');
  assert.equal(c.body.mr_enclave, '11'.repeat(32));
  assert.equal(c.body['attributes.flags'], '1100000000000000');
  assert.equal(c.init_data, 'c1'.repeat(64));
  // The TDX verifier refuses an SGX quote and vice versa.
  assert.equal(await codeOf(verifier(f, 'tdx').verify({ evidence: { quote: b64(quote) }, now: NOW })), 'ERR_DCAP_EVIDENCE');
});

test('report data and init data must bind', async () => {
  const f = await fixture();
  const quote = await makeQuote({ version: 4, pki: f.pki, body: tdBody({ reportData: Buffer.alloc(64, 1) }, false) });
  const v = verifier(f, 'tdx');
  const ev = { quote: b64(quote) };
  assert.equal(await codeOf(v.verify({ evidence: ev, expectedReportData: Buffer.alloc(48, 2), now: NOW })), 'ERR_REPORT_DATA_MISMATCH');
  assert.equal(await codeOf(v.verify({ evidence: ev, expectedInitDataHash: Buffer.alloc(48, 2), now: NOW })), 'ERR_INIT_DATA_MISMATCH');
  // A 32-byte init-data digest is regularized (zero-padded) to 48 before comparison.
  const q2 = await makeQuote({ version: 4, pki: f.pki, body: tdBody({ mrConfigId: Buffer.concat([Buffer.alloc(32, 9), Buffer.alloc(16)]) }, false) });
  await v.verify({ evidence: { quote: b64(q2) }, expectedInitDataHash: Buffer.alloc(32, 9), now: NOW });
});

test('revoked PCK certificate (own CRL) is refused', async () => {
  const f = await fixture({ pki: await makePki({ revokePck: true }) });
  const quote = await makeQuote({ version: 4, pki: f.pki, body: tdBody({}, false) });
  assert.equal(await codeOf(verifyQuote(parseQuote(quote), f.collateral, opts(f))), 'ERR_DCAP_REVOKED');
});

test('revoked PCK CA (root CA CRL) is refused', async () => {
  const f = await fixture({ pki: await makePki({ revokePckCa: true }) });
  const quote = await makeQuote({ version: 4, pki: f.pki, body: tdBody({}, false) });
  assert.equal(await codeOf(verifyQuote(parseQuote(quote), f.collateral, opts(f))), 'ERR_DCAP_REVOKED');
});

test('missing CRLs are refused unless the insecure switch is set', async () => {
  const f = await fixture({ crls: false });
  const quote = parseQuote(await makeQuote({ version: 4, pki: f.pki, body: tdBody({}, false) }));
  assert.equal(await codeOf(verifyQuote(quote, f.collateral, opts(f))), 'ERR_DCAP_CRL_MISSING');
  const v = await verifyQuote(quote, f.collateral, opts(f, { allowMissingCrls: true }));
  assert.equal(v.tcb.verdict, 'UpToDate');
});

test('a CRL signed by another key is refused', async () => {
  const other = await makePki();
  const f = await fixture();
  const quote = parseQuote(await makeQuote({ version: 4, pki: f.pki, body: tdBody({}, false) }));
  const c = { ...f.collateral, pckCrl: { platform: other.pckCrl } };
  assert.equal(await codeOf(verifyQuote(quote, c, opts(f))), 'ERR_DCAP_CRL');
});

test('stale collateral (now past nextUpdate) is refused; allowed only by config, and then reported', async () => {
  const f = await fixture();
  const quote = await makeQuote({ version: 4, pki: f.pki, body: tdBody({}, false) });
  const later = new Date('2025-07-02T00:00:00Z');
  assert.equal(await codeOf(verifyQuote(parseQuote(quote), f.collateral, opts(f, { now: later }))), 'ERR_DCAP_COLLATERAL_EXPIRED');
  const warnings: string[] = [];
  const v = createDcapVerifier(
    'tdx',
    { config: { dcap_verifier: { collateral_service: 'file:///c.json', allow_expired_collateral: true } }, log: { warn: (m) => warnings.push(m), info: () => {} } },
    { rootSha256: f.pki.rootSha256, readText: async () => f.file },
  );
  assert.equal(warnings.length, 1);
  const [set] = await v.verify({ evidence: { quote: b64(quote) }, now: later });
  assert.equal((set.claims as any).collateral_expiration_status, '1');
  // Collateral issued after "now" is never accepted.
  assert.equal(
    await codeOf(verifyQuote(parseQuote(quote), f.collateral, opts(f, { now: new Date('2025-05-31T00:00:00Z'), allowExpiredCollateral: true }))),
    'ERR_DCAP_COLLATERAL_NOT_YET_VALID',
  );
});

test('TCB Info signed over re-serialized JSON (not the received bytes) is refused', async () => {
  // The received text is pretty-printed; the signature covers the compact re-serialization.
  const f = await fixture({ tcbText: (o) => ({ text: JSON.stringify(o, null, 1), signed: JSON.stringify(o) }) });
  const quote = await makeQuote({ version: 4, pki: f.pki, body: tdBody({}, false) });
  assert.equal(await codeOf(verifyQuote(parseQuote(quote), f.collateral, opts(f))), 'ERR_DCAP_COLLATERAL_SIGNATURE');
  // Control: the same pretty-printed text signed as received verifies.
  const ok = await fixture({ pki: f.pki, tcbText: (o) => ({ text: JSON.stringify(o, null, 1) }) });
  assert.equal((await verifyQuote(parseQuote(quote), ok.collateral, opts(ok))).tcb.verdict, 'UpToDate');
});

test('tampered TCB Info (status edited after signing) is refused', async () => {
  const f = await fixture({ tcbText: (o) => ({ text: JSON.stringify(o).replace('"OutOfDate"', '"UpToDate"'), signed: JSON.stringify(o) }) });
  const quote = await makeQuote({ version: 4, pki: f.pki, body: tdBody({}, false) });
  assert.equal(await codeOf(verifyQuote(parseQuote(quote), f.collateral, opts(f))), 'ERR_DCAP_COLLATERAL_SIGNATURE');
});

test('wrong FMSPC is refused (and the file source finds no collateral for it)', async () => {
  const f = await fixture({ tcb: { fmspc: '00A06D080001' } });
  const quote = await makeQuote({ version: 4, pki: f.pki, body: tdBody({}, false) });
  assert.equal(await codeOf(verifyQuote(parseQuote(quote), f.collateral, opts(f))), 'ERR_DCAP_COLLATERAL_MISMATCH');
  const g = await fixture({ pki: await makePki({ pck: { fmspc: Buffer.from('90c06f000000', 'hex') } }) });
  const q2 = await makeQuote({ version: 4, pki: g.pki, body: tdBody({}, false) });
  assert.equal(await codeOf(verifier(g, 'tdx').verify({ evidence: { quote: b64(q2) }, now: NOW })), 'ERR_DCAP_COLLATERAL_NOT_FOUND');
});

test('QE report that does not bind the attestation key is refused', async () => {
  const f = await fixture();
  const quote = await makeQuote({ version: 4, pki: f.pki, body: tdBody({}, false), qe: { reportData: Buffer.alloc(64, 0x33) } });
  assert.equal(await codeOf(verifyQuote(parseQuote(quote), f.collateral, opts(f))), 'ERR_DCAP_QE_BINDING');
});

test('quote signed by a key other than the attested one is refused', async () => {
  const f = await fixture();
  const quote = await makeQuote({ version: 4, pki: f.pki, body: tdBody({}, false), quoteSigner: await keyPair() });
  assert.equal(await codeOf(verifyQuote(parseQuote(quote), f.collateral, opts(f))), 'ERR_DCAP_QUOTE_SIGNATURE');
});

test('flipping any byte of header or body breaks the quote signature', async () => {
  const f = await fixture();
  const quote = await makeQuote({ version: 4, pki: f.pki, body: tdBody({}, false) });
  for (const off of [30, 48 + 136, 48 + 520, 48 + 583]) {
    const t = Buffer.from(quote);
    t[off] ^= 1;
    assert.equal(await codeOf(verifyQuote(parseQuote(t), f.collateral, opts(f))), 'ERR_DCAP_QUOTE_SIGNATURE', `offset ${off}`);
  }
});

test('QE report signed by a key other than the PCK is refused', async () => {
  const f = await fixture();
  const other = await makePki();
  // The chain embedded is f's, but the QE report is signed by other's PCK key.
  const quote = await makeQuote({ version: 4, pki: { ...other, root: f.pki.root }, body: tdBody({}, false), chainPem: f.pki.pck.pem + f.pki.pckCa.pem + f.pki.root.pem });
  assert.equal(await codeOf(verifyQuote(parseQuote(quote), f.collateral, opts(f))), 'ERR_DCAP_QE_REPORT_SIGNATURE');
});

test('PCK chain to a root other than the pinned one is refused', async () => {
  const f = await fixture();
  const quote = parseQuote(await makeQuote({ version: 4, pki: f.pki, body: tdBody({}, false) }));
  assert.equal(await codeOf(verifyQuote(quote, f.collateral, { now: NOW })), 'ERR_DCAP_UNTRUSTED_ROOT'); // default = Intel pin
  const other = await makePki();
  assert.equal(await codeOf(verifyQuote(quote, f.collateral, { now: NOW, rootSha256: other.rootSha256 })), 'ERR_DCAP_UNTRUSTED_ROOT');
});

test('v4/v5 offset confusion: relabelled versions never verify', async () => {
  const f = await fixture();
  const v5 = await makeQuote({ version: 5, pki: f.pki, body: tdBody({}, false) });
  const as4 = Buffer.from(v5);
  as4.writeUInt16LE(4, 0);
  assert.equal(await codeOf(() => parseQuote(as4)), 'ERR_DCAP_QUOTE_FORMAT');
  const v4 = await makeQuote({ version: 4, pki: f.pki, body: tdBody({}, false) });
  const as5 = Buffer.from(v4);
  as5.writeUInt16LE(5, 0);
  assert.equal(await codeOf(() => parseQuote(as5)), 'ERR_DCAP_QUOTE_FORMAT');
  // v5 claiming a 1.5 body type with a 1.0 size is refused.
  const bad = Buffer.from(v5);
  bad.writeUInt16LE(3, 48);
  assert.equal(await codeOf(() => parseQuote(bad)), 'ERR_DCAP_QUOTE_FORMAT');
});

test('truncated quotes and non-zero trailing bytes are refused; zero padding is tolerated', async () => {
  const f = await fixture();
  const quote = await makeQuote({ version: 5, pki: f.pki, body: tdBody({}, true) });
  for (const len of [0, 1, 47, 48, 53, 54, 701, 702, 705, 706, 770, 1000, quote.length - 1]) {
    assert.equal(await codeOf(() => parseQuote(quote.subarray(0, len))), 'ERR_DCAP_QUOTE_FORMAT', `length ${len}`);
  }
  assert.equal(await codeOf(() => parseQuote(Buffer.concat([quote, Buffer.from([0, 1])]))), 'ERR_DCAP_QUOTE_FORMAT');
  const padded = Buffer.concat([quote, Buffer.alloc(70)]);
  assert.equal((await verifyQuote(parseQuote(padded), f.collateral, opts(f))).tcb.verdict, 'UpToDate');
});

test('TCB level selection: PCESVN below the first level gives OutOfDate with its advisories', async () => {
  const f = await fixture({ pki: await makePki({ pck: { pceSvn: 11 } }) });
  const quote = parseQuote(await makeQuote({ version: 4, pki: f.pki, body: tdBody({}, false) }));
  const v = await verifyQuote(quote, f.collateral, opts(f));
  assert.equal(v.tcb.verdict, 'OutOfDate');
  assert.deepEqual(v.tcb.advisoryIds, ['INTEL-SA-00001']);
  // Policy: a deployment that accepts only UpToDate refuses it.
  const strict = createDcapVerifier(
    'tdx',
    { config: { dcap_verifier: { collateral_service: 'file:///c.json', accepted_tcb_statuses: ['UpToDate'] } } },
    { rootSha256: f.pki.rootSha256, readText: async () => f.file },
  );
  const q = await makeQuote({ version: 4, pki: f.pki, body: tdBody({}, false) });
  assert.equal(await codeOf(strict.verify({ evidence: { quote: b64(q) }, now: NOW })), 'ERR_DCAP_TCB_STATUS');
});

test('a TCB that matches no level fails', async () => {
  const f = await fixture({ pki: await makePki({ pck: { sgxComps: [1, 2, 7, 7, 4, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0] } }) });
  const quote = parseQuote(await makeQuote({ version: 4, pki: f.pki, body: tdBody({}, false) }));
  assert.equal(await codeOf(verifyQuote(quote, f.collateral, opts(f))), 'ERR_DCAP_TCB_NOT_SUPPORTED');
  // TDX components (late microcode byte 2) below every level also fail.
  const g = await fixture();
  const q2 = parseQuote(await makeQuote({ version: 4, pki: g.pki, body: tdBody({ teeTcbSvn: Buffer.from('05030100000000000000000000000000', 'hex') }, false) }));
  assert.equal(await codeOf(verifyQuote(q2, g.collateral, opts(g))), 'ERR_DCAP_TCB_NOT_SUPPORTED');
});

test('Revoked TCB level is refused by default', async () => {
  const f = await fixture({ tcb: { levels: [tdxLevel([0], 0, [0], 'Revoked')] } });
  const q = await makeQuote({ version: 4, pki: f.pki, body: tdBody({}, false) });
  assert.equal((await verifyQuote(parseQuote(q), f.collateral, opts(f))).tcb.verdict, 'Revoked');
  assert.equal(await codeOf(verifier(f, 'tdx').verify({ evidence: { quote: b64(q) }, now: NOW })), 'ERR_DCAP_TCB_STATUS');
});

test('TDX module identity: MRSIGNER_SEAM / SEAM_ATTRIBUTES mismatch refused; old module SVN → OutOfDate', async () => {
  const f = await fixture();
  const mk = async (p: Parameters<typeof tdBody>[0]) => parseQuote(await makeQuote({ version: 4, pki: f.pki, body: tdBody(p, false) }));
  assert.equal(await codeOf(verifyQuote(await mk({ mrSignerSeam: Buffer.alloc(48, 1) }), f.collateral, opts(f))), 'ERR_DCAP_TDX_MODULE');
  assert.equal(await codeOf(verifyQuote(await mk({ seamAttributes: Buffer.from('0100000000000000', 'hex') }), f.collateral, opts(f))), 'ERR_DCAP_TDX_MODULE');
  // Major version 4 has no TDX_04 identity.
  assert.equal(await codeOf(verifyQuote(await mk({ teeTcbSvn: Buffer.from('05040200000000000000000000000000', 'hex') }), f.collateral, opts(f))), 'ERR_DCAP_TDX_MODULE');
  const old = await verifyQuote(await mk({ teeTcbSvn: Buffer.from('02030200000000000000000000000000', 'hex') }), f.collateral, opts(f));
  assert.equal(old.tcb.tdxModuleStatus, 'OutOfDate');
  assert.equal(old.tcb.verdict, 'OutOfDate');
  assert.deepEqual(old.tcb.advisoryIds, ['INTEL-SA-MODULE']);
});

test('QE identity: wrong MRSIGNER refused; older QE ISVSVN converges to OutOfDate', async () => {
  const f = await fixture();
  const bad = parseQuote(await makeQuote({ version: 4, pki: f.pki, body: tdBody({}, false), qe: { mrSigner: Buffer.alloc(32, 1) } }));
  assert.equal(await codeOf(verifyQuote(bad, f.collateral, opts(f))), 'ERR_DCAP_QE_IDENTITY');
  const prod = parseQuote(await makeQuote({ version: 4, pki: f.pki, body: tdBody({}, false), qe: { isvProdId: 1 } }));
  assert.equal(await codeOf(verifyQuote(prod, f.collateral, opts(f))), 'ERR_DCAP_QE_IDENTITY');
  const old = parseQuote(await makeQuote({ version: 4, pki: f.pki, body: tdBody({}, false), qe: { isvSvn: 3 } }));
  const v = await verifyQuote(old, f.collateral, opts(f));
  assert.equal(v.tcb.qeStatus, 'OutOfDate');
  assert.equal(v.tcb.verdict, 'OutOfDate');
  assert.deepEqual(v.tcb.advisoryIds, ['INTEL-SA-QE']);
  const tooOld = parseQuote(await makeQuote({ version: 4, pki: f.pki, body: tdBody({}, false), qe: { isvSvn: 1 } }));
  assert.equal(await codeOf(verifyQuote(tooOld, f.collateral, opts(f))), 'ERR_DCAP_TCB_NOT_SUPPORTED');
});

test('collateral for the wrong TEE is refused (SGX TCB Info for a TDX quote)', async () => {
  const f = await fixture({ tee: 'sgx', tcb: { levels: [sgxLevel([0], 0, 'UpToDate')] } });
  const q = parseQuote(await makeQuote({ version: 4, pki: f.pki, body: tdBody({}, false) }));
  assert.equal(await codeOf(verifyQuote(q, f.collateral, opts(f))), 'ERR_DCAP_COLLATERAL_MISMATCH');
});

test('malformed evidence JSON gives a typed error', async () => {
  const f = await fixture();
  const v = verifier(f, 'tdx');
  for (const ev of [null, 'x', {}, { quote: '' }, { quote: '***' }, { quote: 1 }]) {
    assert.equal(await codeOf(v.verify({ evidence: ev as never, now: NOW })), 'ERR_DCAP_EVIDENCE', JSON.stringify(ev));
  }
});

test('cc_eventlog: replay must reproduce the quote RTMRs; then uefi_event_logs is claimed', { skip: testdataSkip('eventlog') }, async () => {
  const f = await fixture();
  const ccel = readTestdata('eventlog', 'CCEL_data_ovmf');
  const rtmr = [
    '8566f998798db09443b244c62de9a3041fb02e2e6936c4396d784bba2e90177329ec5aba3bb484404f2ab9cc90abe193',
    '775b9f6bfe99f8a31396f0d0218e67ffa796d3b96ccf961cbb0deba48c79c00f082cda1a5567c1c16305f1fc210c13c6',
    '94eaf7a7bf398ed8d888c91057ae0261802e4f3df084213a76ca7f0b5055ac9d2241de43cd58d9e8b49c503bbf25f34a',
    '00'.repeat(48),
  ].map((h) => Buffer.from(h, 'hex'));
  const good = await makeQuote({ version: 4, pki: f.pki, body: tdBody({ rtmr }, false) });
  const [set] = await verifier(f, 'tdx').verify({ evidence: { quote: b64(good), cc_eventlog: b64(ccel) }, now: NOW });
  const events = (set.claims as any).uefi_event_logs as any[];
  assert.equal(events.length, 20);
  assert.deepEqual(events[events.length - 1].type_name, 'EV_EFI_ACTION');
  // Same log, quote with a different RTMR2: refused.
  const bad = await makeQuote({ version: 4, pki: f.pki, body: tdBody({ rtmr: [rtmr[0], rtmr[1], Buffer.alloc(48, 1), rtmr[3]] }, false) });
  assert.equal(await codeOf(verifier(f, 'tdx').verify({ evidence: { quote: b64(bad), cc_eventlog: b64(ccel) }, now: NOW })), 'ERR_EVENTLOG_RTMR_MISMATCH');
  // Garbage event log: refused, not ignored.
  assert.equal(await codeOf(verifier(f, 'tdx').verify({ evidence: { quote: b64(good), cc_eventlog: b64(Buffer.alloc(64, 0x41)) }, now: NOW })), 'ERR_EVENTLOG_FORMAT');
});

test('collateral signed by a key that chains to the root but is not the TCB signing cert is refused', async () => {
  const pki = await makePki();
  // TCB Info signed by the PCK CA key, with the PCK CA as "issuer chain": a valid chain to the root, wrong signer.
  const f = await fixture({ pki });
  const forgedTcb = signedBody('tcbInfo', JSON.stringify(tcbInfoObject()), pki.pckCa);
  const c: Collateral = { ...f.collateral, tcbInfo: parseSignedTcbInfo(forgedTcb), tcbInfoIssuerChainPem: pki.pckCa.pem + pki.root.pem };
  const quote = parseQuote(await makeQuote({ version: 4, pki, body: tdBody({}, false) }));
  assert.equal(await codeOf(verifyQuote(quote, c, opts(f))), 'ERR_DCAP_COLLATERAL_SIGNER');
  // A PCK chain with an extra intermediate is refused too.
  const extra = parseQuote(await makeQuote({ version: 4, pki, body: tdBody({}, false), chainPem: pki.pck.pem + pki.pckCa.pem + pki.pckCa.pem + pki.root.pem }));
  assert.equal(await codeOf(verifyQuote(extra, f.collateral, opts(f))), 'ERR_DCAP_CHAIN');
});

test('tcbEvaluationDataNumber below the configured floor is refused', async () => {
  const f = await fixture(); // forged collateral carries tcbEvaluationDataNumber 17
  const quote = await makeQuote({ version: 4, pki: f.pki, body: tdBody({}, false) });
  assert.equal(await codeOf(verifyQuote(parseQuote(quote), f.collateral, opts(f, { minTcbEvaluationDataNumber: 18 }))), 'ERR_DCAP_TCB_EVAL_NUMBER');
  assert.equal((await verifyQuote(parseQuote(quote), f.collateral, opts(f, { minTcbEvaluationDataNumber: 17 }))).tcb.verdict, 'UpToDate');
  const v = verifier(f, 'tdx', { min_tcb_evaluation_data_number: 20 });
  assert.equal(await codeOf(v.verify({ evidence: { quote: b64(quote) }, now: NOW })), 'ERR_DCAP_TCB_EVAL_NUMBER');
});

test('TDX 1.5: TD launched on an outdated module but running on a current one → TDRelaunchAdvised (QVL checkForRelaunch)', async () => {
  const f = await fixture();
  const old = Buffer.from('02030200000000000000000000000000', 'hex'); // module SVN 2 < TDX_03 level 3 → module OutOfDate
  const mk = async (svn2: string, pki = f.pki) =>
    parseQuote(await makeQuote({ version: 5, pki, body: tdBody({ teeTcbSvn: old, teeTcbSvn2: Buffer.from(svn2, 'hex') }, true) }));
  const v = await verifyQuote(await mk('05030200000000000000000000000000'), f.collateral, opts(f));
  assert.equal(v.tcb.tdxModuleStatus, 'OutOfDate');
  assert.equal(v.tcb.verdict, 'TDRelaunchAdvised');
  // The running module (TEE_TCB_SVN2) is itself outdated: relaunching would not help.
  assert.equal((await verifyQuote(await mk('02030200000000000000000000000000'), f.collateral, opts(f))).tcb.verdict, 'OutOfDate');
  // The same TD on a TDX 1.0 body (no TEE_TCB_SVN2) is plainly OutOfDate.
  const v10 = parseQuote(await makeQuote({ version: 4, pki: f.pki, body: tdBody({ teeTcbSvn: old }, false) }));
  assert.equal((await verifyQuote(v10, f.collateral, opts(f))).tcb.verdict, 'OutOfDate');
  // The SGX side is OutOfDate too (PCESVN 11): no relaunch advice.
  const g = await fixture({ pki: await makePki({ pck: { pceSvn: 11 } }) });
  assert.equal((await verifyQuote(await mk('05030200000000000000000000000000', g.pki), g.collateral, opts(g))).tcb.verdict, 'OutOfDate');
  // Default config accepts TDRelaunchAdvised (as Trustee), a strict one does not.
  const q = await makeQuote({ version: 5, pki: f.pki, body: tdBody({ teeTcbSvn: old, teeTcbSvn2: Buffer.from('05030200000000000000000000000000', 'hex') }, true) });
  const [set] = await verifier(f, 'tdx').verify({ evidence: { quote: b64(q) }, now: NOW });
  assert.equal((set.claims as any).tcb_status, 'TDRelaunchAdvised');
});
