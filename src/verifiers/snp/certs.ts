/**
 * AMD certificates (ARK, ASK, ASVK, VCEK, VLEK): decode DER once into a typed struct, read AMD's extensions, and check
 * RSASSA-PSS/SHA-384 signatures with the exact parameters AMD uses. No policy, no network.
 */
import { createHash, createPublicKey, verify as cryptoVerify, constants, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { VerificationError } from '../types.js';
import type { Generation } from './layout.js';

/** AMD VCEK/VLEK certificate extensions (AMD "VCEK Certificate and KDS Interface Specification", 57230). */
export const AMD_OID = {
  structVersion: '1.3.6.1.4.1.3704.1.1',
  productName: '1.3.6.1.4.1.3704.1.2',
  blSpl: '1.3.6.1.4.1.3704.1.3.1',
  teeSpl: '1.3.6.1.4.1.3704.1.3.2',
  snpSpl: '1.3.6.1.4.1.3704.1.3.3',
  ucodeSpl: '1.3.6.1.4.1.3704.1.3.8',
  fmcSpl: '1.3.6.1.4.1.3704.1.3.9',
  hwid: '1.3.6.1.4.1.3704.1.4',
  cspId: '1.3.6.1.4.1.3704.1.5',
} as const;

const OID_RSASSA_PSS = '1.2.840.113549.1.1.10';
const OID_MGF1 = '1.2.840.113549.1.1.8';
const OID_SHA384 = '2.16.840.1.101.3.4.2.2';

export interface AmdCert {
  der: Uint8Array;
  /** lowercase hex SHA-256 of the DER. */
  sha256: string;
  tbs: Uint8Array;
  signature: Uint8Array;
  /** Whether signatureAlgorithm (outer and in TBS) is RSASSA-PSS with SHA-384, MGF1-SHA-384, salt 48, trailer 1. */
  pssSha384: boolean;
  serial: Uint8Array;
  subjectCN: string;
  issuerCN: string;
  subjectDer: Uint8Array;
  issuerDer: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
  /** Extension values (the OCTET STRING contents) by OID. Duplicate OIDs are rejected at parse time. */
  extensions: Map<string, Uint8Array>;
}

function certError(msg: string, cause?: unknown): never {
  throw new VerificationError('SNP_CERT_MALFORMED', msg, cause ? { cause } : undefined);
}

function cnOf(name: pkijs.RelativeDistinguishedNames): string {
  const cns = name.typesAndValues.filter((t) => t.type === '2.5.4.3');
  if (cns.length !== 1) return '';
  const v = cns[0].value.valueBlock as { value?: unknown };
  return typeof v.value === 'string' ? v.value : '';
}

function isAmdPss(alg: pkijs.AlgorithmIdentifier): boolean {
  if (alg.algorithmId !== OID_RSASSA_PSS || !alg.algorithmParams) return false;
  try {
    const p = new pkijs.RSASSAPSSParams({ schema: alg.algorithmParams });
    if (p.hashAlgorithm.algorithmId !== OID_SHA384) return false;
    if (p.maskGenAlgorithm.algorithmId !== OID_MGF1) return false;
    const mgfHash = new pkijs.AlgorithmIdentifier({ schema: p.maskGenAlgorithm.algorithmParams });
    return mgfHash.algorithmId === OID_SHA384 && p.saltLength === 48 && p.trailerField === 1;
  } catch {
    return false;
  }
}

const toBytes = (b: ArrayBuffer | Uint8Array) => (b instanceof Uint8Array ? Uint8Array.from(b) : new Uint8Array(b));

export function parseAmdCert(der: Uint8Array, label = 'certificate'): AmdCert {
  let c: pkijs.Certificate;
  try {
    const asn = asn1js.fromBER(der);
    // Trailing bytes would make the fingerprint we pin differ from the certificate we check.
    if (asn.offset !== der.length) throw new Error('trailing bytes');
    c = new pkijs.Certificate({ schema: asn.result });
  } catch (e) {
    certError(`${label}: not a DER X.509 certificate`, e);
  }
  const extensions = new Map<string, Uint8Array>();
  for (const e of c.extensions ?? []) {
    if (extensions.has(e.extnID)) certError(`${label}: duplicate extension ${e.extnID}`);
    extensions.set(e.extnID, toBytes(e.extnValue.valueBlock.valueHexView));
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(c.subjectPublicKeyInfo.toSchema().toBER()), format: 'der', type: 'spki' });
  } catch (e) {
    certError(`${label}: unsupported public key`, e);
  }
  const outerAlg = new Uint8Array(c.signatureAlgorithm.toSchema().toBER());
  const innerAlg = new Uint8Array(c.signature.toSchema().toBER());
  const sameAlg = Buffer.compare(Buffer.from(outerAlg), Buffer.from(innerAlg)) === 0;
  return {
    der: Uint8Array.from(der),
    sha256: createHash('sha256').update(der).digest('hex'),
    tbs: toBytes(c.tbsView),
    signature: toBytes(c.signatureValue.valueBlock.valueHexView),
    pssSha384: sameAlg && isAmdPss(c.signatureAlgorithm),
    serial: toBytes(c.serialNumber.valueBlock.valueHexView),
    subjectCN: cnOf(c.subject),
    issuerCN: cnOf(c.issuer),
    subjectDer: new Uint8Array(c.subject.toSchema().toBER()),
    issuerDer: new Uint8Array(c.issuer.toSchema().toBER()),
    notBefore: c.notBefore.value,
    notAfter: c.notAfter.value,
    publicKey,
    extensions,
  };
}

