// Real TPM 2.0 quotes: swtpm + tpm2-tools make an AK, extend PCR8 with an init-data digest, quote with the KBS nonce,
// and the `tpm` verifier (then the default_cpu policy) judges Trustee's evidence JSON built from the files.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { TpmVerifier } from '../../../src/verifiers/tpm/verifier.js';
import { parseTpmsAttestQuote, parseTpmtSignature } from '../../../src/verifiers/tpm/quote.js';
import { VerificationError, type ClaimSet, type Json, type JsonObject, type VerifyInput } from '../../../src/verifiers/types.js';
import { canonicalize } from '../../../src/util/jcs.js';
import { compileAttestationPolicy } from '../../../src/as/policy-engine.js';
import { readDefaultPolicy } from '../../../src/as/policy-store.js';
import { policyInput } from '../../../src/as/input.js';
import { parseTrustClaims, statusOf } from '../../../src/as/ear.js';
import { Swtpm, swtpmSkip, type TpmAk, type TpmQuoteFiles } from './swtpm.js';

const skip = swtpmSkip();
if (skip) console.log(`# swtpm quote tests skipped: ${skip}`);

const NOW = new Date('2026-06-01T00:00:00Z');
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest();

// Init-data as the KBS receives it: the digest is SHA-256 over the raw TOML bytes (specs/trustee.md §2.3).
const INIT_DATA = Buffer.from('version = "0.1.0"\nalgorithm = "sha256"\n\n[data]\n"aa.toml" = \'\'\'\n[token_configs]\n\'\'\'\n');
const INIT_DIGEST = sha256(INIT_DATA);
// Runtime data as in §2.2: sha384 over the JCS of {nonce, tee-pubkey}; the `tpm` attester puts its first 32 bytes in
// the quote's extraData.
const REPORT_DATA = createHash('sha384').update(canonicalize({ nonce: 'c2FtcGxlIGNoYWxsZW5nZQ', 'tee-pubkey': { kty: 'EC', crv: 'P-256', alg: 'ECDH-ES+A256KW', x: 'AA', y: 'AQ' } })).digest();
const NONCE32 = REPORT_DATA.subarray(0, 32);

let tpm: Swtpm | undefined;
let ak: TpmAk;
let otherAk: TpmAk;
let ecAk: TpmAk;
let plainKey: TpmAk;
let pcrs: Buffer[];
let good: TpmQuoteFiles;

function evidence(akSpki: Buffer, q: TpmQuoteFiles, p: Buffer[] = pcrs): JsonObject {
  return {
    ak_public: akSpki.toString('base64'),
    tpm_quote: { signature: q.signature.toString('base64'), message: q.message.toString('base64'), pcrs: p.map((x) => x.toString('hex')) },
  };
}

const open = () => new TpmVerifier({ config: {} });
const verify = (ev: JsonObject, extra: Partial<VerifyInput> = { expectedReportData: REPORT_DATA, expectedInitDataHash: INIT_DIGEST }, v = open()): Promise<ClaimSet[]> =>
  v.verify({ evidence: ev as Json, now: NOW, ...extra });

async function rejects(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (e: unknown) => e instanceof VerificationError && e.code === code);
}

before(async () => {
  if (skip) return;
  tpm = await Swtpm.start();
  const primary = tpm.createPrimary();
  ak = tpm.createAk(primary, 'rsa2048:rsassa-sha256:null');
  otherAk = tpm.createAk(primary, 'rsa2048:rsassa-sha256:null');
  ecAk = tpm.createAk(primary, 'ecc256:ecdsa-sha256:null');
  plainKey = tpm.createAk(primary, 'rsa2048:rsassa-sha256:null', false);
  tpm.extend(8, INIT_DIGEST);
  tpm.extend(0, sha256('firmware'));
  tpm.extend(11, sha256('unified kernel image'));
  good = tpm.quote(ak, NONCE32);
  pcrs = tpm.readPcrs();
});

after(async () => {
  await tpm?.stop();
});

test('swtpm: PCR8 after extending the init-data digest is SHA-256(32 zero bytes ‖ digest)', { skip }, () => {
  // computed here from the TPM extend definition, not with the verifier's helper
  assert.deepEqual(pcrs[8], sha256(Buffer.concat([Buffer.alloc(32), INIT_DIGEST])));
  assert.deepEqual(pcrs[11], sha256(Buffer.concat([Buffer.alloc(32), sha256('unified kernel image')])));
});

