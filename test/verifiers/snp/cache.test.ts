// The snp verifier's content-addressed caches: a warm verifier skips the pure work (certificate parse, VCEK-by-ASK
// signature, CRL signature) but still rejects expired certificates, newly revoked intermediates, tampered reports,
// and never lends its entries to a verifier pinned to another root. Evidence and PKI are made here (amd-pki.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SnpVerifier } from '../../../src/verifiers/snp/verifier.js';
import { VerificationError, type Json, type JsonObject } from '../../../src/verifiers/types.js';
import type { TcbVersion } from '../../../src/verifiers/snp/layout.js';
import { anchorsDir, evidenceOf, makeCrl, makePki, makeVek, reportFields, signReport, type AmdPki, type Vek } from './amd-pki.js';
import { Lru } from '../../../src/util/lru.js';

const NOW = new Date('2025-06-01T00:00:00Z');
const TCB: TcbVersion = { bootloader: 3, tee: 0, snp: 8, microcode: 115 };
const CHIP = new Uint8Array(64).fill(0x5c);

const milan = await makePki('Milan');
const other = await makePki('Milan'); // same generation and names, different keys
// The VCEK expires 2025-09-01 while ASK/ARK and the CRL window (2025-05-01 .. 2025-07-01 by default) go on.
const vcek = await makeVek(milan, { tcb: TCB, hwid: CHIP, product: 'Milan-B0', notAfter: new Date('2025-09-01T00:00:00Z') });
const otherVcek = await makeVek(other, { tcb: TCB, hwid: CHIP, product: 'Milan-B0' });

const report = (v: Vek) => signReport(reportFields('Milan', TCB), v.signingKey);
const ev = (r: Uint8Array, v: Vek) => evidenceOf(r, [['VCEK', v.der]]) as Json;

function verifier(pki: AmdPki, dir: string, cfg: JsonObject = {}, clock?: { t: number }) {
  return new SnpVerifier(
    { config: { snp_verifier: { trust_anchors_dir: dir, crl: 'required', ...cfg } }, log: { warn: () => {}, info: () => {} } },
    { pins: { Milan: pki.arkSha256, Genoa: pki.arkSha256, Turin: pki.arkSha256 }, cache: { crlRecheckMs: 60_000, ...(clock ? { clock: () => clock.t } : {}) } },
  );
}

async function rejects(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof VerificationError, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });
}

test('second verification of the same evidence hits the caches', async () => {
  const dir = anchorsDir([milan], { 'milan_vcek_crl.der': await makeCrl(milan, {}) });
  const v = verifier(milan, dir);
  const e = ev(report(vcek), vcek);
  const [a] = await v.verify({ evidence: e, now: NOW });
  assert.deepEqual(v.cacheStats, { certParses: 1, chainVerifications: 1, crlVerifications: 1, crlLookups: 1 });
  const [b] = await v.verify({ evidence: e, now: NOW });
  assert.deepEqual(b, a);
  assert.deepEqual(v.cacheStats, { certParses: 1, chainVerifications: 1, crlVerifications: 1, crlLookups: 1 });
  // A different report from the same chip: its signature is new work, the chain is not.
  const r2 = signReport(reportFields('Milan', TCB, { reportData: new Uint8Array(64).fill(1) }), vcek.signingKey);
  await v.verify({ evidence: ev(r2, vcek), now: NOW });
  assert.equal(v.cacheStats.chainVerifications, 1);
});

test('a cached chain is rejected once now passes the VCEK notAfter', async () => {
  // A CRL current at both times, so only the certificate window can fail.
  const dir = anchorsDir([milan], { 'milan_vcek_crl.der': await makeCrl(milan, { nextUpdate: new Date('2026-01-01T00:00:00Z') }) });
  const v = verifier(milan, dir);
  const e = ev(report(vcek), vcek);
  await v.verify({ evidence: e, now: NOW });
  await rejects(v.verify({ evidence: e, now: new Date('2025-09-01T00:00:01Z') }), 'SNP_CERT_EXPIRED');
  // ... and before notBefore of the chain (the PKI starts 2020-01-01).
  await rejects(v.verify({ evidence: e, now: new Date('2019-12-31T23:59:59Z') }), 'SNP_CERT_EXPIRED');
  assert.equal(v.cacheStats.chainVerifications, 1, 'the rejection came from the cached chain, not a re-verification');
  // Still fine at the original time.
  await v.verify({ evidence: e, now: NOW });
});

test('a cached chain is rejected when a newer CRL revokes the ASK', async () => {
  const dir = anchorsDir([milan], { 'milan_vcek_crl.der': await makeCrl(milan, {}) });
  const clock = { t: 1_000_000 };
  const v = verifier(milan, dir, {}, clock);
  const e = ev(report(vcek), vcek);
  await v.verify({ evidence: e, now: NOW });
  // AMD publishes a CRL revoking the ASK (serial 0x0100 in amd-pki.ts).
  writeFileSync(join(dir, 'milan_vcek_crl.der'), await makeCrl(milan, { revokedSerials: ['0100'], thisUpdate: new Date('2025-05-15T00:00:00Z') }));
  clock.t += 60_001;
  await rejects(v.verify({ evidence: e, now: NOW }), 'SNP_CERT_REVOKED');
  assert.equal(v.cacheStats.chainVerifications, 1, 'chain came from the cache');
  assert.equal(v.cacheStats.crlVerifications, 2, 'the new CRL bytes were verified');
  assert.equal(v.cacheStats.crlLookups, 2);
});

