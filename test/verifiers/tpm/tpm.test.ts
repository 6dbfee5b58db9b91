// TPM 2.0 quote verification: the real tpm_evidence.json (README values) and quotes this test builds and signs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTestdata, testdataSkip } from '../../support/testdata.js';
import { parseTpmConfig, TpmVerifier } from '../../../src/verifiers/tpm/verifier.js';
import { ConfigError } from '../../../src/util/config-error.js';
import { expectedInitDataPcr } from '../../../src/verifiers/tpm/verify.js';
import { parseTpmsAttestQuote } from '../../../src/verifiers/tpm/quote.js';
import { VerificationError, type Json, type JsonObject } from '../../../src/verifiers/types.js';

const NOW = new Date('2025-06-01T00:00:00Z');
const NONCE_HEX = 'a04182b506878d4f29b91ee606a71a0d3361ccf1b22db20c98adcaa537bea393ef0e41a18b3569ab678f1497fbc5c120';

async function rejects(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (e: unknown) => e instanceof VerificationError && e.code === code);
}

test('PCR8 init-data rule matches the README vector', () => {
  const pcr = expectedInitDataPcr(Buffer.from('8505e4e25e50a27c5dc8147af88efbece627fbea55291911eff832d9ee127781', 'hex'));
  assert.equal(Buffer.from(pcr).toString('hex'), 'bddaccb9c52249e97a31baea61b7d91be8221a16e703d92148d04fb8e9c1dfdd');
});

test('tpm/tpm_evidence.json verifies with the AK it carries (legacy 64-byte nonce); tampering rejected', { skip: testdataSkip('tpm') }, async () => {
  const ev = JSON.parse(readTestdata('tpm', 'tpm_evidence.json').toString('utf8')) as { ak_public: string; tpm_quote: { signature: string; message: string; pcrs: string[] } };
  const akSha = createHash('sha256').update(Buffer.from(ev.ak_public, 'base64')).digest('hex');
  const v = (cfg: JsonObject = {}) => new TpmVerifier({ config: { tpm_verifier: cfg } });
  const nonce = Buffer.from(NONCE_HEX, 'hex');
  const now = new Date('2025-06-01T00:00:00Z');
  // default: no verifier-side allow-list, the AK is a claim for the policy
  const [cs] = await v().verify({ evidence: ev as unknown as Json, now, expectedReportData: nonce });
  assert.equal(cs.claims.ak_public, ev.ak_public);
  assert.equal(cs.claims.ak_sha256, akSha);
  assert.equal(cs.claims.report_data, NONCE_HEX + '00'.repeat(16));
  assert.equal(cs.claims.init_data, '00'.repeat(32));
  assert.equal(cs.claims.pcr08, '00'.repeat(32));
  assert.equal(Object.keys(cs.claims).filter((k) => /^pcr\d\d$/.test(k)).length, 24);
  // optional allow-list, by hash or through a PEM in trusted_ak_keys_dir as Trustee configures it
  await v({ trusted_ak_sha256: [akSha.toUpperCase()] }).verify({ evidence: ev as unknown as Json, now, expectedReportData: nonce });
  const dir = mkdtempSync(join(tmpdir(), 'tpm-ak-'));
  writeFileSync(join(dir, 'ak.pub'), createPublicKey({ key: Buffer.from(ev.ak_public, 'base64'), format: 'der', type: 'spki' }).export({ format: 'pem', type: 'spki' }));
  await v({ trusted_ak_keys_dir: dir }).verify({ evidence: ev as unknown as Json, now, expectedReportData: nonce });
  // configured allow-list without this AK (also: an empty directory) rejects
  await rejects(v({ trusted_ak_sha256: ['00'.repeat(32)] }).verify({ evidence: ev as unknown as Json, now }), 'TPM_AK_UNTRUSTED');
  await rejects(v({ trusted_ak_keys_dir: mkdtempSync(join(tmpdir(), 'tpm-ak-empty-')) }).verify({ evidence: ev as unknown as Json, now }), 'TPM_AK_UNTRUSTED');
  await rejects(v().verify({ evidence: ev as unknown as Json, now, expectedReportData: Buffer.alloc(48, 1) }), 'TPM_NONCE_MISMATCH');
  // the 32-byte rule: a 64-byte extraData must not match a digest whose first 32 bytes agree but whose rest differs
  const other = Buffer.from(nonce);
  other[40] ^= 1;
  await rejects(v().verify({ evidence: ev as unknown as Json, now, expectedReportData: other }), 'TPM_NONCE_MISMATCH');
  // PCR8 is zero: no init-data digest can match
  await rejects(v().verify({ evidence: ev as unknown as Json, now, expectedInitDataHash: Buffer.alloc(32, 2) }), 'TPM_INIT_DATA_MISMATCH');
  const sig = Buffer.from(ev.tpm_quote.signature, 'base64');
  sig[sig.length - 1] ^= 1;
  await rejects(v().verify({ evidence: { ...ev, tpm_quote: { ...ev.tpm_quote, signature: sig.toString('base64') } } as unknown as Json, now }), 'TPM_SIGNATURE_INVALID');
  const pcrs = [...ev.tpm_quote.pcrs];
  pcrs[0] = 'ff' + pcrs[0].slice(2);
  await rejects(v().verify({ evidence: { ...ev, tpm_quote: { ...ev.tpm_quote, pcrs } } as unknown as Json, now }), 'TPM_PCR_MISMATCH');
  // a second spelling of the same key (DER with a trailing byte) is refused, not normalised
  const akDer = Buffer.from(ev.ak_public, 'base64');
  await rejects(v().verify({ evidence: { ...ev, ak_public: Buffer.concat([akDer, Buffer.from([0])]).toString('base64') } as unknown as Json, now }), 'TPM_QUOTE_MALFORMED');
});

