/**
 * DCAP quote verification: signatures, certificate chains to the pinned Intel SGX Root CA, CRLs, collateral
 * signatures and dates, then TCB evaluation (tcb.ts). The clock, the root pin and the collateral are inputs.
 */
import { createHash, createPublicKey, verify as cryptoVerify, timingSafeEqual, X509Certificate, type KeyObject } from 'node:crypto';
import * as pkijs from 'pkijs';
import * as asn1js from 'asn1js';
import { VerificationError } from '../types.js';
import type { Collateral, QeIdentity, Signed, TcbInfo } from './collateral.js';
import { parsePckExtensions, pckCaType, type PckCaType, type PckExtensions } from './pck.js';
import type { Quote } from './quote.js';
import { evaluateTcb, type TcbEvaluation } from './tcb.js';
import { certFacts, type DcapCache } from './cache.js';

/**
 * SHA-256 of the DER of `CN=Intel SGX Root CA` (Intel's published value; the same certificate is at
 * testdata/trust-anchors/Intel_SGX_Root_CA.pem and in every Intel PCK chain).
 */
export const INTEL_SGX_ROOT_CA_SHA256 = '44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3';

export interface ChainOptions {
  now: Date;
  /** Hex SHA-256 of the trusted root certificate's DER. Default: Intel SGX Root CA. Tests inject their own. */
  rootSha256?: string;
  /**
   * The calling verifier's content-addressed cache (cache.ts). Optional: without it every step runs in full.
   * With it, chain/collateral/CRL signatures already verified for identical bytes are not re-verified; every
   * check that depends on `now` still runs.
   */
  cache?: DcapCache;
}

export interface DcapVerifyOptions extends ChainOptions {
  /** Refuse collateral whose nextUpdate has passed (default). When true, verification proceeds and reports it. */
  allowExpiredCollateral?: boolean;
  /**
   * Insecure, named in config: accept collateral without PCK / root CA CRLs. Without CRLs a revoked PCK or
   * intermediate goes unnoticed.
   */
  allowMissingCrls?: boolean;
  /**
   * Insecure, named in config: ignore the validity window of the TCB signing certificate only (the chain
   * signatures are still checked). Intel's published TCB Signing cert expired 2025-05-21 while Intel kept
   * signing with the same key.
   */
  allowExpiredTcbSigningCert?: boolean;
  /**
   * Refuse TCB Info / QE identity whose tcbEvaluationDataNumber is below this floor, so that a replay of older,
   * still-unexpired collateral (from before a TCB recovery) cannot pass.
   */
  minTcbEvaluationDataNumber?: number;
}

export class ChainError extends VerificationError {
  constructor(message: string, code = 'ERR_DCAP_CHAIN') {
    super(code, message);
    this.name = 'ChainError';
  }
}

export function splitPem(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new ChainError('no certificate in PEM chain');
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch {
      throw new ChainError(`certificate ${i} of the chain does not parse`);
    }
  });
}

function sha256Hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function inWindow(c: X509Certificate, now: Date): boolean {
  return new Date(c.validFrom) <= now && now <= new Date(c.validTo);
}

/**
 * Verifies a leaf-first chain that ends in the pinned root. Every signature and issuer/subject link is checked,
 * every issuer must be a CA, and every certificate must be valid at `now` (the leaf's window may be waived by
 * `ignoreLeafValidity`, used only for the TCB signing cert allowance).
 */
export function verifyChain(certs: X509Certificate[], opts: ChainOptions & { ignoreLeafValidity?: boolean; what: string }): void {
  const pin = (opts.rootSha256 ?? INTEL_SGX_ROOT_CA_SHA256).toLowerCase();
  const root = certs[certs.length - 1];
  if (certs.length < 2) throw new ChainError(`${opts.what}: chain has ${certs.length} certificate(s), need leaf and root`);
  if (sha256Hex(root.raw) !== pin) throw new ChainError(`${opts.what}: chain does not end in the pinned root CA`, 'ERR_DCAP_UNTRUSTED_ROOT');
  if (!root.checkIssued(root) || !root.verify(root.publicKey)) throw new ChainError(`${opts.what}: root is not self-signed`);
  for (let i = 0; i < certs.length; i++) {
    const c = certs[i];
    const issuer = certs[Math.min(i + 1, certs.length - 1)];
    if (i < certs.length - 1) {
      if (!issuer.ca) throw new ChainError(`${opts.what}: certificate ${i + 1} is not a CA`);
      if (!c.checkIssued(issuer) || !c.verify(issuer.publicKey)) {
        throw new ChainError(`${opts.what}: certificate ${i} is not signed by certificate ${i + 1}`);
      }
    }
    if (!(i === 0 && opts.ignoreLeafValidity) && !inWindow(c, opts.now)) {
      throw new ChainError(`${opts.what}: certificate ${i} (${c.subject.split('\n').join(', ')}) is not valid at ${opts.now.toISOString()}`, 'ERR_DCAP_CERT_EXPIRED');
    }
  }
}

