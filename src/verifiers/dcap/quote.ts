/**
 * Intel DCAP quote byte layouts: SGX ECDSA quote v3, TDX quote v4 (TDX 1.0 body) and v5 (body type 2 = TDX 1.0,
 * 3 = TDX 1.5). Pure parsing: nothing here knows about certificates, collateral or policy.
 *
 * Sources: Intel "SGX ECDSA Quote Library API" (quote v3, Appendix A), Intel "TDX DCAP Quoting Library API"
 * (quote v4 / v5). Every offset is named once below.
 */
import { VerificationError } from '../types.js';

export class QuoteFormatError extends VerificationError {
  constructor(message: string) {
    super('ERR_DCAP_QUOTE_FORMAT', `malformed quote: ${message}`);
    this.name = 'QuoteFormatError';
  }
}

export const TEE_TYPE_SGX = 0x00000000;
export const TEE_TYPE_TDX = 0x00000081;
export const ATT_KEY_TYPE_ECDSA_P256 = 2;
export const INTEL_QE_VENDOR_ID = '939a7233f79c4ca9940a0db3957f0607';

export const HEADER_SIZE = 48;
export const SGX_REPORT_BODY_SIZE = 384;
export const TD10_REPORT_BODY_SIZE = 584;
export const TD15_REPORT_BODY_SIZE = 648;
const ECDSA_SIG_SIZE = 64;
const ECDSA_PUBKEY_SIZE = 64;

/** Certification data types (Intel quote library: `sgx_ql_cert_key_type_t`). */
export const CERT_TYPE_PCK_CHAIN = 5;
export const CERT_TYPE_QE_REPORT = 6;

/** Quote header, common to v3/v4/v5 (48 bytes). v3 reads bytes 4..12 as att_key_data_0, qe_svn, pce_svn. */
export interface QuoteHeader {
  version: number;
  attKeyType: number;
  /** v4/v5: tee_type; v3: always SGX (the same 4 bytes are `att_key_data_0`, reserved). */
  teeType: number;
  /** Raw bytes 4..8 (v3 `att_key_data_0`, v4+ `tee_type`). */
  raw4: Uint8Array;
  /** Raw bytes 8..12 (v3 qe_svn ‖ pce_svn, v4+ reserved). */
  raw8: Uint8Array;
  qeSvn: number;
  pceSvn: number;
  qeVendorId: Uint8Array;
  userData: Uint8Array;
}

/** SGX enclave report body (`sgx_report_body_t`, 384 bytes). Also the layout of the QE report. */
export interface SgxReportBody {
  cpuSvn: Uint8Array;
  miscSelect: number;
  miscSelectRaw: Uint8Array;
  reserved1: Uint8Array;
  isvExtProdId: Uint8Array;
  attributes: Uint8Array; // 16 bytes: flags (8) ‖ xfrm (8)
  mrEnclave: Uint8Array;
  reserved2: Uint8Array;
  mrSigner: Uint8Array;
  reserved3: Uint8Array;
  configId: Uint8Array;
  isvProdId: number;
  isvSvn: number;
  configSvn: number;
  reserved4: Uint8Array;
  isvFamilyId: Uint8Array;
  reportData: Uint8Array;
  /** The exact 384 bytes (what the QE report signature covers). */
  raw: Uint8Array;
}

