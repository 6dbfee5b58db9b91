// The snp verifier against AMD-shaped chains and reports this test makes itself (own ARK pinned by injection),
// including every tampering the security cases name. No network: KDS is a fake fetch speaking KDS's wire format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SnpVerifier, type SnpVerifierOptions } from '../../../src/verifiers/snp/verifier.js';
import { VerificationError, type Json, type JsonObject, type VerifierContext } from '../../../src/verifiers/types.js';
import { derToPem } from '../../../src/verifiers/snp/certs.js';
import { parseReport, serializeReport, type AttestationReport, type Generation, type TcbVersion } from '../../../src/verifiers/snp/layout.js';
import { anchorsDir, evidenceOf, makeCrl, makePki, makeVek, reportFields, signReport, type AmdPki } from './amd-pki.js';

const NOW = new Date('2025-06-01T00:00:00Z');
const MILAN_TCB: TcbVersion = { bootloader: 3, tee: 0, snp: 8, microcode: 115 };
const TURIN_TCB: TcbVersion = { fmc: 1, bootloader: 2, tee: 0, snp: 5, microcode: 70 };
const CHIP = new Uint8Array(64).fill(0x5c);

const milan = await makePki('Milan');
const genoa = await makePki('Genoa');
const turin = await makePki('Turin');
const pins = { Milan: milan.arkSha256, Genoa: genoa.arkSha256, Turin: turin.arkSha256 };
const okCrl = { milan_vcek_crl: await makeCrl(milan, {}), milan_vlek_crl: await makeCrl(milan, {}) };
const dir = anchorsDir([milan, genoa, turin], { 'milan_vcek_crl.der': okCrl.milan_vcek_crl, 'milan_vlek_crl.der': okCrl.milan_vlek_crl });
const milanVcek = await makeVek(milan, { tcb: MILAN_TCB, hwid: CHIP, product: 'Milan-B0' });

function v(cfg: JsonObject = {}, ctx: Partial<VerifierContext> = {}, opts: SnpVerifierOptions = { pins }) {
  return new SnpVerifier({ config: { snp_verifier: { trust_anchors_dir: dir, crl: 'best-effort', ...cfg } }, ...ctx }, opts);
}

async function rejects(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof VerificationError, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });
}

function milanReport(over: Partial<AttestationReport> = {}) {
  return signReport(reportFields('Milan', MILAN_TCB, over), milanVcek.signingKey);
}

const ev = (report: Uint8Array, certs: [string, Uint8Array][] = [['VCEK', milanVcek.der]]) => evidenceOf(report, certs) as Json;

test('own Milan chain verifies in required-CRL mode with the ARK pin injected', async () => {
  const [cs] = await v({ crl: 'required' }).verify({ evidence: ev(milanReport()), now: NOW });
  assert.equal(cs.claims.generation, 'Milan');
  assert.equal(cs.claims.reported_tcb_microcode, 115);
  assert.equal(cs.claims.measurement, 'aa'.repeat(48));
});

test('production pins (AMD) refuse our own root; a wrong injected pin is refused', async () => {
  await rejects(v({}, {}, {}).verify({ evidence: ev(milanReport()), now: NOW }), 'SNP_TRUST_ANCHOR');
  await rejects(v({}, {}, { pins: { ...pins, Milan: genoa.arkSha256 } }).verify({ evidence: ev(milanReport()), now: NOW }), 'SNP_TRUST_ANCHOR');
});