/** The time-dependent half of verifyChain, for a chain whose signatures were verified before (same error). */
function checkChainWindows(certs: X509Certificate[], opts: ChainOptions & { ignoreLeafValidity?: boolean; what: string }): void {
  for (let i = 0; i < certs.length; i++) {
    if (i === 0 && opts.ignoreLeafValidity) continue;
    const f = certFacts(certs[i]);
    if (!(f.notBefore <= opts.now && opts.now <= f.notAfter)) {
      throw new ChainError(`${opts.what}: certificate ${i} (${f.subject}) is not valid at ${opts.now.toISOString()}`, 'ERR_DCAP_CERT_EXPIRED');
    }
  }
}

function p256Key(raw64: Uint8Array): KeyObject {
  const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');
  return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64u(raw64.subarray(0, 32)), y: b64u(raw64.subarray(32, 64)) }, format: 'jwk' });
}

function ecdsaOk(data: Uint8Array, key: KeyObject, rs: Uint8Array): boolean {
  try {
    return cryptoVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, rs);
  } catch {
    return false;
  }
}

export interface QuoteSignatureResult {
  pckChain: X509Certificate[];
  pck: PckExtensions;
  caType: PckCaType;
}

/**
 * Layer 1: the quote is genuine. PCK chain → pinned root; QE report signed by the PCK key; QE report data binds
 * the attestation key (SHA-256(attestation key ‖ QE auth data) ‖ 32 zero bytes); quote signed by that key.
 */
export function verifyQuoteSignatures(quote: Quote, opts: ChainOptions): QuoteSignatureResult {
  const sd = quote.signatureData;
  const pin = (opts.rootSha256 ?? INTEL_SGX_ROOT_CA_SHA256).toLowerCase();
  const verifyPck = () => {
    const pckChain = splitPem(sd.certification.pckChainPem);
    // Intel's PCK chains are exactly PCK → PCK Platform/Processor CA → root.
    if (pckChain.length !== 3) throw new ChainError(`PCK chain has ${pckChain.length} certificates, expected 3`);
    verifyChain(pckChain, { ...opts, what: 'PCK chain' });
    return { pckChain, caType: pckCaType(pckChain[0]), pck: parsePckExtensions(new Uint8Array(pckChain[0].raw)) };
  };
  let verified: ReturnType<typeof verifyPck>;
  if (opts.cache) {
    let fresh = false;
    verified = opts.cache.pckChain(pin, sd.certification.pckChainPem, () => ((fresh = true), verifyPck()));
    // A chain verified at another time: only its validity windows need checking at this `now`.
    if (!fresh) checkChainWindows(verified.pckChain, { ...opts, what: 'PCK chain' });
  } else {
    verified = verifyPck();
  }
  const { pckChain, caType, pck } = verified;
  const pckCert = pckChain[0];
  if (!ecdsaOk(sd.certification.qeReport.raw, certFacts(pckCert).publicKey, sd.certification.qeReportSignature)) {
    throw new VerificationError('ERR_DCAP_QE_REPORT_SIGNATURE', 'QE report signature does not verify with the PCK certificate');
  }
  const expected = Buffer.concat([createHash('sha256').update(sd.attestationKey).update(sd.certification.qeAuthData).digest(), Buffer.alloc(32)]);
  const got = sd.certification.qeReport.reportData;
  if (got.length !== 64 || !timingSafeEqual(expected, got)) {
    throw new VerificationError('ERR_DCAP_QE_BINDING', 'QE report data does not bind the attestation key');
  }
  let ak: KeyObject;
  try {
    ak = opts.cache ? opts.cache.p256Key(sd.attestationKey, p256Key) : p256Key(sd.attestationKey);
  } catch {
    throw new VerificationError('ERR_DCAP_QUOTE_SIGNATURE', 'attestation key is not a P-256 point');
  }
  if (!ecdsaOk(quote.signedBytes, ak, sd.signature)) {
    throw new VerificationError('ERR_DCAP_QUOTE_SIGNATURE', 'quote signature does not verify with the attestation key');
  }
  // Copies: callers own what they receive; the cached arrays stay as they were verified.
  return { pckChain: [...pckChain], pck, caType };
}