test('a cached CRL is not used outside its own window at the caller\'s now', async () => {
  const dir = anchorsDir([milan], { 'milan_vcek_crl.der': await makeCrl(milan, {}) }); // 2025-05-01 .. 2025-07-01
  const v = verifier(milan, dir, {}, { t: 0 });
  const e = ev(report(vcek), vcek);
  await v.verify({ evidence: e, now: NOW });
  await rejects(v.verify({ evidence: e, now: new Date('2025-07-02T00:00:00Z') }), 'SNP_CRL_STALE');
  assert.equal(v.cacheStats.crlVerifications, 1, 'the CRL signature was reused; its window was not');
});

test('tampered report bytes and a tampered VCEK are rejected on a warm cache', async () => {
  const dir = anchorsDir([milan], { 'milan_vcek_crl.der': await makeCrl(milan, {}) });
  const v = verifier(milan, dir);
  const r = report(vcek);
  await v.verify({ evidence: ev(r, vcek), now: NOW });
  const bad = Uint8Array.from(r);
  bad[0x90] ^= 1; // measurement
  await rejects(v.verify({ evidence: ev(bad, vcek), now: NOW }), 'SNP_SIGNATURE_INVALID');
  const badSig = Uint8Array.from(r);
  badSig[0x2a0] ^= 1; // signature r
  await rejects(v.verify({ evidence: ev(badSig, vcek), now: NOW }), 'SNP_SIGNATURE_INVALID');
  // One byte of the VCEK's signature changed: new bytes, new cache key, and the ASK signature fails.
  const der = Uint8Array.from(vcek.der);
  der[der.length - 5] ^= 1;
  await rejects(v.verify({ evidence: ev(r, { ...vcek, der }), now: NOW }), 'SNP_CERT_CHAIN');
  // The genuine evidence still verifies.
  await v.verify({ evidence: ev(r, vcek), now: NOW });
});

test('a verifier pinned to another root does not reuse the first instance\'s cache', async () => {
  const crls = { 'milan_vcek_crl.der': await makeCrl(milan, {}) };
  const a = verifier(milan, anchorsDir([milan], crls));
  const b = verifier(other, anchorsDir([other], { 'milan_vcek_crl.der': await makeCrl(other, {}) }));
  const e = ev(report(vcek), vcek);
  await a.verify({ evidence: e, now: NOW });
  await rejects(b.verify({ evidence: e, now: NOW }), 'SNP_CERT_CHAIN');
  assert.deepEqual([b.cacheStats.certParses, b.cacheStats.chainVerifications], [1, 1], 'b did its own parse and chain check');
  // b accepts its own chip's evidence, and a still refuses it after b cached it.
  const eo = ev(report(otherVcek), otherVcek);
  await b.verify({ evidence: eo, now: NOW });
  await rejects(a.verify({ evidence: eo, now: NOW }), 'SNP_CERT_CHAIN');
  await rejects(a.verify({ evidence: eo, now: NOW }), 'SNP_CERT_CHAIN');
  assert.equal(a.cacheStats.chainVerifications, 3, 'a failed chain is never cached as good');
});

test('best-effort without a CRL: the "unavailable" outcome is reused for the recheck period only', async () => {
  const dir = anchorsDir([milan]);
  const clock = { t: 5_000 };
  const v = verifier(milan, dir, { crl: 'best-effort' }, clock);
  const e = ev(report(vcek), vcek);
  await v.verify({ evidence: e, now: NOW });
  await v.verify({ evidence: e, now: NOW });
  assert.equal(v.cacheStats.crlLookups, 1);
  // The operator installs a revoking CRL; once the recheck period has passed it is used.
  writeFileSync(join(dir, 'milan_vcek_crl.der'), await makeCrl(milan, { revokedSerials: ['0100'] }));
  clock.t += 60_000;
  await rejects(v.verify({ evidence: e, now: NOW }), 'SNP_CERT_REVOKED');
  assert.equal(v.cacheStats.crlLookups, 2);
});

test('required mode: an unavailable CRL stays a rejection while it is remembered', async () => {
  const v = verifier(milan, anchorsDir([milan]), {}, { t: 0 });
  const e = ev(report(vcek), vcek);
  await rejects(v.verify({ evidence: e, now: NOW }), 'SNP_CRL_UNAVAILABLE');
  await rejects(v.verify({ evidence: e, now: NOW }), 'SNP_CRL_UNAVAILABLE');
  assert.equal(v.cacheStats.crlLookups, 1);
});

test('LRU keeps at most its capacity, evicting the least recently used', () => {
  const l = new Lru<string, number>(2);
  l.set('a', 1);
  l.set('b', 2);
  assert.equal(l.get('a'), 1); // a is now most recent
  l.set('c', 3);
  assert.equal(l.size, 2);
  assert.equal(l.get('b'), undefined);
  assert.equal(l.get('a'), 1);
  assert.equal(l.get('c'), 3);
  assert.throws(() => new Lru(0), RangeError);
});