/** TD report body; `teeTcbSvn2` and `mrServiceTd` only for TDX 1.5 bodies. */
export interface TdReportBody {
  teeTcbSvn: Uint8Array;
  mrSeam: Uint8Array;
  mrSignerSeam: Uint8Array;
  seamAttributes: Uint8Array;
  tdAttributes: Uint8Array;
  xfam: Uint8Array;
  mrTd: Uint8Array;
  mrConfigId: Uint8Array;
  mrOwner: Uint8Array;
  mrOwnerConfig: Uint8Array;
  rtmr: [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  reportData: Uint8Array;
  teeTcbSvn2?: Uint8Array;
  mrServiceTd?: Uint8Array;
}

export interface QeReportCertificationData {
  qeReport: SgxReportBody;
  qeReportSignature: Uint8Array;
  qeAuthData: Uint8Array;
  /** PEM text of the PCK certificate chain (leaf first), from certification data type 5. */
  pckChainPem: string;
}

export interface QuoteSignatureData {
  /** ECDSA P-256 signature, raw big-endian r ‖ s. */
  signature: Uint8Array;
  /** Attestation public key, raw x ‖ y (64 bytes). */
  attestationKey: Uint8Array;
  certification: QeReportCertificationData;
}

interface QuoteCommon {
  header: QuoteHeader;
  /** header ‖ (v5 body descriptor) ‖ body: the bytes the attestation key signs. */
  signedBytes: Uint8Array;
  signatureData: QuoteSignatureData;
}

export interface SgxQuote extends QuoteCommon {
  kind: 'sgx';
  body: SgxReportBody;
}

export interface TdxQuote extends QuoteCommon {
  kind: 'tdx';
  /** v5 body type (2 = TDX 1.0, 3 = TDX 1.5); v4 has no descriptor and is always TDX 1.0. */
  bodyType?: number;
  bodySize?: number;
  body: TdReportBody;
}

export type Quote = SgxQuote | TdxQuote;

/** Bounds-checked cursor: every read names what it reads, so truncation errors say where. */
class Reader {
  constructor(private readonly buf: Uint8Array, public pos = 0) {}
  get remaining(): number {
    return this.buf.length - this.pos;
  }
  bytes(n: number, what: string): Uint8Array {
    if (n < 0 || this.pos + n > this.buf.length) {
      throw new QuoteFormatError(`truncated at ${what} (need ${n} bytes at offset ${this.pos}, have ${this.remaining})`);
    }
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  u16(what: string): number {
    const b = this.bytes(2, what);
    return b[0] | (b[1] << 8);
  }
  u32(what: string): number {
    const b = this.bytes(4, what);
    return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  }
}

function u16le(b: Uint8Array, off: number): number {
  return b[off] | (b[off + 1] << 8);
}
function u32le(b: Uint8Array, off: number): number {
  return (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;
}

function parseHeader(r: Reader): QuoteHeader {
  const version = r.u16('header.version');
  const attKeyType = r.u16('header.att_key_type');
  const raw4 = r.bytes(4, 'header.tee_type');
  const raw8 = r.bytes(4, 'header.reserved');
  const qeVendorId = r.bytes(16, 'header.qe_vendor_id');
  const userData = r.bytes(20, 'header.user_data');
  const teeType = version === 3 ? TEE_TYPE_SGX : u32le(raw4, 0);
  return {
    version,
    attKeyType,
    teeType,
    raw4,
    raw8,
    qeSvn: u16le(raw8, 0),
    pceSvn: u16le(raw8, 2),
    qeVendorId,
    userData,
  };
}

/** Parses a 384-byte SGX report body (enclave report or QE report). */
export function parseSgxReportBody(raw: Uint8Array): SgxReportBody {
  const r = new Reader(raw);
  const cpuSvn = r.bytes(16, 'report.cpu_svn');
  const miscSelectRaw = r.bytes(4, 'report.misc_select');
  const reserved1 = r.bytes(12, 'report.reserved1');
  const isvExtProdId = r.bytes(16, 'report.isv_ext_prod_id');
  const attributes = r.bytes(16, 'report.attributes');
  const mrEnclave = r.bytes(32, 'report.mr_enclave');
  const reserved2 = r.bytes(32, 'report.reserved2');
  const mrSigner = r.bytes(32, 'report.mr_signer');
  const reserved3 = r.bytes(32, 'report.reserved3');
  const configId = r.bytes(64, 'report.config_id');
  const isvProdId = r.u16('report.isv_prod_id');
  const isvSvn = r.u16('report.isv_svn');
  const configSvn = r.u16('report.config_svn');
  const reserved4 = r.bytes(42, 'report.reserved4');
  const isvFamilyId = r.bytes(16, 'report.isv_family_id');
  const reportData = r.bytes(64, 'report.report_data');
  if (r.remaining !== 0) throw new QuoteFormatError(`SGX report body is ${raw.length} bytes, expected ${SGX_REPORT_BODY_SIZE}`);
  return {
    cpuSvn,
    miscSelect: u32le(miscSelectRaw, 0),
    miscSelectRaw,
    reserved1,
    isvExtProdId,
    attributes,
    mrEnclave,
    reserved2,
    mrSigner,
    reserved3,
    configId,
    isvProdId,
    isvSvn,
    configSvn,
    reserved4,
    isvFamilyId,
    reportData,
    raw,
  };
}

function parseTdReportBody(raw: Uint8Array, tdx15: boolean): TdReportBody {
  const r = new Reader(raw);
  const body: TdReportBody = {
    teeTcbSvn: r.bytes(16, 'td.tee_tcb_svn'),
    mrSeam: r.bytes(48, 'td.mr_seam'),
    mrSignerSeam: r.bytes(48, 'td.mrsigner_seam'),
    seamAttributes: r.bytes(8, 'td.seam_attributes'),
    tdAttributes: r.bytes(8, 'td.td_attributes'),
    xfam: r.bytes(8, 'td.xfam'),
    mrTd: r.bytes(48, 'td.mr_td'),
    mrConfigId: r.bytes(48, 'td.mr_config_id'),
    mrOwner: r.bytes(48, 'td.mr_owner'),
    mrOwnerConfig: r.bytes(48, 'td.mr_owner_config'),
    rtmr: [r.bytes(48, 'td.rtmr0'), r.bytes(48, 'td.rtmr1'), r.bytes(48, 'td.rtmr2'), r.bytes(48, 'td.rtmr3')],
    reportData: r.bytes(64, 'td.report_data'),
  };
  if (tdx15) {
    body.teeTcbSvn2 = r.bytes(16, 'td.tee_tcb_svn2');
    body.mrServiceTd = r.bytes(48, 'td.mr_servicetd');
  }
  if (r.remaining !== 0) throw new QuoteFormatError(`TD report body has ${r.remaining} unexpected trailing bytes`);
  return body;
}

function parseCertificationData(r: Reader, expectType: number, where: string): Uint8Array {
  const type = r.u16(`${where}.cert_data_type`);
  const size = r.u32(`${where}.cert_data_size`);
  if (type !== expectType) throw new QuoteFormatError(`${where}: certification data type ${type}, expected ${expectType}`);
  return r.bytes(size, `${where}.cert_data`);
}

function pckChainFromType5(data: Uint8Array): string {
  // The PEM chain may be NUL-terminated; anything that is not PEM text is rejected at certificate parsing.
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  const text = Buffer.from(data.subarray(0, end)).toString('latin1');
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new QuoteFormatError('PCK certification data holds no PEM certificate');
  return text;
}

function parseQeReportBlock(r: Reader, where: string): Omit<QeReportCertificationData, 'pckChainPem'> {
  const qeReport = parseSgxReportBody(r.bytes(SGX_REPORT_BODY_SIZE, `${where}.qe_report`));
  const qeReportSignature = r.bytes(ECDSA_SIG_SIZE, `${where}.qe_report_signature`);
  const authLen = r.u16(`${where}.qe_auth_data_size`);
  const qeAuthData = r.bytes(authLen, `${where}.qe_auth_data`);
  return { qeReport, qeReportSignature, qeAuthData };
}

/** v3: sig ‖ att_key ‖ qe_report ‖ qe_report_sig ‖ qe_auth ‖ cert data (type 5). */
function parseSignatureDataV3(sig: Uint8Array): QuoteSignatureData {
  const r = new Reader(sig);
  const signature = r.bytes(ECDSA_SIG_SIZE, 'sig.quote_signature');
  const attestationKey = r.bytes(ECDSA_PUBKEY_SIZE, 'sig.attestation_key');
  const qe = parseQeReportBlock(r, 'sig');
  const pck = parseCertificationData(r, CERT_TYPE_PCK_CHAIN, 'sig');
  if (r.remaining !== 0) throw new QuoteFormatError(`${r.remaining} trailing bytes in signature data`);
  return { signature, attestationKey, certification: { ...qe, pckChainPem: pckChainFromType5(pck) } };
}

/** v4/v5: sig ‖ att_key ‖ cert data type 6 { qe_report ‖ qe_report_sig ‖ qe_auth ‖ cert data type 5 }. */
function parseSignatureDataV4(sig: Uint8Array): QuoteSignatureData {
  const r = new Reader(sig);
  const signature = r.bytes(ECDSA_SIG_SIZE, 'sig.quote_signature');
  const attestationKey = r.bytes(ECDSA_PUBKEY_SIZE, 'sig.attestation_key');
  const outer = parseCertificationData(r, CERT_TYPE_QE_REPORT, 'sig');
  if (r.remaining !== 0) throw new QuoteFormatError(`${r.remaining} trailing bytes in signature data`);
  const inner = new Reader(outer);
  const qe = parseQeReportBlock(inner, 'sig.qe_cert_data');
  const pck = parseCertificationData(inner, CERT_TYPE_PCK_CHAIN, 'sig.qe_cert_data');
  if (inner.remaining !== 0) throw new QuoteFormatError(`${inner.remaining} trailing bytes in QE certification data`);
  return { signature, attestationKey, certification: { ...qe, pckChainPem: pckChainFromType5(pck) } };
}

/**
 * Parses quote bytes. The quote must be as long as its header, body and signature-data length say: truncated
 * input is rejected, and so are trailing bytes other than zero padding (a verifier must never sign-check one
 * region and read claims from another).
 */
export function parseQuote(bytes: Uint8Array): Quote {
  const r = new Reader(bytes);
  const header = parseHeader(r);
  if (header.attKeyType !== ATT_KEY_TYPE_ECDSA_P256) {
    throw new QuoteFormatError(`attestation key type ${header.attKeyType} not supported (only 2 = ECDSA-256-with-P-256)`);
  }
  let quote: Quote;
  if (header.version === 3) {
    const body = parseSgxReportBody(r.bytes(SGX_REPORT_BODY_SIZE, 'sgx report body'));
    const signedBytes = bytes.subarray(0, r.pos);
    const sigLen = r.u32('signature_data_len');
    const signatureData = parseSignatureDataV3(r.bytes(sigLen, 'signature data'));
    quote = { kind: 'sgx', header, body, signedBytes, signatureData };
  } else if (header.version === 4 || header.version === 5) {
    let bodyType: number | undefined;
    let bodySize: number | undefined;
    let bodyLen: number;
    let tdx15 = false;
    if (header.version === 5) {
      bodyType = r.u16('body_descriptor.type');
      bodySize = r.u32('body_descriptor.size');
      if (bodyType === 2 && bodySize === TD10_REPORT_BODY_SIZE) tdx15 = false;
      else if (bodyType === 3 && bodySize === TD15_REPORT_BODY_SIZE) tdx15 = true;
      else if (bodyType === 1) throw new QuoteFormatError('v5 quote with SGX body (type 1) is not supported');
      else throw new QuoteFormatError(`v5 body type ${bodyType} with size ${bodySize} is not a known TD report body`);
      bodyLen = bodySize;
    } else {
      bodyLen = TD10_REPORT_BODY_SIZE;
    }
    if (header.teeType === TEE_TYPE_SGX) throw new QuoteFormatError(`quote v${header.version} with SGX tee_type is not supported`);
    if (header.teeType !== TEE_TYPE_TDX) throw new QuoteFormatError(`unknown tee_type 0x${header.teeType.toString(16)}`);
    const body = parseTdReportBody(r.bytes(bodyLen, 'td report body'), tdx15);
    const signedBytes = bytes.subarray(0, r.pos);
    const sigLen = r.u32('signature_data_len');
    const signatureData = parseSignatureDataV4(r.bytes(sigLen, 'signature data'));
    quote = { kind: 'tdx', header, bodyType, bodySize, body, signedBytes, signatureData };
  } else {
    throw new QuoteFormatError(`quote version ${header.version} not supported (3 = SGX, 4/5 = TDX)`);
  }
  // Real quote buffers are often zero-padded (tdx_quote_6.dat carries 70 zero bytes after the signature data).
  // Padding is tolerated; any non-zero trailing byte is not, because nothing vouches for it.
  const trailing = bytes.subarray(r.pos);
  if (trailing.some((b) => b !== 0)) throw new QuoteFormatError(`${trailing.length} non-zero trailing bytes after signature data`);
  return quote;
}