test('swtpm: RSASSA quote verifies with the right nonce, PCRs and init data; claims are the TPM values', { skip }, async () => {
  const attest = parseTpmsAttestQuote(good.message);
  assert.deepEqual(Buffer.from(attest.extraData), NONCE32);
  assert.deepEqual(attest.pcrSelect, [{ hashAlg: 0x000b, pcrs: [...Array(24).keys()] }]);
  assert.equal(parseTpmtSignature(good.signature).alg, 'rsassa');
  const [cs] = await verify(evidence(ak.spki, good));
  assert.equal(cs.class, 'cpu');
  assert.equal(cs.claims.ak_public, ak.spki.toString('base64'));
  assert.equal(cs.claims.ak_sha256, sha256(ak.spki).toString('hex'));
  assert.equal(cs.claims.report_data, NONCE32.toString('hex'));
  assert.equal(cs.claims.init_data, pcrs[8].toString('hex'));
  for (let i = 0; i < 24; i++) assert.equal(cs.claims[`pcr${String(i).padStart(2, '0')}`], pcrs[i].toString('hex'), `pcr${i}`);
  assert.equal(cs.claims.pcr17, 'ff'.repeat(32), 'swtpm resets the D-RTM PCRs to all-ones');
});

test('swtpm: legacy quote with the report data zero-padded to 64 bytes verifies too', { skip }, async () => {
  const padded = Buffer.concat([REPORT_DATA, Buffer.alloc(16)]);
  const q = tpm!.quote(ak, padded);
  const [cs] = await verify(evidence(ak.spki, q));
  assert.equal(cs.claims.report_data, padded.toString('hex'));
});

test('swtpm: a flipped byte anywhere in TPMS_ATTEST breaks the signature', { skip }, async () => {
  const attest = parseTpmsAttestQuote(good.message);
  const digestAt = good.message.length - attest.pcrDigest.length;
  // qualifiedSigner, extraData (nonce), clock, and the PCR digest
  for (const at of [10, 10 + attest.qualifiedSigner.length + 4, good.message.length - 60, digestAt + 3]) {
    const message = Buffer.from(good.message);
    message[at] ^= 0x01;
    await rejects(verify(evidence(ak.spki, { ...good, message })), 'TPM_SIGNATURE_INVALID');
  }
});

test('swtpm: a wrong nonce is rejected, also a genuine quote made for another nonce', { skip }, async () => {
  const other = createHash('sha384').update('another session').digest();
  await rejects(verify(evidence(ak.spki, good), { expectedReportData: other }), 'TPM_NONCE_MISMATCH');
  const stale = tpm!.quote(ak, other.subarray(0, 32));
  await verify(evidence(ak.spki, stale), { expectedReportData: other });
  await rejects(verify(evidence(ak.spki, stale)), 'TPM_NONCE_MISMATCH');
});

test('swtpm: a changed PCR value does not match the quoted digest', { skip }, async () => {
  for (const i of [0, 8, 11, 23]) {
    const changed = pcrs.map((p) => Buffer.from(p));
    changed[i][31] ^= 0x80;
    await rejects(verify(evidence(ak.spki, good, changed)), 'TPM_PCR_MISMATCH');
  }
  // PCR 11 reported as it would be after one more extend
  const later = [...pcrs];
  later[11] = sha256(Buffer.concat([pcrs[11], sha256('rootkit')]));
  await rejects(verify(evidence(ak.spki, good, later)), 'TPM_PCR_MISMATCH');
});

test('swtpm: a quote signed by another AK than ak_public is rejected', { skip }, async () => {
  const byOther = tpm!.quote(otherAk, NONCE32);
  await rejects(verify(evidence(ak.spki, byOther)), 'TPM_SIGNATURE_INVALID');
  await rejects(verify(evidence(otherAk.spki, good)), 'TPM_SIGNATURE_INVALID');
  // with its own ak_public the other AK's quote verifies; only the optional allow-list refuses it in the verifier
  const [cs] = await verify(evidence(otherAk.spki, byOther));
  assert.equal(cs.claims.ak_public, otherAk.spki.toString('base64'));
  const pinned = new TpmVerifier({ config: { tpm_verifier: { trusted_ak_sha256: [sha256(ak.spki).toString('hex')] } } });
  await rejects(verify(evidence(otherAk.spki, byOther), undefined, pinned), 'TPM_AK_UNTRUSTED');
  await verify(evidence(ak.spki, good), undefined, pinned);
});