test('CRL: revoked ASK, stale, not-yet-valid, and badly signed CRLs are rejected', async () => {
  const cases: [string, Uint8Array, string][] = [
    ['revoked', await makeCrl(milan, { revokedSerials: ['0100'] }), 'SNP_CERT_REVOKED'],
    ['stale', await makeCrl(milan, { thisUpdate: new Date('2025-01-01T00:00:00Z'), nextUpdate: new Date('2025-02-01T00:00:00Z') }), 'SNP_CRL_STALE'],
    ['future', await makeCrl(milan, { thisUpdate: new Date('2025-07-01T00:00:00Z'), nextUpdate: new Date('2025-09-01T00:00:00Z') }), 'SNP_CRL_STALE'],
    ['bad signature', await makeCrl(milan, { signer: milan.ask.key.privateKey }), 'SNP_CRL_INVALID'],
  ];
  for (const [name, crl, code] of cases) {
    const d = anchorsDir([milan], { 'milan_vcek_crl.der': crl });
    await rejects(v({ trust_anchors_dir: d, crl: 'required' }).verify({ evidence: ev(milanReport()), now: NOW }), code).catch((e) => {
      throw new Error(`${name}: ${e}`);
    });
  }
  // A revoked ASVK does not affect the VCEK path, but does the VLEK path.
  const d = anchorsDir([milan], { 'milan_vcek_crl.der': await makeCrl(milan, { revokedSerials: ['0200'] }), 'milan_vlek_crl.der': await makeCrl(milan, { revokedSerials: ['0200'] }) });
  await v({ trust_anchors_dir: d, crl: 'required' }).verify({ evidence: ev(milanReport()), now: NOW });
  const vlek = await makeVek(milan, { kind: 'vlek', tcb: MILAN_TCB });
  const r = signReport(reportFields('Milan', MILAN_TCB, { keyInfo: 1 << 2, chipId: new Uint8Array(64) }), vlek.signingKey);
  await rejects(v({ trust_anchors_dir: d, crl: 'required' }).verify({ evidence: ev(r, [['VLEK', vlek.der]]), now: NOW }), 'SNP_CERT_REVOKED');
});

test('CRL mode "off" skips revocation but warns', async () => {
  const warnings: string[] = [];
  const d = anchorsDir([milan], { 'milan_vcek_crl.der': await makeCrl(milan, { revokedSerials: ['0100'] }) });
  await v({ trust_anchors_dir: d, crl: 'off' }, { log: { warn: (m) => warnings.push(m), info: () => {} } }).verify({ evidence: ev(milanReport()), now: NOW });
  assert.ok(warnings.some((w) => /insecure/.test(w)));
});

test('TCB: each component of reported_tcb must equal the VCEK extension', async () => {
  for (const c of ['bootloader', 'tee', 'snp', 'microcode'] as const) {
    const vek = await makeVek(milan, { tcb: { ...MILAN_TCB, [c]: MILAN_TCB[c] + 1 }, hwid: CHIP });
    const r = signReport(reportFields('Milan', MILAN_TCB), vek.signingKey);
    await rejects(v().verify({ evidence: ev(r, [['VCEK', vek.der]]), now: NOW }), 'SNP_TCB_MISMATCH');
  }
});

test('minimum TCB is compared component by component, not as a packed integer', async () => {
  // bootloader 3 < 4 while microcode 115 ≥ 100: the packed value is higher in the low byte but bootloader is low.
  await rejects(v({ min_tcb: { bootloader: 4, microcode: 100 } }).verify({ evidence: ev(milanReport()), now: NOW }), 'SNP_TCB_TOO_LOW');
  await v({ min_tcb: { bootloader: 3, tee: 0, snp: 8, microcode: 115 } }).verify({ evidence: ev(milanReport()), now: NOW });
});