export const TCB_SIGNING_CN = 'Intel SGX TCB Signing';

function subjectCn(c: X509Certificate): string | undefined {
  return /(?:^|\n)CN=([^\n]*)/.exec(c.subject)?.[1];
}

/** Signature over the raw member text by the issuer chain's leaf, and the chain to the root. */
export function verifySignedCollateral<T>(
  item: Signed<T>,
  issuerChainPem: string,
  what: string,
  opts: ChainOptions & { allowExpiredTcbSigningCert?: boolean },
): X509Certificate[] {
  const pin = (opts.rootSha256 ?? INTEL_SGX_ROOT_CA_SHA256).toLowerCase();
  if (!opts.cache) return verifySignedCollateralFully(item, issuerChainPem, what, opts);
  let fresh = false;
  const chain = opts.cache.signedCollateral(what, pin, item.raw, item.signature, issuerChainPem, () => ((fresh = true), verifySignedCollateralFully(item, issuerChainPem, what, opts)));
  if (!fresh) checkChainWindows(chain, { ...opts, what: `${what} issuer chain`, ignoreLeafValidity: opts.allowExpiredTcbSigningCert });
  return [...chain];
}

function verifySignedCollateralFully<T>(
  item: Signed<T>,
  issuerChainPem: string,
  what: string,
  opts: ChainOptions & { allowExpiredTcbSigningCert?: boolean },
): X509Certificate[] {
  const chain = splitPem(issuerChainPem);
  // Only Intel's TCB signing certificate, issued directly by the root, may sign collateral. Without this, any key
  // that chains to the root (a PCK key extracted from one platform, say) could sign TCB Info for every platform.
  if (chain.length !== 2 || subjectCn(chain[0]) !== TCB_SIGNING_CN) {
    throw new ChainError(`${what} is not signed by "${TCB_SIGNING_CN}" directly under the root`, 'ERR_DCAP_COLLATERAL_SIGNER');
  }
  verifyChain(chain, { ...opts, what: `${what} issuer chain`, ignoreLeafValidity: opts.allowExpiredTcbSigningCert });
  if (!ecdsaOk(Buffer.from(item.raw, 'utf8'), chain[0].publicKey, item.signature)) {
    throw new VerificationError('ERR_DCAP_COLLATERAL_SIGNATURE', `${what} signature does not verify over the received bytes`);
  }
  return chain;
}

export interface CrlInfo {
  number?: number;
  thisUpdate: Date;
  nextUpdate: Date;
  revoked: Set<string>;
}

function normSerial(hex: string): string {
  return hex.toLowerCase().replace(/^0+(?=.)/, '');
}

/** Checks a CRL's signature by `issuer`, its issuer name, and that `now` is within thisUpdate..nextUpdate. */
export async function checkCrl(der: Uint8Array, issuer: X509Certificate, now: Date, what: string, allowExpired: boolean): Promise<CrlInfo & { expired: boolean }> {
  return crlAt(await verifyCrlSignature(der, issuer, what), now, what, allowExpired);
}

/** The pure half of checkCrl: parse, issuer name, signature, presence of nextUpdate; CRL number and revoked serials. */
async function verifyCrlSignature(der: Uint8Array, issuer: X509Certificate, what: string): Promise<CrlInfo> {
  let crl: pkijs.CertificateRevocationList;
  let issuerP: pkijs.Certificate;
  try {
    crl = pkijs.CertificateRevocationList.fromBER(der);
    issuerP = pkijs.Certificate.fromBER(issuer.raw);
  } catch {
    throw new VerificationError('ERR_DCAP_CRL', `${what} does not parse`);
  }
  if (!crl.issuer.isEqual(issuerP.subject)) throw new VerificationError('ERR_DCAP_CRL', `${what} is not issued by the expected CA`);
  let ok = false;
  try {
    ok = await crl.verify({ issuerCertificate: issuerP });
  } catch {
    ok = false;
  }
  if (!ok) throw new VerificationError('ERR_DCAP_CRL', `${what} signature does not verify`);
  const thisUpdate = crl.thisUpdate.value;
  const next = crl.nextUpdate?.value;
  if (!next) throw new VerificationError('ERR_DCAP_CRL', `${what} has no nextUpdate`);
  let number: number | undefined;
  const numExt = crl.crlExtensions?.extensions.find((e) => e.extnID === '2.5.29.20');
  if (numExt) {
    const parsed = asn1js.fromBER(numExt.extnValue.valueBlock.valueHexView);
    if (parsed.result instanceof asn1js.Integer) number = parsed.result.valueBlock.valueDec;
  }
  const revoked = new Set((crl.revokedCertificates ?? []).map((r) => normSerial(Buffer.from(r.userCertificate.valueBlock.valueHexView).toString('hex'))));
  return { number, thisUpdate, nextUpdate: next, revoked };
}