test('swtpm: a wrong init-data digest is rejected', { skip }, async () => {
  await rejects(verify(evidence(ak.spki, good), { expectedReportData: REPORT_DATA, expectedInitDataHash: sha256(INIT_DATA.toString() + ' ') }), 'TPM_INIT_DATA_MISMATCH');
  // a sha384 init-data digest can never match PCR8 (the rule needs 32 bytes)
  await rejects(verify(evidence(ak.spki, good), { expectedInitDataHash: createHash('sha384').update(INIT_DATA).digest() }), 'TPM_INIT_DATA_MISMATCH');
  // a quote that leaves PCR8 out cannot prove init data
  const no8 = tpm!.quote(ak, NONCE32, [0, 1, 11]);
  const [cs] = await verify(evidence(ak.spki, no8), { expectedReportData: REPORT_DATA });
  assert.equal(cs.claims.pcr08, undefined);
  await rejects(verify(evidence(ak.spki, no8)), 'TPM_INIT_DATA_MISMATCH');
});

test('swtpm: ECDSA P-256 AK quote verifies (beyond Trustee, which takes RSASSA only)', { skip }, async () => {
  const q = tpm!.quote(ecAk, NONCE32);
  assert.equal(parseTpmtSignature(q.signature).alg, 'ecdsa');
  const [cs] = await verify(evidence(ecAk.spki, q));
  assert.equal(cs.claims.ak_public, ecAk.spki.toString('base64'));
  await rejects(verify(evidence(ak.spki, q)), 'TPM_SIGNATURE_INVALID');
});

test('swtpm: AK trust is the policy decision: default_cpu gives executables 3 only for an AK in trusted_aks', { skip }, async () => {
  const policy = compileAttestationPolicy('default_cpu', await readDefaultPolicy('default_cpu'));
  const appraise = async (ev: JsonObject, rvs: Record<string, Json>) => {
    const [cs] = await verify(ev);
    const tv = parseTrustClaims(policy.evaluate(policyInput('tpm', cs.claims, null, null), new Map(Object.entries(rvs)), NOW).trustClaims);
    return tv;
  };
  const rvs = { tpm_pcr11: [pcrs[11].toString('hex')], trusted_aks: [ak.spki.toString('base64')] };
  let tv = await appraise(evidence(ak.spki, good), rvs);
  assert.deepEqual([tv.executables, tv.hardware, tv.configuration], [3, 2, 0]);
  // an AK the operator never registered: the verifier accepts the quote, the policy does not affirm it
  const byOther = tpm!.quote(otherAk, NONCE32);
  tv = await appraise(evidence(otherAk.spki, byOther), rvs);
  assert.equal(tv.executables, 33);
  assert.notEqual(statusOf(tv), 'affirming');
  // no trusted_aks reference value at all
  tv = await appraise(evidence(ak.spki, good), { tpm_pcr11: rvs.tpm_pcr11 });
  assert.equal(tv.executables, 33);
  // trusted AK but an unexpected PCR11
  tv = await appraise(evidence(ak.spki, good), { ...rvs, tpm_pcr11: ['00'.repeat(32)] });
  assert.equal(tv.executables, 33);
});

test('swtpm: a forged TPMS_ATTEST signed by an unrestricted key verifies, and only the trusted_aks policy check stops it', { skip }, async () => {
  // claim a "golden" PCR11 the machine never had: swap the quote's trailing pcrDigest for one over forged PCRs
  const golden = sha256('the kernel the operator approved');
  const forgedPcrs = [...pcrs];
  forgedPcrs[11] = golden;
  const message = Buffer.concat([good.message.subarray(0, good.message.length - 32), sha256(Buffer.concat(forgedPcrs))]);
  // a real AK is a restricted key: the TPM refuses to sign anything that starts with TPM_GENERATED_VALUE
  assert.throws(() => tpm!.sign(ak, message));
  const signature = tpm!.sign(plainKey, message);
  // the verifier sees only an SPKI: it cannot tell a restricted AK from any other key, so this passes
  const [cs] = await verify(evidence(plainKey.spki, { message, signature }, forgedPcrs));
  assert.equal(cs.claims.pcr11, golden.toString('hex'));
  const policy = compileAttestationPolicy('default_cpu', await readDefaultPolicy('default_cpu'));
  const appraise = (rvs: Record<string, Json>) =>
    parseTrustClaims(policy.evaluate(policyInput('tpm', cs.claims, null, null), new Map(Object.entries(rvs)), NOW).trustClaims);
  assert.equal(appraise({ tpm_pcr11: [golden.toString('hex')], trusted_aks: [ak.spki.toString('base64')] }).executables, 33);
  // ... which is why trusted_aks must only ever list restricted AKs (registering this key would affirm the forgery)
  assert.equal(appraise({ tpm_pcr11: [golden.toString('hex')], trusted_aks: [plainKey.spki.toString('base64')] }).executables, 3);
});
