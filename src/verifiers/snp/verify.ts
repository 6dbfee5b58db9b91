/**
 * Signatures and chains: VCEK ← ASK ← ARK or VLEK ← ASVK ← ARK, validity at `now`, revocation of the intermediate,
 * the report's ECDSA P-384 signature, and the binding of the endorsement key to the report (TCB, hwID).
 */
import { verify as cryptoVerify } from 'node:crypto';
import { VerificationError } from '../types.js';
import { endorsementTcb, hwid, issuedBy, validAt, type AmdCert } from './certs.js';
import { serialKey, type CrlLookup } from './crl.js';
import type { CrlMode } from './config.js';
import { decodeTcb, SIGNED_LENGTH, type Generation, type ParsedReport } from './layout.js';
import type { AmdAnchors } from './trust.js';
import type { EndorsementKind } from './kds.js';

function fail(code: string, msg: string): never {
  throw new VerificationError(code, msg);
}

/** The P-384 group order n, big-endian. */
const P384_N = Buffer.from('ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973', 'hex');

/**
 * The report signature: ECDSA P-384 over SHA-384 of bytes 0x000–0x29F; r and s are 72-byte little-endian fields of
 * which only the low 48 bytes may be nonzero, and each must lie in [1, n-1].
 */
export function verifyReportSignature(report: ParsedReport, vek: AmdCert): void {
  if (report.sigAlgo !== 1) fail('SNP_SIGNATURE_INVALID', `unsupported SIGNATURE_ALGO ${report.sigAlgo} (only 1 = ECDSA P-384 with SHA-384)`);
  const key = vek.publicKey;
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'secp384r1') {
    fail('SNP_CERT_CHAIN', 'endorsement key is not an ECDSA P-384 key');
  }
  // r ‖ s as 48-byte big-endian integers: the low 48 little-endian bytes of each field, reversed.
  const sig = Buffer.alloc(96);
  for (const [name, field, at] of [['r', report.signatureR, 0], ['s', report.signatureS, 48]] as const) {
    if (field.subarray(48).some((b) => b !== 0)) fail('SNP_SIGNATURE_INVALID', `signature ${name} has nonzero bytes beyond 48`);
    const be = sig.subarray(at, at + 48);
    for (let i = 0; i < 48; i++) be[i] = field[47 - i];
    if (be.every((b) => b === 0) || Buffer.compare(be, P384_N) >= 0) fail('SNP_SIGNATURE_INVALID', `signature ${name} is out of range`);
  }
  const ok = cryptoVerify('sha384', report.raw.subarray(0, SIGNED_LENGTH), { key, dsaEncoding: 'ieee-p1363' }, sig);
  if (!ok) fail('SNP_SIGNATURE_INVALID', 'SNP report signature does not verify with the endorsement key');
}

/** Remembers positive results of the pure `issuedBy(child, issuer)` check by content (cache.ts). */
export interface SignatureMemo {
  signedBy(child: AmdCert, issuer: AmdCert, check: () => boolean): boolean;
}

export interface ChainResult {
  intermediate: AmdCert;
}

/**
 * The endorsement key's chain to the pinned ARK. A VCEK must be issued by the ASK and a VLEK by the ASVK; the other
 * way round is refused even if the signature happens to check (it cannot, but the names make the intent explicit).
 */
export function verifyChain(vek: AmdCert, kind: EndorsementKind, anchors: AmdAnchors, now: Date, memo?: SignatureMemo): ChainResult {
  const gen = anchors.generation;
  const expectCn = kind === 'vcek' ? 'SEV-VCEK' : 'SEV-VLEK';
  if (vek.subjectCN !== expectCn) fail('SNP_CERT_CHAIN', `endorsement key CN is "${vek.subjectCN}", expected ${expectCn}`);
  const intermediate = kind === 'vcek' ? anchors.ask : anchors.asvk;
  const intName = kind === 'vcek' ? `SEV-${gen} (ASK)` : `SEV-VLEK-${gen} (ASVK)`;
  if (!intermediate) fail('SNP_TRUST_ANCHOR', `no ${intName} certificate for ${gen}`);
  if (!validAt(anchors.ark, now)) fail('SNP_CERT_EXPIRED', `ARK-${gen} is not valid at ${now.toISOString()}`);
  if (!validAt(intermediate, now)) fail('SNP_CERT_EXPIRED', `${intName} is not valid at ${now.toISOString()}`);
  if (!validAt(vek, now)) fail('SNP_CERT_EXPIRED', `${kind.toUpperCase()} is not valid at ${now.toISOString()} (${vek.notBefore.toISOString()} .. ${vek.notAfter.toISOString()})`);
  const signed = memo ? memo.signedBy(vek, intermediate, () => issuedBy(vek, intermediate)) : issuedBy(vek, intermediate);
  if (!signed) fail('SNP_CERT_CHAIN', `${kind.toUpperCase()} is not signed by ${intName}`);
  return { intermediate };
}

