// TPM 2.0 quote verification: the real tpm_evidence.json (README values) and quotes this test builds and signs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTestdata, testdataSkip } from '../../support/testdata.js';
import { TpmVerifier } from '../../../src/verifiers/tpm/verifier.js';
import { expectedInitDataPcr } from '../../../src/verifiers/tpm/verify.js';
import { parseTpmsAttestQuote } from '../../../src/verifiers/tpm/quote.js';
import { VerificationError, type Json, type JsonObject } from '../../../src/verifiers/types.js';

const NONCE_HEX = 'a04182b506878d4f29b91ee606a71a0d3361ccf1b22db20c98adcaa537bea393ef0e41a18b3569ab678f1497fbc5c120';

async function rejects(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (e: unknown) => e instanceof VerificationError && e.code === code);
}

test('PCR8 init-data rule matches the README vector', () => {
  const pcr = expectedInitDataPcr(Buffer.from('8505e4e25e50a27c5dc8147af88efbece627fbea55291911eff832d9ee127781', 'hex'));
  assert.equal(Buffer.from(pcr).toString('hex'), 'bddaccb9c52249e97a31baea61b7d91be8221a16e703d92148d04fb8e9c1dfdd');
});

test('tpm/tpm_evidence.json verifies with its AK trusted; tampering and untrusted AK rejected', { skip: testdataSkip('tpm') }, async () => {
  const ev = JSON.parse(readTestdata('tpm', 'tpm_evidence.json').toString('utf8')) as { ak_public: string; tpm_quote: { signature: string; message: string; pcrs: string[] } };
  const akSha = createHash('sha256').update(Buffer.from(ev.ak_public, 'base64')).digest('hex');
  const v = (cfg: JsonObject = { trusted_ak_sha256: [akSha] }) => new TpmVerifier({ config: { tpm_verifier: cfg } });
  const nonce = Buffer.from(NONCE_HEX, 'hex');
  const [cs] = await v().verify({ evidence: ev as unknown as Json, now: new Date('2025-06-01T00:00:00Z'), expectedReportData: nonce });
  assert.equal(cs.claims.report_data, NONCE_HEX + '00'.repeat(16));
  assert.equal(cs.claims.init_data, '00'.repeat(32));
  assert.equal(cs.claims.pcr08, '00'.repeat(32));
  assert.equal(Object.keys(cs.claims).filter((k) => /^pcr\d\d$/.test(k)).length, 24);
  // trusted through a PEM in trusted_ak_keys_dir, as Trustee configures it
  const dir = mkdtempSync(join(tmpdir(), 'tpm-ak-'));
  const { createPublicKey } = await import('node:crypto');
  writeFileSync(join(dir, 'ak.pub'), createPublicKey({ key: Buffer.from(ev.ak_public, 'base64'), format: 'der', type: 'spki' }).export({ format: 'pem', type: 'spki' }));
  await v({ trusted_ak_keys_dir: dir }).verify({ evidence: ev as unknown as Json, now: new Date() });
  // default deny: no trusted AKs configured
  await rejects(v({}).verify({ evidence: ev as unknown as Json, now: new Date() }), 'TPM_AK_UNTRUSTED');
  await rejects(v().verify({ evidence: ev as unknown as Json, now: new Date(), expectedReportData: Buffer.alloc(48, 1) }), 'TPM_NONCE_MISMATCH');
  // PCR8 is zero: no init-data digest can match
  await rejects(v().verify({ evidence: ev as unknown as Json, now: new Date(), expectedInitDataHash: Buffer.alloc(32, 2) }), 'TPM_INIT_DATA_MISMATCH');
  const sig = Buffer.from(ev.tpm_quote.signature, 'base64');
  sig[sig.length - 1] ^= 1;
  await rejects(v().verify({ evidence: { ...ev, tpm_quote: { ...ev.tpm_quote, signature: sig.toString('base64') } } as unknown as Json, now: new Date() }), 'TPM_SIGNATURE_INVALID');
  const pcrs = [...ev.tpm_quote.pcrs];
  pcrs[0] = 'ff' + pcrs[0].slice(2);
  await rejects(v().verify({ evidence: { ...ev, tpm_quote: { ...ev.tpm_quote, pcrs } } as unknown as Json, now: new Date() }), 'TPM_PCR_MISMATCH');
});

