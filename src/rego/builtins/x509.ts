/**
 * crypto.x509.* and crypto.parse_private_keys. Certificates are returned in the shape of Go's encoding/json of
 * x509.Certificate (the fields OPA policies read: Subject/Issuer names, validity, SANs, key usage, extensions…).
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { def, asString, builtinError, typeError, isNumber, typeName, RegoObject, RegoSet } from './util.js';
import type { BuiltinDef, Value, BuiltinContext } from './util.js';
import { fromJSON, normNum } from '../value.js';
import { pemDecodeAll } from './keys.js';

// ---- input decoding (OPA's getX509CertsFromString)

const STD_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeInput(name: string, text: string, pemType: string): Buffer[] {
  let data: Buffer;
  if (text.startsWith('-----BEGIN')) data = Buffer.from(text, 'utf8');
  else {
    const s = text.replace(/[\r\n]/g, '');
    if (!STD_B64.test(s)) {
      const at = [...s].findIndex((c) => !/[A-Za-z0-9+/=]/.test(c));
      throw builtinError(name, `illegal base64 data at input byte ${at >= 0 ? at : s.length - (s.length % 4)}`);
    }
    data = Buffer.from(s, 'base64');
  }
  if (data.subarray(0, 10).toString('latin1') === '-----BEGIN') {
    const blocks = pemDecodeAll(data.toString('utf8')).filter((b) => b.type === pemType);
    if (blocks.length === 0) throw builtinError(name, `failed to find any PEM ${pemType} blocks`);
    return blocks.map((b) => b.der);
  }
  return [data];
}

/** Splits concatenated DER structures (Go's x509.ParseCertificates accepts several in a row). */
function splitDer(name: string, der: Buffer, what: string): asn1js.AsnType[] {
  const out: asn1js.AsnType[] = [];
  let rest = new Uint8Array(der);
  while (rest.length > 0) {
    const r = asn1js.fromBER(rest);
    if (r.offset === -1 || r.result.error) throw builtinError(name, what);
    out.push(r.result);
    rest = rest.subarray(r.offset);
  }
  return out;
}

// ---- Go JSON shapes

const NAME_FIELDS: [string, string][] = [
  ['2.5.4.6', 'Country'],
  ['2.5.4.10', 'Organization'],
  ['2.5.4.11', 'OrganizationalUnit'],
  ['2.5.4.7', 'Locality'],
  ['2.5.4.8', 'Province'],
  ['2.5.4.9', 'StreetAddress'],
  ['2.5.4.17', 'PostalCode'],
];

function oidArray(oid: string): number[] {
  return oid.split('.').map(Number);
}

function attrText(v: unknown): string {
  const vb = (v as { valueBlock?: { value?: unknown } }).valueBlock;
  return typeof vb?.value === 'string' ? vb.value : '';
}

function goName(rdn: pkijs.RelativeDistinguishedNames): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const names: unknown[] = [];
  for (const [, field] of NAME_FIELDS) out[field] = null;
  out.SerialNumber = '';
  out.CommonName = '';
  for (const tv of rdn.typesAndValues) {
    const value = attrText(tv.value);
    names.push({ Type: oidArray(tv.type), Value: value });
    const field = NAME_FIELDS.find(([oid]) => oid === tv.type)?.[1];
    if (field) ((out[field] as string[] | null) ?? (out[field] = [])) && (out[field] as string[]).push(value);
    else if (tv.type === '2.5.4.3') out.CommonName = value;
    else if (tv.type === '2.5.4.5') out.SerialNumber = value;
  }
  out.Names = names;
  out.ExtraNames = null;
  return out;
}

const SIG_ALGS: Record<string, number> = {
  '1.2.840.113549.1.1.2': 1,
  '1.2.840.113549.1.1.4': 2,
  '1.2.840.113549.1.1.5': 3,
  '1.2.840.113549.1.1.11': 4,
  '1.2.840.113549.1.1.12': 5,
  '1.2.840.113549.1.1.13': 6,
  '1.2.840.10040.4.3': 7,
  '2.16.840.1.101.3.4.3.2': 8,
  '1.2.840.10045.4.1': 9,
  '1.2.840.10045.4.3.2': 10,
  '1.2.840.10045.4.3.3': 11,
  '1.2.840.10045.4.3.4': 12,
  '1.2.840.113549.1.1.10': 13, // RSASSA-PSS (Go refines by hash: 13/14/15)
  '1.3.101.112': 16,
};