test('VLEK under the ASK and VCEK under the ASVK are refused', async () => {
  const vlekUnderAsk = await makeVek(milan, { kind: 'vlek', tcb: MILAN_TCB, issuer: milan.ask });
  const r1 = signReport(reportFields('Milan', MILAN_TCB, { keyInfo: 1 << 2 }), vlekUnderAsk.signingKey);
  await rejects(v().verify({ evidence: ev(r1, [['VLEK', vlekUnderAsk.der]]), now: NOW }), 'SNP_CERT_CHAIN');
  const vcekUnderAsvk = await makeVek(milan, { tcb: MILAN_TCB, hwid: CHIP, issuer: milan.asvk });
  const r2 = signReport(reportFields('Milan', MILAN_TCB), vcekUnderAsvk.signingKey);
  await rejects(v().verify({ evidence: ev(r2, [['VCEK', vcekUnderAsvk.der]]), now: NOW }), 'SNP_CERT_CHAIN');
  // report says VCEK, chain carries a VLEK
  const vlek = await makeVek(milan, { kind: 'vlek', tcb: MILAN_TCB });
  const r3 = signReport(reportFields('Milan', MILAN_TCB), vlek.signingKey);
  await rejects(v().verify({ evidence: ev(r3, [['VLEK', vlek.der]]), now: NOW }), 'SNP_CERT_CHAIN');
});

test('AMD signature parameters are enforced: RSASSA-PSS with salt 32 is refused', async () => {
  const salt32 = await makeVek(milan, { tcb: MILAN_TCB, hwid: CHIP, signingAlgorithm: { name: 'RSA-PSS', hash: 'SHA-384', saltLength: 32 } });
  await rejects(v().verify({ evidence: ev(signReport(reportFields('Milan', MILAN_TCB), salt32.signingKey), [['VCEK', salt32.der]]), now: NOW }), 'SNP_CERT_CHAIN');
});

test('wrong generation: CPUID vs product name, and a Genoa VCEK against Milan anchors', async () => {
  const genoaNamed = await makeVek(milan, { tcb: MILAN_TCB, hwid: CHIP, product: 'Genoa' });
  await rejects(v().verify({ evidence: ev(signReport(reportFields('Milan', MILAN_TCB), genoaNamed.signingKey), [['VCEK', genoaNamed.der]]), now: NOW }), 'SNP_GENERATION_MISMATCH');
  // Genoa-signed VCEK claiming to be Milan: fails the Milan ASK signature.
  const crossSigned = await makeVek(genoa, { tcb: MILAN_TCB, hwid: CHIP, product: 'Milan-B0' });
  await rejects(v().verify({ evidence: ev(signReport(reportFields('Milan', MILAN_TCB), crossSigned.signingKey), [['VCEK', crossSigned.der]]), now: NOW }), 'SNP_CERT_CHAIN');
  // Unknown CPUID family
  await rejects(v().verify({ evidence: ev(milanReport({ cpuid: { family: 0x17, model: 0x31, stepping: 0 } })), now: NOW }), 'SNP_UNKNOWN_GENERATION');
  // v2 report (no CPUID): generation from the VCEK product name
  const [cs] = await v().verify({ evidence: ev(milanReport({ version: 2, cpuid: null })), now: NOW });
  assert.equal(cs.claims.generation, 'Milan');
  await rejects(v({ min_report_version: 3 }).verify({ evidence: ev(milanReport({ version: 2, cpuid: null })), now: NOW }), 'SNP_REPORT_VERSION');
});

test('policy bits: debug verifies with claim true unless rejected; migration agent; single socket', async () => {
  const debug = milanReport({ policy: 0x30000n | (1n << 19n) });
  const [cs] = await v().verify({ evidence: ev(debug), now: NOW });
  assert.equal(cs.claims.policy_debug_allowed, true);
  await rejects(v({ reject_debug: true }).verify({ evidence: ev(debug), now: NOW }), 'SNP_POLICY');
  await rejects(v({ reject_migration_agent: true }).verify({ evidence: ev(milanReport({ policy: 0x30000n | (1n << 18n) })), now: NOW }), 'SNP_POLICY');
  await rejects(v({ require_single_socket: true }).verify({ evidence: ev(milanReport()), now: NOW }), 'SNP_POLICY');
  // template: policy allows SMT (bit 16) and platform_info has SMT enabled (bit 0)
  await rejects(v({ require_smt_disabled: true }).verify({ evidence: ev(milanReport()), now: NOW }), 'SNP_POLICY');
  await rejects(v({ require_smt_disabled: true }).verify({ evidence: ev(milanReport({ policy: 0x20000n })), now: NOW }), 'SNP_POLICY');
  await v({ require_smt_disabled: true }).verify({ evidence: ev(milanReport({ policy: 0x20000n, platformInfo: 0n })), now: NOW });
});