/** The time-dependent half of checkCrl, run on every call against the caller's `now`. */
function crlAt(info: CrlInfo, now: Date, what: string, allowExpired: boolean): CrlInfo & { expired: boolean } {
  if (info.thisUpdate > now) throw new VerificationError('ERR_DCAP_CRL', `${what} is not yet valid`);
  const expired = now >= info.nextUpdate;
  if (expired && !allowExpired) throw new VerificationError('ERR_DCAP_COLLATERAL_EXPIRED', `${what} expired at ${info.nextUpdate.toISOString()}`);
  return { ...info, expired };
}

/** checkCrl through the verifier's cache: the signature check is reused for identical CRL and issuer bytes. */
async function checkCrlCached(der: Uint8Array, issuer: X509Certificate, now: Date, what: string, allowExpired: boolean, cache: DcapCache | undefined) {
  if (!cache) return checkCrl(der, issuer, now, what, allowExpired);
  return crlAt(await cache.crl(der, issuer, () => verifyCrlSignature(der, issuer, what)), now, what, allowExpired);
}

function isRevoked(crl: CrlInfo | undefined, c: X509Certificate): boolean {
  return crl !== undefined && crl.revoked.has(certFacts(c).serial);
}

export interface VerifiedQuote {
  quote: Quote;
  pck: PckExtensions;
  caType: PckCaType;
  /** The pinned root the PCK chain ended in. */
  rootCert: X509Certificate;
  tcb: TcbEvaluation;
  tcbInfo: TcbInfo;
  qeIdentity: QeIdentity;
  /** True when a collateral item or certificate was past its end at `now` (only possible through an allowance). */
  collateralExpired: boolean;
  earliestIssueDate: Date;
  latestIssueDate: Date;
  earliestExpirationDate: Date;
  pckCrlNum?: number;
  rootCaCrlNum?: number;
}

/**
 * Full verification of one quote against its collateral, as QVL does it. Throws VerificationError with a stable
 * code on the first failure; returns the TCB verdict otherwise (whether the verdict is acceptable is decided by
 * the caller's configured accepted statuses).
 */
