/**
 * The `sgx` verifier on real SGX evidence: testdata/sgx/occlum_quote.dat and the same quote inside
 * testdata/coco-as/coco-as/request.json. The set holds no SGX collateral, so signatures and the PCK chain are
 * checked, and full verification must fail closed for lack of collateral.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../../../src/verifiers/index.js';
import { verifierFactory } from '../../../src/verifiers/types.js';
import { parseQuote, type SgxQuote } from '../../../src/verifiers/dcap/quote.js';
import { verifyQuoteSignatures } from '../../../src/verifiers/dcap/verify.js';
import { sgxQuoteClaims } from '../../../src/verifiers/dcap/claims.js';
import { readTestdata, testdataSkip } from '../../support/testdata.js';

const NOW = new Date('2025-06-01T00:00:00Z');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function requestQuote(): Buffer {
  const req = JSON.parse(readTestdata('coco-as', 'coco-as', 'request.json').toString('utf8')) as {
    verification_requests: { tee: string; evidence: string }[];
  };
  const [vr] = req.verification_requests;
  assert.equal(vr.tee, 'sgx');
  const evidence = JSON.parse(Buffer.from(vr.evidence, 'base64url').toString('utf8')) as { quote: string };
  return Buffer.from(evidence.quote, 'base64');
}

test('occlum_quote.dat: SGX v3, measurements and report data as in the README, signatures and chain verify', { skip: testdataSkip('sgx') }, () => {
  const q = parseQuote(readTestdata('sgx', 'occlum_quote.dat')) as SgxQuote;
  assert.equal(q.kind, 'sgx');
  assert.equal(q.header.version, 3);
  assert.equal(hex(q.body.mrEnclave), '8f173e4613ff05c52aaf04162d234edae8c9977eae47eb2299ae16a553011c68');
  assert.equal(hex(q.body.mrSigner), '83d719e77deaca1470f6baf62a4d774303c899db69020f9c70ee1dfc08c7ce9e');
  assert.equal(hex(q.body.attributes), '0700000000000000e700000000000000');
  assert.equal(q.body.isvProdId, 0);
  assert.equal(q.body.isvSvn, 0);
  assert.equal(hex(q.body.reportData), hex(Buffer.from('test')) + '00'.repeat(60));
  assert.equal(q.signatureData.certification.qeReport.isvProdId, 1);
  assert.equal(q.signatureData.certification.qeReport.isvSvn, 8);
  const r = verifyQuoteSignatures(q, { now: NOW });
  assert.equal(hex(r.pck.fmspc), '00606a000000');
  const c = sgxQuoteClaims(q, r.pck.platformInstanceId) as Record<string, any>;
  assert.equal(c.body.mr_enclave, '8f173e4613ff05c52aaf04162d234edae8c9977eae47eb2299ae16a553011c68');
  assert.equal(c.body['attributes.flags'], '0700000000000000');
  assert.equal(c.body['attributes.xfrm'], 'e700000000000000');
  assert.equal(c.header.version, '0300');
  // Tampered: flip one byte of the enclave's report_data → the quote signature fails.
  const t = Buffer.from(readTestdata('sgx', 'occlum_quote.dat'));
  t[48 + 320] ^= 1;
  assert.throws(() => verifyQuoteSignatures(parseQuote(t), { now: NOW }), { code: 'ERR_DCAP_QUOTE_SIGNATURE' });
});

test('coco-as request.json carries the same SGX quote', { skip: testdataSkip('coco-as') }, () => {
  assert.ok(requestQuote().equals(readTestdata('sgx', 'occlum_quote.dat')));
});

test('sgx verifier is registered and fails closed without collateral for the FMSPC', { skip: testdataSkip('sgx') }, async () => {
  const factory = verifierFactory('sgx');
  assert.ok(factory);
  const quote = readTestdata('sgx', 'occlum_quote.dat').toString('base64');
  // No collateral service configured.
  const v = await factory({ config: {} });
  await assert.rejects(v.verify({ evidence: { quote }, now: NOW }), { code: 'ERR_DCAP_COLLATERAL_UNAVAILABLE' });
  // A collateral file without this FMSPC.
  const file = JSON.stringify({ collaterals: { tcbinfos: [], certificates: {} } });
  const { createSgxVerifier } = await import('../../../src/verifiers/sgx/verifier.js');
  const v2 = createSgxVerifier({ config: { dcap_verifier: { collateral_service: 'file:///c.json' } } }, { readText: async () => file });
  await assert.rejects(v2.verify({ evidence: { quote }, now: NOW }), { code: 'ERR_DCAP_COLLATERAL_NOT_FOUND' });
});