/** Go's x509.SignatureAlgorithm number; RSASSA-PSS is refined by its hash (SHA256/384/512WithRSAPSS = 13/14/15). */
function sigAlg(alg: pkijs.AlgorithmIdentifier): number {
  if (alg.algorithmId !== '1.2.840.113549.1.1.10') return SIG_ALGS[alg.algorithmId] ?? 0;
  try {
    const params = new pkijs.RSASSAPSSParams({ schema: alg.algorithmParams });
    const byHash: Record<string, number> = { '2.16.840.1.101.3.4.2.1': 13, '2.16.840.1.101.3.4.2.2': 14, '2.16.840.1.101.3.4.2.3': 15 };
    return byHash[params.hashAlgorithm.algorithmId] ?? 0;
  } catch {
    return 0;
  }
}

const PK_ALGS: Record<string, number> = { '1.2.840.113549.1.1.1': 1, '1.2.840.10040.4.1': 2, '1.2.840.10045.2.1': 3, '1.3.101.112': 4 };

const EXT_KEY_USAGE: Record<string, number> = {
  '2.5.29.37.0': 0,
  '1.3.6.1.5.5.7.3.1': 1,
  '1.3.6.1.5.5.7.3.2': 2,
  '1.3.6.1.5.5.7.3.3': 3,
  '1.3.6.1.5.5.7.3.4': 4,
  '1.3.6.1.5.5.7.3.5': 5,
  '1.3.6.1.5.5.7.3.6': 6,
  '1.3.6.1.5.5.7.3.7': 7,
  '1.3.6.1.5.5.7.3.8': 8,
  '1.3.6.1.5.5.7.3.9': 9,
};

function bigFromBytes(b: Uint8Array, signed = true): number | bigint {
  if (b.length === 0) return 0;
  let n = BigInt('0x' + Buffer.from(b).toString('hex'));
  if (signed && b[0]! & 0x80) n -= 1n << BigInt(b.length * 8);
  return normNum(n);
}

function b64(b: ArrayBuffer | Uint8Array): string {
  return Buffer.from(b instanceof Uint8Array ? b : new Uint8Array(b)).toString('base64');
}

function publicKeyJson(spki: pkijs.PublicKeyInfo): unknown {
  const pk = spki.parsedKey;
  if (pk instanceof pkijs.RSAPublicKey) {
    return { N: bigFromBytes(pk.modulus.valueBlock.valueHexView, false), E: bigFromBytes(pk.publicExponent.valueBlock.valueHexView, false) };
  }
  if (pk instanceof pkijs.ECPublicKey) {
    return { Curve: { Name: pk.namedCurve }, X: bigFromBytes(new Uint8Array(pk.x), false), Y: bigFromBytes(new Uint8Array(pk.y), false) };
  }
  return b64(spki.subjectPublicKey.valueBlock.valueHexView);
}

function goTime(d: Date): string {
  return d.toISOString().replace(/\.000Z$/, 'Z');
}

interface SanSet {
  DNSNames: string[] | null;
  EmailAddresses: string[] | null;
  IPAddresses: string[] | null;
  URIs: string[] | null;
}

