/**
 * The DCAP verifier's content-addressed caches, on quotes and collateral forged here with our own PKI: a warm
 * verifier skips the PCK chain, collateral and CRL signature work, yet still rejects an expired certificate, a PCK
 * revoked by a newer CRL, tampered quote or collateral bytes, and never lends entries to a verifier pinned to
 * another root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collateralFromFile } from '../../../src/verifiers/dcap/collateral.js';
import { verifyQuote } from '../../../src/verifiers/dcap/verify.js';
import { parseQuote } from '../../../src/verifiers/dcap/quote.js';
import { createDcapVerifier } from '../../../src/verifiers/dcap/verifier.js';
import { VerificationError } from '../../../src/verifiers/types.js';
import { NOW, T_END, collateralFile, makeCrl, makePki, makeQuote, qeIdentityObject, signedBody, tcbInfoObject, tdBody, type Pki } from './support/forge.js';

function fileFor(pki: Pki, o: { pckCrl?: Uint8Array; collateralNextUpdate?: string } = {}): string {
  const next = o.collateralNextUpdate ? { nextUpdate: o.collateralNextUpdate } : {};
  const chain = pki.tcbSigner.pem + pki.root.pem;
  return collateralFile({
    fmspc: '00a06d080000',
    tee: 'tdx',
    tcbInfoBody: signedBody('tcbInfo', JSON.stringify(tcbInfoObject({ id: 'TDX', ...next })), pki.tcbSigner),
    qeIdentityBody: signedBody('enclaveIdentity', JSON.stringify(qeIdentityObject({ id: 'TD_QE', ...next })), pki.tcbSigner),
    tcbChainPem: chain,
    qeChainPem: chain,
    pckCrl: o.pckCrl ?? pki.pckCrl,
    rootCrl: pki.rootCrl,
  });
}

/** A verifier whose collateral file is whatever `state.file` holds at the time of the call. */
function verifier(pki: Pki, state: { file: string }) {
  return createDcapVerifier('tdx', { config: { dcap_verifier: { collateral_service: 'file:///collateral.json' } } }, { rootSha256: pki.rootSha256, readText: async () => state.file });
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const input = (quote: Uint8Array, now = NOW) => ({ evidence: { quote: b64(quote) }, now });

async function rejects(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof VerificationError, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });
}

const pki = await makePki();
const quote = await makeQuote({ version: 4, pki, body: tdBody({}, false) });

test('second verification of the same quote hits the caches, with the same claims', async () => {
  const state = { file: fileFor(pki) };
  const v = verifier(pki, state);
  const [a] = await v.verify(input(quote));
  const first = { pckChainVerifications: 1, collateralVerifications: 2, crlVerifications: 2, collateralParses: 1 };
  assert.deepEqual(v.cacheStats, first);
  const [b] = await v.verify(input(quote));
  assert.deepEqual(b, a);
  assert.deepEqual(v.cacheStats, first);
  // The cached path gives the same verdict and dates as a full, uncached verification.
  const full = await verifyQuote(parseQuote(quote), collateralFromFile(state.file, { tee: 'tdx', fmspc: Buffer.from('00a06d080000', 'hex') }, 'standard'), { now: NOW, rootSha256: pki.rootSha256 });
  const c = b.claims as Record<string, unknown>;
  assert.equal(c.tcb_status, full.tcb.verdict);
  assert.equal(c.pck_crl_num, full.pckCrlNum);
  assert.equal(c.earliest_expiration_date, full.earliestExpirationDate.toISOString().replace(/\.\d{3}Z$/, 'Z'));
});

test('a cached PCK chain is rejected once now passes the certificates\' notAfter', async () => {
  const v = verifier(pki, { file: fileFor(pki) });
  await v.verify(input(quote));
  for (const now of [new Date(T_END.getTime() + 1000), new Date('2024-12-31T23:59:59Z')]) {
    await assert.rejects(v.verify(input(quote, now)), (e: unknown) => {
      assert.ok(e instanceof VerificationError);
      assert.equal(e.code, 'ERR_DCAP_CERT_EXPIRED');
      assert.match(e.message, /^PCK chain: certificate 0 .* is not valid at/);
      return true;
    });
  }
  assert.equal(v.cacheStats.pckChainVerifications, 1, 'rejected from the cached chain, not by re-verifying');
  await v.verify(input(quote));
});