export async function verifyQuote(
  quote: Quote,
  collateral: Collateral,
  opts: DcapVerifyOptions,
  /** The result of verifyQuoteSignatures(quote, opts) when the caller already has it (saves re-checking). */
  signatures?: QuoteSignatureResult,
): Promise<VerifiedQuote> {
  const { now } = opts;
  const sig = signatures ?? verifyQuoteSignatures(quote, opts);
  const tee = quote.kind === 'tdx' ? 'TDX' : 'SGX';

  const tcbChain = verifySignedCollateral(collateral.tcbInfo, collateral.tcbInfoIssuerChainPem, 'TCB Info', opts);
  const qeChain = verifySignedCollateral(collateral.qeIdentity, collateral.qeIdentityIssuerChainPem, 'QE identity', opts);
  const tcbInfo = collateral.tcbInfo.value;
  const qeIdentity = collateral.qeIdentity.value;
  if (tcbInfo.id !== tee) throw new VerificationError('ERR_DCAP_COLLATERAL_MISMATCH', `TCB Info is for ${tcbInfo.id}, quote is ${tee}`);
  const wantQe = quote.kind === 'tdx' ? 'TD_QE' : 'QE';
  if (qeIdentity.id !== wantQe) throw new VerificationError('ERR_DCAP_COLLATERAL_MISMATCH', `QE identity is ${qeIdentity.id}, need ${wantQe}`);
  if (!Buffer.from(tcbInfo.fmspc).equals(Buffer.from(sig.pck.fmspc))) {
    throw new VerificationError('ERR_DCAP_COLLATERAL_MISMATCH', 'TCB Info FMSPC does not match the PCK certificate');
  }
  if (!Buffer.from(tcbInfo.pceId).equals(Buffer.from(sig.pck.pceId))) {
    throw new VerificationError('ERR_DCAP_COLLATERAL_MISMATCH', 'TCB Info PCE ID does not match the PCK certificate');
  }

  const floor = opts.minTcbEvaluationDataNumber;
  if (floor !== undefined) {
    for (const [what, n] of [['TCB Info', tcbInfo.tcbEvaluationDataNumber], ['QE identity', qeIdentity.tcbEvaluationDataNumber]] as const) {
      if (n < floor) throw new VerificationError('ERR_DCAP_TCB_EVAL_NUMBER', `${what} tcbEvaluationDataNumber ${n} is below the floor ${floor}`);
    }
  }

  // Dates. A collateral item issued after `now` is refused outright: either the clock or the item is wrong.
  let expired = false;
  for (const [what, item] of [['TCB Info', tcbInfo], ['QE identity', qeIdentity]] as const) {
    if (item.issueDate > now) throw new VerificationError('ERR_DCAP_COLLATERAL_NOT_YET_VALID', `${what} issued after ${now.toISOString()}`);
    if (now >= item.nextUpdate) {
      if (!opts.allowExpiredCollateral) throw new VerificationError('ERR_DCAP_COLLATERAL_EXPIRED', `${what} expired at ${item.nextUpdate.toISOString()}`);
      expired = true;
    }
  }

  // CRLs: the PCK CA's CRL covers the PCK; the root CA CRL covers every intermediate.
  const pckIssuer = sig.pckChain[1];
  const root = sig.pckChain[sig.pckChain.length - 1];
  const pckCrlDer = collateral.pckCrl[sig.caType];
  const issueDates = [tcbInfo.issueDate, qeIdentity.issueDate];
  const expirations = [tcbInfo.nextUpdate, qeIdentity.nextUpdate];
  let pckCrl: (CrlInfo & { expired: boolean }) | undefined;
  let rootCrl: (CrlInfo & { expired: boolean }) | undefined;
  if (pckCrlDer) pckCrl = await checkCrlCached(pckCrlDer, pckIssuer, now, `PCK ${sig.caType} CA CRL`, opts.allowExpiredCollateral ?? false, opts.cache);
  if (collateral.rootCaCrl) rootCrl = await checkCrlCached(collateral.rootCaCrl, root, now, 'root CA CRL', opts.allowExpiredCollateral ?? false, opts.cache);
  if ((!pckCrl || !rootCrl) && !opts.allowMissingCrls) {
    throw new VerificationError('ERR_DCAP_CRL_MISSING', `collateral lacks the ${!pckCrl ? `PCK ${sig.caType} CA CRL` : 'root CA CRL'}`);
  }
  for (const c of [pckCrl, rootCrl]) {
    if (!c) continue;
    issueDates.push(c.thisUpdate);
    expirations.push(c.nextUpdate);
    expired ||= c.expired;
  }
  // QVL's supplemental dates span every collateral item, certificates included (earliest issue date is usually the
  // root's notBefore). A certificate past notAfter here can only be the waived TCB signing cert: report it.
  for (const c of new Set([...sig.pckChain, ...tcbChain, ...qeChain])) {
    const f = certFacts(c);
    issueDates.push(f.notBefore);
    expirations.push(f.notAfter);
    if (now > f.notAfter) expired = true;
  }
  if (isRevoked(pckCrl, sig.pckChain[0])) throw new VerificationError('ERR_DCAP_REVOKED', 'PCK certificate is revoked');
  for (const c of [...sig.pckChain.slice(1, -1), ...tcbChain.slice(0, -1), ...qeChain.slice(0, -1)]) {
    if (isRevoked(rootCrl, c)) throw new VerificationError('ERR_DCAP_REVOKED', `certificate ${certFacts(c).subject} is revoked`);
  }

  const tcb = evaluateTcb({
    pck: sig.pck.tcb,
    qeReport: quote.signatureData.certification.qeReport,
    td: quote.kind === 'tdx' ? quote.body : undefined,
    tcbInfo,
    qeIdentity,
  });
  const t = (ds: Date[]) => ds.map((d) => d.getTime());
  return {
    quote,
    pck: sig.pck,
    caType: sig.caType,
    rootCert: root,
    tcb,
    tcbInfo,
    qeIdentity,
    collateralExpired: expired,
    earliestIssueDate: new Date(Math.min(...t(issueDates))),
    latestIssueDate: new Date(Math.max(...t(issueDates))),
    earliestExpirationDate: new Date(Math.min(...t(expirations))),
    pckCrlNum: pckCrl?.number,
    rootCaCrlNum: rootCrl?.number,
  };
}
