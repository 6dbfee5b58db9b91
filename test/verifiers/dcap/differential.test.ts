/**
 * Differential test against @phala/dcap-qvl (an independent JavaScript port of Intel's QVL): on evidence forged
 * here, both implementations must agree on accept / reject and on the TCB status.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { parseQuote } from '../../../src/verifiers/dcap/quote.js';
import { parseSignedQeIdentity, parseSignedTcbInfo, type Collateral } from '../../../src/verifiers/dcap/collateral.js';
import { verifyQuote } from '../../../src/verifiers/dcap/verify.js';
import { NOW, makePki, makeQuote, qeIdentityObject, sgxReport, signedBody, tcbInfoObject, tdBody, type Pki, type QuoteParams } from './support/forge.js';

interface QvlCollateral {
  pck_crl_issuer_chain: string;
  root_ca_crl: string;
  pck_crl: string;
  tcb_info_issuer_chain: string;
  tcb_info: string;
  tcb_info_signature: string;
  qe_identity_issuer_chain: string;
  qe_identity: string;
  qe_identity_signature: string;
}
interface Qvl {
  QuoteVerifier: { newWithRootCa(der: Buffer): { verify(q: Buffer, c: QvlCollateral, nowSecs: number): { status: string; advisory_ids: string[] } } };
}
const qvl = createRequire(import.meta.url)('@phala/dcap-qvl') as Qvl;

interface Case {
  name: string;
  tee: 'tdx' | 'sgx';
  pki?: Pki;
  quote?: Partial<QuoteParams>;
  tcbText?: (o: unknown) => { text: string; signed: string };
}

async function both(c: Case): Promise<{ ours: string; theirs: string }> {
  const pki = c.pki ?? (await makePki());
  const tcbObj = tcbInfoObject({ id: c.tee === 'tdx' ? 'TDX' : 'SGX' });
  const t = c.tcbText ? c.tcbText(tcbObj) : { text: JSON.stringify(tcbObj), signed: JSON.stringify(tcbObj) };
  const qeText = JSON.stringify(qeIdentityObject({ id: c.tee === 'tdx' ? 'TD_QE' : 'QE' }));
  const tcbBody = signedBody('tcbInfo', t.text, pki.tcbSigner, t.signed);
  const qeBody = signedBody('enclaveIdentity', qeText, pki.tcbSigner);
  const chain = pki.tcbSigner.pem + pki.root.pem;
  const body = c.tee === 'tdx' ? tdBody({}, false) : sgxReport({});
  const quote = await makeQuote({ version: c.tee === 'tdx' ? 4 : 3, pki, body, ...c.quote });

  const ours: Collateral = {
    tcbInfo: parseSignedTcbInfo(tcbBody),
    tcbInfoIssuerChainPem: chain,
    qeIdentity: parseSignedQeIdentity(qeBody),
    qeIdentityIssuerChainPem: chain,
    pckCrl: { platform: pki.pckCrl },
    rootCaCrl: pki.rootCrl,
  };
  let oursResult: string;
  try {
    oursResult = (await verifyQuote(parseQuote(quote), ours, { now: NOW, rootSha256: pki.rootSha256 })).tcb.verdict;
  } catch {
    oursResult = 'rejected';
  }
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const theirs: QvlCollateral = {
    pck_crl_issuer_chain: pki.pckCa.pem + pki.root.pem,
    root_ca_crl: hex(pki.rootCrl),
    pck_crl: hex(pki.pckCrl),
    tcb_info_issuer_chain: chain,
    tcb_info: t.text,
    tcb_info_signature: JSON.parse(tcbBody).signature as string,
    qe_identity_issuer_chain: chain,
    qe_identity: qeText,
    qe_identity_signature: JSON.parse(qeBody).signature as string,
  };
  let theirsResult: string;
  try {
    theirsResult = qvl.QuoteVerifier.newWithRootCa(Buffer.from(pki.root.der)).verify(quote, theirs, NOW.getTime() / 1000).status;
  } catch {
    theirsResult = 'rejected';
  }
  return { ours: oursResult, theirs: theirsResult };
}

const cases: (Case & { expect: string })[] = [
  { name: 'TDX UpToDate', tee: 'tdx', expect: 'UpToDate' },
  { name: 'SGX UpToDate', tee: 'sgx', expect: 'UpToDate' },
  { name: 'TDX QE ISVSVN 3 → OutOfDate', tee: 'tdx', quote: { qe: { isvSvn: 3 } }, expect: 'OutOfDate' },
  { name: 'SGX QE ISVSVN 3 → OutOfDate', tee: 'sgx', quote: { qe: { isvSvn: 3 } }, expect: 'OutOfDate' },
  { name: 'QE MRSIGNER mismatch', tee: 'tdx', quote: { qe: { mrSigner: Buffer.alloc(32, 1) } }, expect: 'rejected' },
  { name: 'QE report not binding the key', tee: 'tdx', quote: { qe: { reportData: Buffer.alloc(64, 3) } }, expect: 'rejected' },
  {
    name: 'TCB Info signed over re-serialized JSON',
    tee: 'tdx',
    tcbText: (o) => ({ text: JSON.stringify(o, null, 2), signed: JSON.stringify(o) }),
    expect: 'rejected',
  },
];

for (const c of cases) {
  test(`differential vs @phala/dcap-qvl: ${c.name}`, async () => {
    const r = await both(c);
    assert.equal(r.ours, c.expect);
    assert.equal(r.theirs, c.expect);
  });
}

test('differential vs @phala/dcap-qvl: PCESVN below the first level → OutOfDate; revoked PCK rejected', async () => {
  const r1 = await both({ name: 'pce', tee: 'sgx', pki: await makePki({ pck: { pceSvn: 11 } }) });
  assert.deepEqual(r1, { ours: 'OutOfDate', theirs: 'OutOfDate' });
  const r2 = await both({ name: 'revoked', tee: 'tdx', pki: await makePki({ revokePck: true }) });
  assert.deepEqual(r2, { ours: 'rejected', theirs: 'rejected' });
});