test('VMPL other than the configured one (default 0) is rejected', async () => {
  await rejects(v().verify({ evidence: ev(milanReport({ vmpl: 2 })), now: NOW }), 'SNP_VMPL');
  await v({ vmpl: 2 }).verify({ evidence: ev(milanReport({ vmpl: 2 })), now: NOW });
});

test('allow-lists and binding to report_data / host_data', async () => {
  const rd = new Uint8Array(48).fill(9);
  const hd = new Uint8Array(32).fill(4);
  const r = milanReport({ reportData: Uint8Array.from([...rd, ...new Uint8Array(16)]), hostData: hd });
  await v().verify({ evidence: ev(r), now: NOW, expectedReportData: rd, expectedInitDataHash: hd });
  // sha384 init-data digest: truncated to 32 (Trustee's regularize)
  await v().verify({ evidence: ev(r), now: NOW, expectedInitDataHash: Uint8Array.from([...hd, ...new Uint8Array(16).fill(0xee)]) });
  await rejects(v().verify({ evidence: ev(r), now: NOW, expectedReportData: new Uint8Array(48).fill(8) }), 'SNP_REPORT_DATA_MISMATCH');
  await rejects(v({ allowed_measurements: ['bb'.repeat(48)] }).verify({ evidence: ev(r), now: NOW }), 'SNP_NOT_ALLOWED');
  await v({ allowed_measurements: ['aa'.repeat(48)], allowed_host_data: ['04'.repeat(32)] }).verify({ evidence: ev(r), now: NOW });
});

test('mutated report bytes are rejected (signature covers 0x000–0x29F)', async () => {
  const good = milanReport();
  for (const off of [0x04, 0x08, 0x50, 0x90, 0xc0, 0x140, 0x1e8, 0x29f]) {
    const r = Uint8Array.from(good);
    r[off] ^= 0x10;
    await assert.rejects(v().verify({ evidence: ev(r), now: NOW }), VerificationError, `offset 0x${off.toString(16)}`);
  }
});

test('signature r/s: zero, ≥ n, and nonzero bytes beyond 48 are rejected before verification', async () => {
  const n = Buffer.from('ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973', 'hex').reverse();
  const good = milanReport();
  const variants: [string, (r: Uint8Array) => void][] = [
    ['r = 0', (r) => r.fill(0, 0x2a0, 0x2a0 + 72)],
    ['s = 0', (r) => r.fill(0, 0x2e8, 0x2e8 + 72)],
    ['r = n', (r) => r.set(n, 0x2a0)],
    ['s = n', (r) => r.set(n, 0x2e8)],
    ['r byte 48 set', (r) => { r[0x2a0 + 48] = 1; }],
    ['s byte 71 set', (r) => { r[0x2e8 + 71] = 1; }],
  ];
  for (const [name, mutate] of variants) {
    const r = Uint8Array.from(good);
    mutate(r);
    await rejects(v().verify({ evidence: ev(r), now: NOW }), 'SNP_SIGNATURE_INVALID').catch((e) => { throw new Error(`${name}: ${e}`); });
  }
  // bytes after s (0x330..) are outside the signed area and the r/s fields: still fine
  const r = Uint8Array.from(good);
  r[0x400] = 1;
  await v().verify({ evidence: ev(r), now: NOW });
});