function ipText(bytes: Uint8Array): string {
  if (bytes.length === 4) return [...bytes].join('.');
  const groups: string[] = [];
  for (let i = 0; i < bytes.length; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

function sans(ext: pkijs.Extension | undefined): SanSet {
  const out: SanSet = { DNSNames: null, EmailAddresses: null, IPAddresses: null, URIs: null };
  const names = (ext?.parsedValue as pkijs.AltName | undefined)?.altNames ?? [];
  const push = (k: keyof SanSet, v: string) => (out[k] ??= []).push(v);
  for (const g of names) {
    if (g.type === 1) push('EmailAddresses', String(g.value));
    else if (g.type === 2) push('DNSNames', String(g.value));
    else if (g.type === 6) push('URIs', String(g.value));
    else if (g.type === 7) push('IPAddresses', ipText((g.value as asn1js.OctetString).valueBlock.valueHexView));
  }
  return out;
}

function extensionsJson(exts: pkijs.Extension[]): unknown[] {
  return exts.map((e) => ({ Id: oidArray(e.extnID), Critical: e.critical, Value: b64(e.extnValue.valueBlock.valueHexView) }));
}

function certJson(cert: pkijs.Certificate, raw: ArrayBuffer): unknown {
  const exts = cert.extensions ?? [];
  const ext = (oid: string) => exts.find((e) => e.extnID === oid);
  const bc = ext('2.5.29.19')?.parsedValue as pkijs.BasicConstraints | undefined;
  const kuExt = ext('2.5.29.15');
  let keyUsage = 0;
  if (kuExt) {
    // KeyUsage BIT STRING: bit 0 (digitalSignature) is the most significant bit of the first byte; Go numbers them 1<<i.
    const bits = (kuExt.parsedValue as asn1js.BitString).valueBlock.valueHexView;
    for (let i = 0; i < 9; i++) if ((bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) keyUsage |= 1 << i;
  }
  const eku = (ext('2.5.29.37')?.parsedValue as pkijs.ExtKeyUsage | undefined)?.keyPurposes ?? [];
  const ski = ext('2.5.29.14')?.parsedValue as asn1js.OctetString | undefined;
  const aki = ext('2.5.29.35')?.parsedValue as pkijs.AuthorityKeyIdentifier | undefined;
  const pathLen = bc?.pathLenConstraint;
  return {
    Raw: b64(raw),
    RawTBSCertificate: b64(cert.tbsView),
    RawSubjectPublicKeyInfo: b64(cert.subjectPublicKeyInfo.toSchema().toBER()),
    RawSubject: b64(cert.subject.toSchema().toBER()),
    RawIssuer: b64(cert.issuer.toSchema().toBER()),
    Signature: b64(cert.signatureValue.valueBlock.valueHexView),
    SignatureAlgorithm: sigAlg(cert.signatureAlgorithm),
    PublicKeyAlgorithm: PK_ALGS[cert.subjectPublicKeyInfo.algorithm.algorithmId] ?? 0,
    PublicKey: publicKeyJson(cert.subjectPublicKeyInfo),
    Version: cert.version + 1,
    SerialNumber: bigFromBytes(cert.serialNumber.valueBlock.valueHexView),
    Issuer: goName(cert.issuer),
    Subject: goName(cert.subject),
    NotBefore: goTime(cert.notBefore.value),
    NotAfter: goTime(cert.notAfter.value),
    KeyUsage: keyUsage,
    Extensions: extensionsJson(exts),
    ExtraExtensions: null,
    UnhandledCriticalExtensions: null,
    ExtKeyUsage: nullIfEmpty(eku.filter((o) => o in EXT_KEY_USAGE).map((o) => EXT_KEY_USAGE[o]!)),
    UnknownExtKeyUsage: nullIfEmpty(eku.filter((o) => !(o in EXT_KEY_USAGE)).map(oidArray)),
    BasicConstraintsValid: bc !== undefined,
    IsCA: bc?.cA ?? false,
    MaxPathLen: typeof pathLen === 'number' ? pathLen : bc ? -1 : 0,
    MaxPathLenZero: pathLen === 0,
    SubjectKeyId: ski ? b64(ski.valueBlock.valueHexView) : null,
    AuthorityKeyId: aki?.keyIdentifier ? b64(aki.keyIdentifier.valueBlock.valueHexView) : null,
    ...sans(ext('2.5.29.17')),
  };
}

function nullIfEmpty<T>(xs: T[]): T[] | null {
  return xs.length ? xs : null;
}

interface ParsedCert {
  der: Buffer;
  json: unknown;
}

function parseCerts(name: string, text: string): ParsedCert[] {
  const out: ParsedCert[] = [];
  for (const der of decodeInput(name, text, 'CERTIFICATE')) {
    for (const asn of splitDer(name, der, 'x509: malformed certificate')) {
      let cert: pkijs.Certificate;
      try {
        cert = new pkijs.Certificate({ schema: asn });
      } catch {
        throw builtinError(name, 'x509: malformed certificate');
      }
      const raw = asn.toBER();
      out.push({ der: Buffer.from(raw), json: certJson(cert, raw) });
    }
  }
  return out;
}

/**
 * Leaf first, trust anchor last (OPA's parse_and_verify_certificates, Go's x509.Verify with the last certificate as the
 * only root): every certificate is within its validity period, each is issued and signed by the next one, and every
 * issuer is a CA whose key usage (when present) allows certificate signing. The anchor is trusted as given.
 */
function verifyChain(certs: ParsedCert[], nowMs: number): boolean {
  if (certs.length < 2) return false;
  let xs: X509Certificate[];
  try {
    xs = certs.map((c) => new X509Certificate(c.der));
  } catch {
    return false;
  }
  for (let i = 0; i < xs.length; i++) {
    const c = xs[i]!;
    if (nowMs < Date.parse(c.validFrom) || nowMs > Date.parse(c.validTo)) return false;
    if (i + 1 === xs.length) break;
    const issuer = xs[i + 1]!;
    const issuerJson = certs[i + 1]!.json as { KeyUsage: number; Extensions: { Id: number[] }[] };
    if (!issuer.ca) return false;
    const hasKeyUsage = issuerJson.Extensions.some((e) => e.Id.join('.') === '2.5.29.15');
    if (hasKeyUsage && (issuerJson.KeyUsage & 32) === 0) return false; // x509.KeyUsageCertSign
    if (!c.checkIssued(issuer)) return false;
    if (!c.verify(issuer.publicKey)) return false;
  }
  return true;
}

const KEY_USAGE_NAMES: Record<string, number> = {
  KeyUsageAny: 0,
  KeyUsageServerAuth: 1,
  KeyUsageClientAuth: 2,
  KeyUsageCodeSigning: 3,
  KeyUsageEmailProtection: 4,
  KeyUsageIPSECEndSystem: 5,
  KeyUsageIPSECTunnel: 6,
  KeyUsageIPSECUser: 7,
  KeyUsageTimeStamping: 8,
  KeyUsageOCSPSigning: 9,
};

interface VerifyOptions {
  nowMs: number;
  dnsName?: string;
  /** Go's x509.ExtKeyUsage numbers; undefined means Go's default (server auth). */
  keyUsages?: number[];
}

function parseVerifyOptions(name: string, v: Value, ctx: BuiltinContext): VerifyOptions {
  const opts: VerifyOptions = { nowMs: Number(ctx.nowNs() / 1_000_000n) };
  if (!(v instanceof RegoObject)) throw typeError(name, 2, 'object', v);
  for (const [k, x] of v.entries()) {
    switch (k) {
      case 'DNSName':
        if (typeof x !== 'string') throw builtinError(name, "'DNSName' must be a string");
        opts.dnsName = x;
        break;
      case 'CurrentTime':
        if (!isNumber(x)) throw builtinError(name, "'CurrentTime' must be a number of nanoseconds");
        opts.nowMs = Number(BigInt(typeof x === 'bigint' ? x : Math.trunc(x)) / 1_000_000n);
        break;
      case 'MaxConstraintComparisons':
        if (!isNumber(x)) throw builtinError(name, "'MaxConstraintComparisons' must be a number");
        break;
      case 'KeyUsages': {
        const names = Array.isArray(x) ? x : x instanceof RegoSet ? x.values() : undefined;
        if (!names) throw builtinError(name, "'KeyUsages' must be an array of strings");
        opts.keyUsages = names.map((n) => {
          const u = typeof n === 'string' ? KEY_USAGE_NAMES[n] : undefined;
          if (u === undefined) throw builtinError(name, `invalid entry for 'KeyUsages': ${typeof n === 'string' ? n : typeName(n)}`);
          return u;
        });
        break;
      }
      default:
        throw builtinError(name, `invalid key option: ${typeof k === 'string' ? k : typeName(k)}`);
    }
  }
  return opts;
}

/** Go's hostname matching for one SAN (a leading "*." wildcard covers exactly one label). */
function dnsMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  const h = host.toLowerCase().replace(/\.$/, '');
  if (p === h) return true;
  if (!p.startsWith('*.')) return false;
  const dot = h.indexOf('.');
  return dot > 0 && h.slice(dot) === p.slice(1);
}

function leafAcceptable(leaf: CertJsonFields, opts: VerifyOptions): boolean {
  if (opts.dnsName !== undefined && !(leaf.DNSNames ?? []).some((d) => dnsMatches(d, opts.dnsName!))) return false;
  const wanted = opts.keyUsages ?? [1];
  if (wanted.includes(0)) return true;
  const have = leaf.ExtKeyUsage;
  if (have === null) return true; // no EKU extension: any usage (Go)
  return have.includes(0) || have.some((u) => wanted.includes(u));
}

interface CertJsonFields {
  DNSNames: string[] | null;
  ExtKeyUsage: number[] | null;
}

function csrJson(name: string, text: string): unknown {
  const ders = decodeInput(name, text, 'CERTIFICATE REQUEST');
  const asn = asn1js.fromBER(new Uint8Array(ders[0]!));
  if (asn.offset === -1 || asn.result.error) throw builtinError(name, 'asn1: structure error: malformed certificate request');
  let csr: pkijs.CertificationRequest;
  try {
    csr = new pkijs.CertificationRequest({ schema: asn.result });
  } catch {
    throw builtinError(name, 'asn1: structure error: malformed certificate request');
  }
  return {
    Raw: b64(asn.result.toBER()),
    Version: csr.version,
    Signature: b64(csr.signatureValue.valueBlock.valueHexView),
    SignatureAlgorithm: sigAlg(csr.signatureAlgorithm),
    PublicKeyAlgorithm: PK_ALGS[csr.subjectPublicKeyInfo.algorithm.algorithmId] ?? 0,
    PublicKey: publicKeyJson(csr.subjectPublicKeyInfo),
    Subject: goName(csr.subject),
  };
}

function keyToJwk(name: string, key: KeyObject): Value {
  try {
    return fromJSON(key.export({ format: 'jwk' }));
  } catch {
    throw builtinError(name, 'unsupported private key type');
  }
}

function privateKeyFromPem(name: string, text: string): KeyObject {
  const pemText = text.startsWith('-----BEGIN') ? text : decodeBase64OrFail(name, text).toString('utf8');
  try {
    return createPrivateKey(pemText);
  } catch {
    throw builtinError(name, 'failed to parse PEM private key');
  }
}

function decodeBase64OrFail(name: string, s: string): Buffer {
  const t = s.replace(/[\r\n]/g, '');
  if (!STD_B64.test(t)) throw builtinError(name, 'illegal base64 data at input byte 0');
  return Buffer.from(t, 'base64');
}

export const X509_BUILTINS: BuiltinDef[] = [
  def('crypto.x509.parse_certificates', ['string'], 'array', (args) => {
    const n = 'crypto.x509.parse_certificates';
    return parseCerts(n, asString(n, args, 0)).map((c) => fromJSON(c.json));
  }),
  def('crypto.x509.parse_and_verify_certificates', ['string'], 'array', (args, ctx: BuiltinContext) => {
    const n = 'crypto.x509.parse_and_verify_certificates';
    const certs = parseCerts(n, asString(n, args, 0));
    const nowMs = Number(ctx.nowNs() / 1_000_000n);
    if (!verifyChain(certs, nowMs)) return [false, []];
    return [true, certs.map((c) => fromJSON(c.json))];
  }),
  def('crypto.x509.parse_and_verify_certificates_with_options', ['string', 'object'], 'array', (args, ctx: BuiltinContext) => {
    const n = 'crypto.x509.parse_and_verify_certificates_with_options';
    const certs = parseCerts(n, asString(n, args, 0));
    const opts = parseVerifyOptions(n, args[1]!, ctx);
    if (!verifyChain(certs, opts.nowMs) || !leafAcceptable(certs[0]!.json as CertJsonFields, opts)) return [false, []];
    return [true, certs.map((c) => fromJSON(c.json))];
  }),
  def('crypto.x509.parse_certificate_request', ['string'], 'object', (args) => {
    const n = 'crypto.x509.parse_certificate_request';
    return fromJSON(csrJson(n, asString(n, args, 0)));
  }),
  def('crypto.x509.parse_rsa_private_key', ['string'], 'object', (args) => {
    const n = 'crypto.x509.parse_rsa_private_key';
    const key = privateKeyFromPem(n, asString(n, args, 0));
    if (key.asymmetricKeyType !== 'rsa') throw builtinError(n, 'not an RSA private key');
    return keyToJwk(n, key);
  }),
  def('crypto.parse_private_keys', ['string'], 'array', (args) => {
    const n = 'crypto.parse_private_keys';
    const s = asString(n, args, 0);
    if (s === '') return [];
    const text = s.startsWith('-----BEGIN') ? s : decodeBase64OrFail(n, s).toString('utf8');
    return pemDecodeAll(text)
      .filter((b) => b.type.endsWith('PRIVATE KEY'))
      .map((b) => {
        const type = b.type === 'RSA PRIVATE KEY' ? 'pkcs1' : b.type === 'EC PRIVATE KEY' ? 'sec1' : 'pkcs8';
        try {
          return keyToJwk(n, createPrivateKey({ key: b.der, format: 'der', type }));
        } catch {
          throw builtinError(n, 'failed to parse PEM private key');
        }
      });
  }),
];