// ---- own quotes ---------------------------------------------------------------------------------------------------

function u16(n: number) { return Buffer.from([n >> 8, n & 0xff]); }
function u32(n: number) { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; }
function tpm2b(b: Uint8Array) { return Buffer.concat([u16(b.length), b]); }

function attest(nonce: Uint8Array, pcrs: Buffer[], selected: number[]): Buffer {
  const bits = Buffer.alloc(3);
  for (const i of selected) bits[i >> 3] |= 1 << (i & 7);
  const digest = createHash('sha256').update(Buffer.concat(selected.map((i) => pcrs[i]))).digest();
  return Buffer.concat([u32(0xff544347), u16(0x8018), tpm2b(Buffer.alloc(34, 1)), tpm2b(nonce), Buffer.alloc(17), Buffer.alloc(8),
    u32(1), u16(0x000b), Buffer.from([3]), bits, tpm2b(digest)]);
}

function signature(msg: Buffer, key: KeyObject, kind: 'rsa' | 'ec'): Buffer {
  if (kind === 'rsa') return Buffer.concat([u16(0x0014), u16(0x000b), tpm2b(sign('sha256', msg, key))]);
  const rs = sign('sha256', msg, { key, dsaEncoding: 'ieee-p1363' });
  return Buffer.concat([u16(0x0018), u16(0x000b), tpm2b(rs.subarray(0, 32)), tpm2b(rs.subarray(32))]);
}

for (const kind of ['rsa', 'ec'] as const) {
  test(`own ${kind} AK: nonce, PCR8 init-data, partial PCR selection`, async () => {
    const { publicKey, privateKey } = kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const akDer = publicKey.export({ format: 'der', type: 'spki' });
    const akSha = createHash('sha256').update(akDer).digest('hex');
    const initDigest = createHash('sha256').update('init-data').digest();
    const pcrs = Array.from({ length: 24 }, (_, i) => createHash('sha256').update(`pcr${i}`).digest());
    pcrs[8] = Buffer.from(expectedInitDataPcr(initDigest));
    const reportData = createHash('sha384').update('runtime').digest();
    const nonce = Buffer.concat([reportData, Buffer.alloc(16)]);
    const selected = [0, 1, 2, 3, 4, 5, 6, 7, 8, 11];
    const msg = attest(nonce, pcrs, selected);
    assert.deepEqual(parseTpmsAttestQuote(msg).pcrSelect[0].pcrs, selected);
    const ev = (m: Buffer, s: Buffer, p = pcrs) => ({ ak_public: akDer.toString('base64'), tpm_quote: { message: m.toString('base64'), signature: s.toString('base64'), pcrs: p.map((x) => x.toString('hex')) } }) as Json;
    const v = new TpmVerifier({ config: { tpm_verifier: { trusted_ak_sha256: [akSha] } } });
    const [cs] = await v.verify({ evidence: ev(msg, signature(msg, privateKey, kind)), now: new Date(), expectedReportData: reportData, expectedInitDataHash: initDigest });
    assert.equal(cs.claims.pcr11, pcrs[11].toString('hex'));
    assert.equal(cs.claims.pcr12, undefined, 'unquoted PCRs are not claims');
    assert.equal(cs.claims.init_data, pcrs[8].toString('hex'));
    await rejects(v.verify({ evidence: ev(msg, signature(msg, privateKey, kind)), now: new Date(), expectedInitDataHash: Buffer.alloc(32) }), 'TPM_INIT_DATA_MISMATCH');
    // a quote without PCR8 cannot prove init data
    const no8 = attest(nonce, pcrs, [0, 1]);
    await rejects(v.verify({ evidence: ev(no8, signature(no8, privateKey, kind)), now: new Date(), expectedInitDataHash: initDigest }), 'TPM_INIT_DATA_MISMATCH');
    // tampered message: nonce byte changed after signing
    const bad = Buffer.from(msg);
    bad[40] ^= 1;
    await rejects(v.verify({ evidence: ev(bad, signature(msg, privateKey, kind)), now: new Date() }), 'TPM_SIGNATURE_INVALID');
    // trailing bytes after TPMS_ATTEST
    const long = Buffer.concat([msg, Buffer.from([0])]);
    await rejects(v.verify({ evidence: ev(long, signature(long, privateKey, kind)), now: new Date() }), 'TPM_QUOTE_MALFORMED');
  });
}