test('CHIP_ID binding: mismatch, masked (opt-in), and the OCTET STRING hwID encoding', async () => {
  await rejects(v().verify({ evidence: ev(milanReport({ chipId: new Uint8Array(64).fill(1) })), now: NOW }), 'SNP_CHIP_ID_MISMATCH');
  const masked = milanReport({ chipId: new Uint8Array(64) });
  await rejects(v().verify({ evidence: ev(masked), now: NOW }), 'SNP_CHIP_ID_MISMATCH');
  await v({ allow_masked_chip_id: true }).verify({ evidence: ev(masked), now: NOW });
  const octet = await makeVek(milan, { tcb: MILAN_TCB, hwid: CHIP, hwidEncoding: 'octet' });
  await v().verify({ evidence: ev(signReport(reportFields('Milan', MILAN_TCB), octet.signingKey), [['VCEK', octet.der]]), now: NOW });
});

test('expired and not-yet-valid VCEKs are rejected', async () => {
  const old = await makeVek(milan, { tcb: MILAN_TCB, hwid: CHIP, notAfter: new Date('2025-01-01T00:00:00Z') });
  await rejects(v().verify({ evidence: ev(signReport(reportFields('Milan', MILAN_TCB), old.signingKey), [['VCEK', old.der]]), now: NOW }), 'SNP_CERT_EXPIRED');
  const early = await makeVek(milan, { tcb: MILAN_TCB, hwid: CHIP, notBefore: new Date('2025-07-01T00:00:00Z') });
  await rejects(v().verify({ evidence: ev(signReport(reportFields('Milan', MILAN_TCB), early.signingKey), [['VCEK', early.der]]), now: NOW }), 'SNP_CERT_EXPIRED');
});

test('Turin: FMC in TCB layout, 8-byte hwID, fmc mismatch rejected; v5 report', async () => {
  const vek = await makeVek(turin, { tcb: TURIN_TCB, hwid: CHIP.subarray(0, 8), product: 'Turin' });
  const fields = reportFields('Turin', TURIN_TCB, { version: 5, launchMitVector: 3n, currentMitVector: 7n });
  const r = signReport(fields, vek.signingKey);
  assert.deepEqual([...r.subarray(0x180, 0x188)], [1, 2, 0, 5, 0, 0, 0, 70]);
  const p = parseReport(r);
  assert.equal(p.launchMitVector, 3n);
  assert.equal(p.currentMitVector, 7n);
  const [cs] = await v().verify({ evidence: ev(r, [['VCEK', vek.der]]), now: NOW });
  assert.equal(cs.claims.generation, 'Turin');
  assert.equal(cs.claims.reported_tcb_fmc, 1);
  assert.equal(cs.claims.reported_tcb_bootloader, 2);
  const wrongFmc = await makeVek(turin, { tcb: { ...TURIN_TCB, fmc: 2 }, hwid: CHIP.subarray(0, 8), product: 'Turin' });
  await rejects(v().verify({ evidence: ev(signReport(fields, wrongFmc.signingKey), [['VCEK', wrongFmc.der]]), now: NOW }), 'SNP_TCB_MISMATCH');
});

test('layout: serialize(parse(x)) is x for a report with zero reserved bytes', () => {
  const r = milanReport();
  assert.deepEqual(serializeReport(parseReport(r)), r);
  assert.throws(() => parseReport(r.subarray(0, 1000)), VerificationError);
  const v1 = Uint8Array.from(r);
  v1[0] = 1;
  assert.throws(() => parseReport(v1), (e: unknown) => e instanceof VerificationError && e.code === 'SNP_REPORT_MALFORMED');
});

// ---- KDS: fake fetch with KDS's wire format --------------------------------------------------------------------

type Route = (url: string) => { status: number; headers?: Record<string, string>; body?: Uint8Array | string };

function fakeFetch(route: Route, log: string[]) {
  return async (url: string) => {
    log.push(url);
    const r = route(url);
    const body = typeof r.body === 'string' ? new TextEncoder().encode(r.body) : r.body ?? new Uint8Array();
    return { status: r.status, headers: new Headers(r.headers ?? {}), body };
  };
}