/** Revocation of the ASK/ASVK per the configured CRL mode; returns a warning to surface when not checked. */
export function checkRevocation(intermediate: AmdCert, lookup: CrlLookup | undefined, mode: CrlMode): string | undefined {
  if (mode === 'off') return `CRL check disabled (snp_verifier.crl = "off"): revocation of ${intermediate.subjectCN} not checked`;
  if (!lookup || 'unavailable' in lookup) {
    const why = lookup && 'unavailable' in lookup ? lookup.unavailable : 'no CRL source';
    if (mode === 'required') fail('SNP_CRL_UNAVAILABLE', `cannot check revocation of ${intermediate.subjectCN}: ${why}`);
    return `revocation of ${intermediate.subjectCN} not checked: ${why}`;
  }
  if (lookup.crl.revoked.has(serialKey(intermediate.serial))) fail('SNP_CERT_REVOKED', `${intermediate.subjectCN} is revoked by AMD's CRL`);
  return undefined;
}

/** Component-by-component: the VCEK/VLEK was issued for exactly the TCB the report claims. */
export function checkTcbBinding(report: ParsedReport, vek: AmdCert, gen: Generation): void {
  const reported = decodeTcb(report.reportedTcb, gen);
  const certified = endorsementTcb(vek);
  for (const c of ['bootloader', 'tee', 'snp', 'microcode'] as const) {
    if (reported[c] !== certified[c]) fail('SNP_TCB_MISMATCH', `reported_tcb.${c} ${reported[c]} differs from the endorsement key's ${certified[c]}`);
  }
  if (gen === 'Turin') {
    if (certified.fmc === undefined) fail('SNP_TCB_MISMATCH', 'Turin endorsement key lacks the fmcSPL extension');
    if (reported.fmc !== certified.fmc) fail('SNP_TCB_MISMATCH', `reported_tcb.fmc ${reported.fmc} differs from the endorsement key's ${certified.fmc}`);
  } else if (certified.fmc !== undefined) {
    fail('SNP_TCB_MISMATCH', `${gen} endorsement key carries an fmcSPL extension`);
  }
}

export const isZero = (b: Uint8Array) => b.every((x) => x === 0);

/**
 * VCEK hwID must equal CHIP_ID (Turin VCEKs carry the 8-byte hwID = CHIP_ID[0..8]). A masked (all-zero) CHIP_ID
 * cannot be matched: it is accepted for a VCEK only when `allowMasked` is configured; VLEKs are not chip-bound.
 */
export function checkChipBinding(report: ParsedReport, vek: AmdCert, kind: EndorsementKind, gen: Generation, allowMasked: boolean): string | undefined {
  if (kind === 'vlek') return undefined;
  if (isZero(report.chipId)) {
    if (!allowMasked) fail('SNP_CHIP_ID_MISMATCH', 'CHIP_ID is masked (all zero) and the signing key is a VCEK; set snp_verifier.allow_masked_chip_id to accept');
    return 'CHIP_ID is masked; VCEK hwID not compared (snp_verifier.allow_masked_chip_id)';
  }
  const id = hwid(vek);
  if (!id) fail('SNP_CHIP_ID_MISMATCH', 'VCEK has no hwID extension');
  const expected = id.length === 8 && gen === 'Turin' ? report.chipId.subarray(0, 8) : report.chipId;
  if (id.length !== expected.length || Buffer.compare(Buffer.from(id), Buffer.from(expected)) !== 0) {
    fail('SNP_CHIP_ID_MISMATCH', 'VCEK hwID does not match the report CHIP_ID');
  }
  return undefined;
}