test('cached CRL signatures do not extend the CRL window: a stale CRL is refused at a later now', async () => {
  // TCB Info / QE identity valid until 2026, so the CRLs (2025-06-01 .. 2025-07-01 in forge.ts) are what expires.
  const v = verifier(pki, { file: fileFor(pki, { collateralNextUpdate: '2026-01-01T00:00:00Z' }) });
  await v.verify(input(quote));
  await assert.rejects(v.verify(input(quote, new Date('2025-07-02T00:00:00Z'))), (e: unknown) => {
    assert.ok(e instanceof VerificationError);
    assert.equal(e.code, 'ERR_DCAP_COLLATERAL_EXPIRED');
    assert.match(e.message, /CRL expired/);
    return true;
  });
  assert.equal(v.cacheStats.crlVerifications, 2, 'the CRL signatures came from the cache; their window did not');
  await v.verify(input(quote));
});

test('a PCK revoked by a newer CRL is rejected although its chain is cached', async () => {
  const state = { file: fileFor(pki) };
  const v = verifier(pki, state);
  await v.verify(input(quote));
  const newer = await makeCrl(pki.pckCa, [pki.pck.serial], new Date('2025-06-10T00:00:00Z'), new Date('2025-07-01T00:00:00Z'), 4);
  state.file = fileFor(pki, { pckCrl: newer });
  await rejects(v.verify(input(quote)), 'ERR_DCAP_REVOKED');
  assert.equal(v.cacheStats.pckChainVerifications, 1, 'chain from the cache');
  assert.equal(v.cacheStats.crlVerifications, 3, 'the new CRL bytes were verified');
  assert.equal(v.cacheStats.collateralParses, 2, 'the changed file was decoded again');
});

test('tampered quote and collateral bytes are rejected on a warm cache', async () => {
  const state = { file: fileFor(pki) };
  const v = verifier(pki, state);
  await v.verify(input(quote));
  const body = Buffer.from(quote);
  body[48 + 136] ^= 1; // MRTD
  await rejects(v.verify(input(body)), 'ERR_DCAP_QUOTE_SIGNATURE');
  const sig = Buffer.from(quote);
  sig[48 + 584 + 4] ^= 1; // first byte of the quote signature
  await rejects(v.verify(input(sig)), 'ERR_DCAP_QUOTE_SIGNATURE');
  // TCB Info text changed after signing: new bytes, so a cache miss, and the signature fails.
  const good = state.file;
  assert.ok(good.includes('"tcbEvaluationDataNumber":17'));
  state.file = good.replace('"tcbEvaluationDataNumber":17', '"tcbEvaluationDataNumber":18');
  await rejects(v.verify(input(quote)), 'ERR_DCAP_COLLATERAL_SIGNATURE');
  state.file = good;
  await v.verify(input(quote));
});

test('a verifier pinned to another root does not reuse the first instance\'s cache', async () => {
  const other = await makePki();
  const a = verifier(pki, { file: fileFor(pki) });
  const b = verifier(other, { file: fileFor(pki) });
  await a.verify(input(quote));
  await rejects(b.verify(input(quote)), 'ERR_DCAP_UNTRUSTED_ROOT');
  await rejects(b.verify(input(quote)), 'ERR_DCAP_UNTRUSTED_ROOT');
  assert.equal(b.cacheStats.pckChainVerifications, 2, 'b verified itself, twice: failures are not cached');
  // b accepts its own platform's quote with its own collateral; a still refuses that quote.
  const otherQuote = await makeQuote({ version: 4, pki: other, body: tdBody({}, false) });
  const b2 = verifier(other, { file: fileFor(other) });
  await b2.verify(input(otherQuote));
  await rejects(a.verify(input(otherQuote)), 'ERR_DCAP_UNTRUSTED_ROOT');
});