const hwidHex = Buffer.from(CHIP).toString('hex');
const KDS = 'https://kds.test';

test('KDS: VCEK fetched by hwID + TCB, 429 honoured via Retry-After, then cached on disk', async () => {
  const calls: string[] = [];
  const sleeps: number[] = [];
  let n = 0;
  const vcekPath = `${KDS}/vcek/v1/Milan/${hwidHex}?blSPL=03&teeSPL=00&snpSPL=08&ucodeSPL=115`;
  const fetch = fakeFetch((url) => {
    if (url === vcekPath) return ++n === 1 ? { status: 429, headers: { 'retry-after': '7' } } : { status: 200, body: milanVcek.der };
    return { status: 404 };
  }, calls);
  const cacheDir = mkdtempSync(join(tmpdir(), 'snp-cache-'));
  const noChain = { attestation_report: Buffer.from(milanReport()).toString('base64'), cert_chain: null } as Json;
  await v({ kds_base_url: KDS }, { fetch, cacheDir }, { pins, kds: { sleep: async (ms) => { sleeps.push(ms); } } }).verify({ evidence: noChain, now: NOW });
  assert.deepEqual(sleeps, [7000]);
  assert.equal(calls.filter((c) => c === vcekPath).length, 2);
  assert.ok(existsSync(join(cacheDir, 'snp', 'vcek', hwidHex, 'bl03_tee00_snp08_ucode115_vcek.der')));
  // offline now: the cached VCEK is used
  await v({ kds_base_url: KDS }, { cacheDir }).verify({ evidence: noChain, now: NOW });
  // a KDS that keeps answering 429 fails closed
  const always429 = fakeFetch(() => ({ status: 429, headers: { 'retry-after': '1' } }), []);
  await rejects(v({ kds_base_url: KDS }, { fetch: always429 }, { pins, kds: { sleep: async () => {} } }).verify({ evidence: noChain, now: NOW }), 'SNP_KDS_UNAVAILABLE');
  // no fetch, no cache, no store: names what was tried
  await rejects(v({ kds_base_url: KDS }).verify({ evidence: noChain, now: NOW }), 'SNP_VEK_UNAVAILABLE');
});

test('OfflineStore: {path}/vcek/{hwid}/{tcb}_vcek.der then vcek.der', async () => {
  const store = mkdtempSync(join(tmpdir(), 'snp-store-'));
  mkdirSync(join(store, 'vcek', hwidHex), { recursive: true });
  writeFileSync(join(store, 'vcek', hwidHex, 'vcek.der'), milanVcek.der);
  const noChain = { attestation_report: Buffer.from(milanReport()).toString('base64'), cert_chain: null } as Json;
  await v({ vcek_sources: [{ type: 'OfflineStore', path: store }] }).verify({ evidence: noChain, now: NOW });
});