/** Splits PEM text into DER blobs (CERTIFICATE blocks only). */
export function pemToDers(pem: string, label = 'CERTIFICATE'): Uint8Array[] {
  const re = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`, 'g');
  return [...pem.matchAll(re)].map((m) => new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ''), 'base64')));
}

export function derToPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** RSASSA-PSS/SHA-384 (salt 48) signature of `signed` under an RSA issuer key. */
export function rsaPssSha384Valid(issuerKey: KeyObject, signed: Uint8Array, signature: Uint8Array): boolean {
  const t = issuerKey.asymmetricKeyType;
  if (t !== 'rsa' && t !== 'rsa-pss') return false;
  try {
    return cryptoVerify('sha384', signed, { key: issuerKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 }, signature);
  } catch {
    return false;
  }
}

/** `child` names `issuer` and carries a valid AMD-parameter RSASSA-PSS signature from it. */
export function issuedBy(child: AmdCert, issuer: AmdCert): boolean {
  return (
    child.pssSha384 &&
    Buffer.compare(Buffer.from(child.issuerDer), Buffer.from(issuer.subjectDer)) === 0 &&
    rsaPssSha384Valid(issuer.publicKey, child.tbs, child.signature)
  );
}

export function validAt(c: AmdCert, now: Date): boolean {
  return c.notBefore.getTime() <= now.getTime() && now.getTime() <= c.notAfter.getTime();
}

// ---- AMD extensions ---------------------------------------------------------------------------------------------

/** An SPL extension is a DER INTEGER 0..255. */
function splValue(cert: AmdCert, oid: string, name: string): number | undefined {
  const v = cert.extensions.get(oid);
  if (!v) return undefined;
  const parsed = asn1js.fromBER(v);
  if (parsed.offset !== v.length || !(parsed.result instanceof asn1js.Integer)) certError(`${name} extension is not a DER INTEGER`);
  const n = parsed.result.valueBlock.valueDec;
  if (!Number.isSafeInteger(n) || n < 0 || n > 255) certError(`${name} extension out of range`);
  return n;
}

export interface EndorsementTcb {
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
  fmc?: number;
}

/**
 * Facts derived from a certificate's own bytes, remembered per certificate object (the struct is never mutated, so
 * the derivation is pure). Keyed weakly by the object: a verifier's cached certificate carries them along, and
 * they go away with it. Only successful derivations are remembered; a malformed extension throws every time.
 */
const derived = {
  tcb: new WeakMap<AmdCert, EndorsementTcb>(),
  hwid: new WeakMap<AmdCert, Uint8Array | null>(),
  product: new WeakMap<AmdCert, string | null>(),
};

function memoize<T>(map: WeakMap<AmdCert, T>, cert: AmdCert, f: () => T): T {
  if (map.has(cert)) return map.get(cert) as T;
  const v = f();
  map.set(cert, v);
  return v;
}

export function endorsementTcb(cert: AmdCert): EndorsementTcb {
  return { ...memoize(derived.tcb, cert, () => endorsementTcbOf(cert)) };
}

function endorsementTcbOf(cert: AmdCert): EndorsementTcb {
  const need = (oid: string, name: string) => {
    const v = splValue(cert, oid, name);
    if (v === undefined) certError(`endorsement key lacks the ${name} extension (${oid})`);
    return v;
  };
  const fmc = splValue(cert, AMD_OID.fmcSpl, 'fmcSPL');
  return {
    bootloader: need(AMD_OID.blSpl, 'blSPL'),
    tee: need(AMD_OID.teeSpl, 'teeSPL'),
    snp: need(AMD_OID.snpSpl, 'snpSPL'),
    microcode: need(AMD_OID.ucodeSpl, 'ucodeSPL'),
    ...(fmc === undefined ? {} : { fmc }),
  };
}

/**
 * hwID (1.3.6.1.4.1.3704.1.4). KDS has used two encodings: the raw bytes, and the bytes wrapped in an inner OCTET
 * STRING; both are accepted. 64 bytes up to Genoa; Turin VCEKs carry the 8-byte hwID.
 */
export function hwid(cert: AmdCert): Uint8Array | undefined {
  return memoize(derived.hwid, cert, () => hwidOf(cert) ?? null) ?? undefined;
}

function hwidOf(cert: AmdCert): Uint8Array | undefined {
  const v = cert.extensions.get(AMD_OID.hwid);
  if (!v) return undefined;
  if (v.length === 64 || v.length === 8) return v;
  const parsed = asn1js.fromBER(v);
  if (parsed.offset === v.length && parsed.result instanceof asn1js.OctetString) {
    const inner = toBytes(parsed.result.valueBlock.valueHexView);
    if (inner.length === 64 || inner.length === 8) return inner;
  }
  certError('hwID extension has an unexpected encoding');
}

/** Product name (IA5String), e.g. "Milan-B0", "Genoa", "Turin-C0". */
export function productName(cert: AmdCert): string | undefined {
  return memoize(derived.product, cert, () => productNameOf(cert) ?? null) ?? undefined;
}

function productNameOf(cert: AmdCert): string | undefined {
  const v = cert.extensions.get(AMD_OID.productName);
  if (!v) return undefined;
  const parsed = asn1js.fromBER(v);
  if (parsed.offset !== v.length || !(parsed.result instanceof asn1js.IA5String)) {
    // Some encoders emit the raw string; accept printable ASCII only.
    const s = Buffer.from(v).toString('latin1');
    if (/^[\x20-\x7e]+$/.test(s)) return s;
    certError('product name extension is not an IA5String');
  }
  return parsed.result.valueBlock.value;
}

export function generationFromProductName(name: string): Generation | undefined {
  const base = name.split('-')[0];
  return base === 'Milan' || base === 'Genoa' || base === 'Turin' ? base : undefined;
}