test('config: allow_untrusted_ak is obsolete (warns), bad allow-list entries and unreadable dirs are config errors', () => {
  const warnings: string[] = [];
  const log = { warn: (m: string) => warnings.push(m), info: () => {} };
  assert.equal(parseTpmConfig({ tpm_verifier: { allow_untrusted_ak: false } }, log).akAllowList, undefined);
  assert.match(warnings.join('\n'), /allow_untrusted_ak is obsolete/);
  assert.equal(parseTpmConfig({}).akAllowList, undefined);
  assert.throws(() => parseTpmConfig({ tpm_verifier: { trusted_ak_sha256: ['zz'] } }), ConfigError);
  assert.throws(() => parseTpmConfig({ tpm_verifier: { trusted_ak_keys_dir: join(tmpdir(), 'does-not-exist-tpm-ak') } }), ConfigError);
  const dir = mkdtempSync(join(tmpdir(), 'tpm-ak-bad-'));
  writeFileSync(join(dir, 'x.pub'), 'not a key');
  assert.throws(() => parseTpmConfig({ tpm_verifier: { trusted_ak_keys_dir: dir } }), ConfigError);
  const priv = mkdtempSync(join(tmpdir(), 'tpm-ak-priv-'));
  writeFileSync(join(priv, 'ak.pub'), generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }));
  assert.throws(() => parseTpmConfig({ tpm_verifier: { trusted_ak_keys_dir: priv } }), (e: unknown) => e instanceof ConfigError && /private key/.test(e.message) && !/BEGIN/.test(e.message));
  // files that do not end in .pub are not read, and at most max_trusted_ak_keys are
  const some = mkdtempSync(join(tmpdir(), 'tpm-ak-some-'));
  const keys = [0, 1, 2].map(() => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey);
  keys.forEach((k, i) => writeFileSync(join(some, `k${i}.pub`), k.export({ format: 'pem', type: 'spki' })));
  writeFileSync(join(some, 'README'), 'not a key');
  const two = parseTpmConfig({ tpm_verifier: { trusted_ak_keys_dir: some, max_trusted_ak_keys: 2 } }).akAllowList!;
  const h = (k: KeyObject) => createHash('sha256').update(k.export({ format: 'der', type: 'spki' })).digest('hex');
  assert.deepEqual([...two].sort(), [h(keys[0]), h(keys[1])].sort());
  warnings.length = 0;
  assert.equal(parseTpmConfig({ tpm_verifier: { trusted_ak_keys_dir: mkdtempSync(join(tmpdir(), 'tpm-ak-empty-')) } }, log).akAllowList?.size, 0);
  assert.match(warnings.join('\n'), /empty/);
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
    const nonce = reportData.subarray(0, 32);
    const selected = [0, 1, 2, 3, 4, 5, 6, 7, 8, 11];
    const msg = attest(nonce, pcrs, selected);
    assert.deepEqual(parseTpmsAttestQuote(msg).pcrSelect[0].pcrs, selected);
    const ev = (m: Buffer, s: Buffer, p = pcrs) => ({ ak_public: akDer.toString('base64'), tpm_quote: { message: m.toString('base64'), signature: s.toString('base64'), pcrs: p.map((x) => x.toString('hex')) } }) as Json;
    const v = new TpmVerifier({ config: { tpm_verifier: { trusted_ak_sha256: [akSha] } } });
    const open = new TpmVerifier({ config: {} });
    const [cs] = await v.verify({ evidence: ev(msg, signature(msg, privateKey, kind)), now: NOW, expectedReportData: reportData, expectedInitDataHash: initDigest });
    assert.equal(cs.claims.pcr11, pcrs[11].toString('hex'));
    assert.equal(cs.claims.pcr12, undefined, 'unquoted PCRs are not claims');
    assert.equal(cs.claims.init_data, pcrs[8].toString('hex'));
    await rejects(v.verify({ evidence: ev(msg, signature(msg, privateKey, kind)), now: NOW, expectedInitDataHash: Buffer.alloc(32) }), 'TPM_INIT_DATA_MISMATCH');
    // no allow-list: the AK in the evidence verifies the quote and becomes the ak_public claim
    const [oc] = await open.verify({ evidence: ev(msg, signature(msg, privateKey, kind)), now: NOW, expectedReportData: reportData, expectedInitDataHash: initDigest });
    assert.equal(oc.claims.ak_public, akDer.toString('base64'));
    assert.equal(oc.claims.report_data, reportData.subarray(0, 32).toString('hex'));
    // a quote signed by a different key than the ak_public it claims
    const rogue = kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    await rejects(open.verify({ evidence: ev(msg, signature(msg, rogue.privateKey, kind)), now: NOW }), 'TPM_SIGNATURE_INVALID');
    // the rogue key's own, valid quote passes an open verifier (the policy decides) but not the allow-list
    const rogueEv = { ...(ev(msg, signature(msg, rogue.privateKey, kind)) as JsonObject), ak_public: rogue.publicKey.export({ format: 'der', type: 'spki' }).toString('base64') };
    const [rc] = await open.verify({ evidence: rogueEv, now: NOW, expectedReportData: reportData });
    assert.notEqual(rc.claims.ak_public, akDer.toString('base64'));
    await rejects(v.verify({ evidence: rogueEv, now: NOW, expectedReportData: reportData }), 'TPM_AK_UNTRUSTED');
    if (kind === 'ec') {
      // a 91-byte SPKI ends in "==": an unpadded or non-canonical (spare bits set) spelling of the same key is refused
      const b = akDer.toString('base64');
      assert.ok(b.endsWith('=='));
      const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
      const spare = b.slice(0, -3) + A[A.indexOf(b[b.length - 3]) ^ 1] + '==';
      assert.deepEqual(Buffer.from(spare, 'base64'), akDer);
      for (const spelling of [b.slice(0, -2), spare]) {
        await rejects(open.verify({ evidence: { ...(ev(msg, signature(msg, privateKey, kind)) as JsonObject), ak_public: spelling }, now: NOW }), 'TPM_QUOTE_MALFORMED');
      }
    }
    // nonce lengths other than 32/64 never match
    const odd = attest(reportData, pcrs, selected);
    await rejects(open.verify({ evidence: ev(odd, signature(odd, privateKey, kind)), now: NOW, expectedReportData: reportData }), 'TPM_NONCE_MISMATCH');
    // a quote without PCR8 cannot prove init data
    const no8 = attest(nonce, pcrs, [0, 1]);
    await rejects(v.verify({ evidence: ev(no8, signature(no8, privateKey, kind)), now: NOW, expectedInitDataHash: initDigest }), 'TPM_INIT_DATA_MISMATCH');
    // tampered message: nonce byte changed after signing
    const bad = Buffer.from(msg);
    bad[40] ^= 1;
    await rejects(v.verify({ evidence: ev(bad, signature(msg, privateKey, kind)), now: NOW }), 'TPM_SIGNATURE_INVALID');
    // trailing bytes after TPMS_ATTEST
    const long = Buffer.concat([msg, Buffer.from([0])]);
    await rejects(v.verify({ evidence: ev(long, signature(long, privateKey, kind)), now: NOW }), 'TPM_QUOTE_MALFORMED');
  });
}