test('trust anchors and CRL downloaded once from KDS, checked against the pin, cached', async () => {
  const calls: string[] = [];
  const chainPem = (kind: 'vcek' | 'vlek') => derToPem(kind === 'vcek' ? milan.ask.der : milan.asvk.der) + derToPem(milan.ark.der);
  const fetch = fakeFetch((url) => {
    if (url === `${KDS}/vcek/v1/Milan/cert_chain`) return { status: 200, body: chainPem('vcek'), headers: { 'content-type': 'application/x-pem-file' } };
    if (url === `${KDS}/vlek/v1/Milan/cert_chain`) return { status: 200, body: chainPem('vlek') };
    if (url === `${KDS}/vcek/v1/Milan/crl`) return { status: 200, body: okCrl.milan_vcek_crl, headers: { 'content-type': 'application/pkix-crl' } };
    return { status: 404 };
  }, calls);
  const cacheDir = mkdtempSync(join(tmpdir(), 'snp-cache-'));
  const cfg = { trust_anchors_dir: undefined as unknown as string, kds_base_url: KDS, crl: 'required' };
  delete (cfg as Record<string, unknown>).trust_anchors_dir;
  const mk = (ctx: Partial<VerifierContext>, o: SnpVerifierOptions = { pins }) => new SnpVerifier({ config: { snp_verifier: cfg }, ...ctx }, o);
  await mk({ fetch, cacheDir }).verify({ evidence: ev(milanReport()), now: NOW });
  assert.ok(existsSync(join(cacheDir, 'snp', 'milan_ask_ark_asvk.pem')));
  assert.ok(existsSync(join(cacheDir, 'snp', 'milan_vcek_crl.der')));
  // offline afterwards, from the cache
  await mk({ cacheDir }).verify({ evidence: ev(milanReport()), now: NOW });
  // with AMD's real pins, what this fake KDS serves is refused
  await rejects(mk({ fetch, cacheDir: mkdtempSync(join(tmpdir(), 'snp-cache-')) }, {}).verify({ evidence: ev(milanReport()), now: NOW }), 'SNP_TRUST_ANCHOR');
});

test('evidence edge: malformed shapes are typed errors', async () => {
  const bad: Json[] = [null, 1, {}, { attestation_report: 'not base64!' }, { attestation_report: 'AAAA' }, { attestation_report: Buffer.from(milanReport()).toString('base64'), cert_chain: 'x' },
    { attestation_report: Buffer.from(milanReport()).toString('base64'), cert_chain: [{ cert_type: 'VCEK', data: [256] }] },
    { attestation_report: { version: 3 } }];
  for (const e of bad) await assert.rejects(v().verify({ evidence: e, now: NOW }), VerificationError, JSON.stringify(e));
});

test('registry: snp, tpm and az-snp-vtpm are registered and build from an empty config', async () => {
  const { registeredTees, verifierFactory } = await import('../../../src/verifiers/index.js');
  for (const tee of ['snp', 'az-snp-vtpm', 'tpm']) assert.ok(registeredTees().includes(tee), tee);
  const snp = await verifierFactory('snp')!({ config: {} });
  // no trust anchors configured and offline: a clear error naming the file, never an accept
  await assert.rejects(snp.verify({ evidence: ev(milanReport()), now: NOW }), /milan_ask_ark_asvk\.pem/);
  await assert.rejects(Promise.resolve().then(() => verifierFactory('snp')!({ config: { snp_verifier: { crl: 'sometimes' } } })), /snp_verifier\.crl/);
});

test('KDS: a Retry-After beyond the limit fails at once; a KDS-served CRL revoking the ASK is enforced', async () => {
  const { kdsGet } = await import('../../../src/verifiers/snp/kds.js');
  const sleeps: number[] = [];
  const slow = fakeFetch(() => ({ status: 429, headers: { 'retry-after': '3600' } }), []);
  await rejects(kdsGet(slow, `${KDS}/x`, { sleep: async (ms) => { sleeps.push(ms); } }), 'SNP_KDS_UNAVAILABLE');
  assert.deepEqual(sleeps, []);
  const revoking = await makeCrl(milan, { revokedSerials: ['0100'] });
  const fetch = fakeFetch((url) => (url === `${KDS}/vcek/v1/Milan/crl` ? { status: 200, body: revoking } : { status: 404 }), []);
  const d = anchorsDir([milan]);
  await rejects(v({ trust_anchors_dir: d, kds_base_url: KDS, crl: 'required' }, { fetch }).verify({ evidence: ev(milanReport()), now: NOW }), 'SNP_CERT_REVOKED');
  // best-effort still enforces a CRL it could get
  await rejects(v({ trust_anchors_dir: d, kds_base_url: KDS, crl: 'best-effort' }, { fetch }).verify({ evidence: ev(milanReport()), now: NOW }), 'SNP_CERT_REVOKED');
});
