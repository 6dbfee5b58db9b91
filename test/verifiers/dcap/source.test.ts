/**
 * Collateral sources: PCS/PCCS over an injected fetch (URLs, headers, caching bounded by nextUpdate, coalesced
 * concurrent misses, failures not cached) and configuration decoding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoalescingCache, PcsCollateralSource, type Fetch } from '../../../src/verifiers/dcap/source.js';
import { parseDcapConfig } from '../../../src/verifiers/dcap/config.js';
import { parseQuote } from '../../../src/verifiers/dcap/quote.js';
import { verifyQuote } from '../../../src/verifiers/dcap/verify.js';
import { NOW, makePki, makeQuote, qeIdentityObject, signedBody, tcbInfoObject, tdBody } from './support/forge.js';

async function pcsFixture() {
  const pki = await makePki();
  const tcb = signedBody('tcbInfo', JSON.stringify(tcbInfoObject()), pki.tcbSigner);
  const qe = signedBody('enclaveIdentity', JSON.stringify(qeIdentityObject()), pki.tcbSigner);
  const chain = encodeURIComponent(pki.tcbSigner.pem + pki.root.pem);
  const calls: string[] = [];
  let fail = false;
  const fetch: Fetch = async (url) => {
    calls.push(url);
    await new Promise((r) => setImmediate(r));
    if (fail) return { status: 503, headers: new Headers(), body: new Uint8Array() };
    const u = new URL(url);
    if (u.pathname === '/tdx/certification/v4/tcb') {
      assert.equal(u.searchParams.get('fmspc'), '00A06D080000');
      return { status: 200, headers: new Headers({ 'TCB-Info-Issuer-Chain': chain }), body: Buffer.from(tcb) };
    }
    if (u.pathname === '/tdx/certification/v4/qe/identity') {
      return { status: 200, headers: new Headers({ 'SGX-Enclave-Identity-Issuer-Chain': chain }), body: Buffer.from(qe) };
    }
    if (u.pathname === '/sgx/certification/v4/pckcrl') {
      return { status: 200, headers: new Headers(), body: u.searchParams.get('ca') === 'platform' ? pki.pckCrl : pki.pckCrl };
    }
    if (u.pathname === '/sgx/certification/v4/rootcacrl') {
      // PCCS answers the root CA CRL as hex text.
      return { status: 200, headers: new Headers(), body: Buffer.from(Buffer.from(pki.rootCrl).toString('hex')) };
    }
    return { status: 404, headers: new Headers(), body: new Uint8Array() };
  };
  return { pki, fetch, calls, setFail: (v: boolean) => (fail = v) };
}

test('PCCS source: collateral fetched, verifies, cached, and concurrent misses coalesced', async () => {
  const f = await pcsFixture();
  const src = new PcsCollateralSource('https://pccs.example:8081/sgx/certification/v4/', f.fetch, 'standard', new CoalescingCache(3_600_000));
  const req = { tee: 'tdx' as const, fmspc: Buffer.from('00a06d080000', 'hex') };
  const [a, b] = await Promise.all([src.get(req, NOW), src.get(req, NOW)]);
  assert.equal(f.calls.length, 5, 'two concurrent gets share one request per item');
  assert.ok(f.calls.includes('https://pccs.example:8081/tdx/certification/v4/tcb?fmspc=00A06D080000&update=standard'));
  assert.ok(f.calls.includes('https://pccs.example:8081/sgx/certification/v4/rootcacrl'));
  assert.equal(a.tcbInfo.raw, b.tcbInfo.raw);
  const quote = parseQuote(await makeQuote({ version: 4, pki: f.pki, body: tdBody({}, false) }));
  assert.equal((await verifyQuote(quote, a, { now: NOW, rootSha256: f.pki.rootSha256 })).tcb.verdict, 'UpToDate');
  await src.get(req, new Date(NOW.getTime() + 60_000));
  assert.equal(f.calls.length, 5, 'served from cache');
  // Past the TCB Info's nextUpdate (2025-07-01) the cached entry is not reused.
  await src.get(req, new Date('2025-07-02T00:00:00Z'));
  assert.ok(f.calls.length > 5);
});

test('PCCS source: failures surface as a typed error and are not cached', async () => {
  const f = await pcsFixture();
  const src = new PcsCollateralSource('https://pccs.example/', f.fetch, 'early', new CoalescingCache(3_600_000));
  const req = { tee: 'tdx' as const, fmspc: Buffer.from('00a06d080000', 'hex') };
  f.setFail(true);
  await assert.rejects(src.get(req, NOW), { code: 'ERR_DCAP_COLLATERAL_UNAVAILABLE' });
  f.setFail(false);
  const c = await src.get(req, NOW);
  assert.ok(c.tcbInfo.raw.length > 0);
  assert.ok(f.calls.some((u) => u.endsWith('update=early')));
});

test('config: defaults, accepted statuses, insecure switches warn, unknown keys and bad values refused', () => {
  const d = parseDcapConfig({});
  assert.equal(d.tcbUpdateType, 'standard');
  assert.equal(d.acceptedTcbStatuses.has('Revoked'), false);
  assert.equal(d.acceptedTcbStatuses.has('OutOfDate'), true);
  assert.equal(d.allowMissingCrls, false);
  const warnings: string[] = [];
  const c = parseDcapConfig(
    { dcap_verifier: { collateral_service: 'file:///x.json', accepted_tcb_statuses: ['UpToDate'], insecure_allow_missing_crls: true } },
    (m) => warnings.push(m),
  );
  assert.deepEqual([...c.acceptedTcbStatuses], ['UpToDate']);
  assert.equal(warnings.length, 1);
  assert.throws(() => parseDcapConfig({ dcap_verifier: { insecure_allow_missing_crl: true } }), { code: 'ERR_CONFIG' });
  assert.throws(() => parseDcapConfig({ dcap_verifier: { accepted_tcb_statuses: ['OK'] } }), { code: 'ERR_CONFIG' });
  assert.throws(() => parseDcapConfig({ dcap_verifier: { tcb_update_type: 'late' } }), { code: 'ERR_CONFIG' });
  assert.throws(() => parseDcapConfig({ dcap_verifier: { collateral_service: '/etc/x.json' } }), { code: 'ERR_CONFIG' });
  assert.throws(() => parseDcapConfig({ dcap_verifier: { allow_expired_collateral: 'yes' } }), { code: 'ERR_CONFIG' });
});

test('PCS outage: cached collateral that is still valid is served; once it expires, fail closed', async () => {
  const f = await pcsFixture();
  const src = new PcsCollateralSource('https://api.trustedservices.intel.com/sgx/certification/v4/', f.fetch, 'standard', new CoalescingCache(60_000));
  const req = { tee: 'tdx' as const, fmspc: Buffer.from('00a06d080000', 'hex') };
  await assert.rejects(src.get(req, NOW), { code: 'ERR_DCAP_COLLATERAL_UNAVAILABLE' }); // Intel CDP URL for the root CRL is not served here
  assert.ok(f.calls.includes('https://certificates.trustedservices.intel.com/IntelSGXRootCA.der'));
  const pccs = new PcsCollateralSource('https://pccs.example/', f.fetch, 'standard', new CoalescingCache(60_000));
  const first = await pccs.get(req, NOW);
  f.setFail(true);
  const later = new Date(NOW.getTime() + 3_600_000); // past the TTL, before nextUpdate (2025-07-01)
  const served = await pccs.get(req, later);
  assert.equal(served.tcbInfo.raw, first.tcbInfo.raw);
  await assert.rejects(pccs.get(req, new Date('2025-07-02T00:00:00Z')), { code: 'ERR_DCAP_COLLATERAL_UNAVAILABLE' });
});

test('file source: re-reads the file only when its mtime changes; unreadable file is a typed error', async () => {
  const { FileCollateralSource } = await import('../../../src/verifiers/dcap/source.js');
  const { collateralFile } = await import('./support/forge.js');
  const pki = await makePki();
  const chain = pki.tcbSigner.pem + pki.root.pem;
  const file = collateralFile({
    fmspc: '00A06D080000',
    tee: 'tdx',
    tcbInfoBody: signedBody('tcbInfo', JSON.stringify(tcbInfoObject()), pki.tcbSigner),
    qeIdentityBody: signedBody('enclaveIdentity', JSON.stringify(qeIdentityObject()), pki.tcbSigner),
    tcbChainPem: chain,
    qeChainPem: chain,
    pckCrl: pki.pckCrl,
    rootCrl: pki.rootCrl,
  });
  let reads = 0;
  let mtime = 1;
  const src = new FileCollateralSource('/c.json', async () => (reads++, file), 'standard', async () => mtime);
  const req = { tee: 'tdx' as const, fmspc: Buffer.from('00a06d080000', 'hex') };
  await src.get(req);
  await src.get(req);
  assert.equal(reads, 1);
  mtime = 2;
  const c = await src.get(req);
  assert.equal(reads, 2);
  assert.equal(c.tcbInfo.value.tcbEvaluationDataNumber, 17);
  assert.ok(c.pckCrl.platform && c.rootCaCrl);
  assert.equal(c.pckCrl.processor, undefined);
  const broken = new FileCollateralSource('/missing.json', async () => Promise.reject(new Error('ENOENT /secret/path')), 'standard');
  await assert.rejects(broken.get(req), (e: Error & { code?: string }) => e.code === 'ERR_DCAP_COLLATERAL_UNAVAILABLE' && !e.message.includes('secret'));
  // tcb_update_type=early selects tdx_tcbinfo_early, which this file lacks.
  const early = new FileCollateralSource('/c.json', async () => file, 'early');
  await assert.rejects(early.get(req), { code: 'ERR_DCAP_COLLATERAL_NOT_FOUND' });
});
