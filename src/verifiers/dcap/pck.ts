/**
 * Intel PCK certificate SGX extensions (OID 1.2.840.113741.1.13.1), per Intel "SGX PCK Certificate and
 * Certificate Revocation List Profile Specification". Parsing only: chain checks live in verify.ts.
 */
import * as asn1js from 'asn1js';
import { X509Certificate } from 'node:crypto';
import { VerificationError } from '../types.js';

export const SGX_EXTENSIONS_OID = '1.2.840.113741.1.13.1';
const OID = {
  ppid: `${SGX_EXTENSIONS_OID}.1`,
  tcb: `${SGX_EXTENSIONS_OID}.2`,
  pceId: `${SGX_EXTENSIONS_OID}.3`,
  fmspc: `${SGX_EXTENSIONS_OID}.4`,
  sgxType: `${SGX_EXTENSIONS_OID}.5`,
  platformInstanceId: `${SGX_EXTENSIONS_OID}.6`,
  configuration: `${SGX_EXTENSIONS_OID}.7`,
} as const;
const TCB_PCESVN = 17;
const TCB_CPUSVN = 18;

export type PckCaType = 'processor' | 'platform';

export interface PckTcb {
  /** SGX TCB component SVNs 1..16 (index 0 = component 1). */
  sgxTcbComponents: number[];
  pceSvn: number;
  cpuSvn: Uint8Array;
}

export interface PckExtensions {
  ppid: Uint8Array;
  tcb: PckTcb;
  pceId: Uint8Array;
  fmspc: Uint8Array;
  /** 0 = Standard, 1 = Scalable, 2 = ScalableWithIntegrity. */
  sgxType: number;
  platformInstanceId?: Uint8Array;
  dynamicPlatform?: boolean;
  cachedKeys?: boolean;
  smtEnabled?: boolean;
}

export class PckExtensionError extends VerificationError {
  constructor(message: string) {
    super('ERR_DCAP_PCK_EXTENSION', `PCK certificate: ${message}`);
    this.name = 'PckExtensionError';
  }
}

function extensionValue(certDer: Uint8Array, oid: string): Uint8Array | undefined {
  const parsed = asn1js.fromBER(certDer);
  if (parsed.offset === -1) throw new PckExtensionError('not DER');
  // Certificate ::= SEQUENCE { tbsCertificate, ... }; extensions are [3] EXPLICIT inside tbsCertificate.
  const tbs = (parsed.result as asn1js.Sequence).valueBlock.value[0] as asn1js.Sequence;
  for (const el of tbs.valueBlock.value) {
    if (el.idBlock.tagClass === 3 && el.idBlock.tagNumber === 3) {
      const exts = (el as asn1js.Constructed).valueBlock.value[0] as asn1js.Sequence;
      for (const ext of exts.valueBlock.value as asn1js.Sequence[]) {
        const parts = ext.valueBlock.value;
        const id = (parts[0] as asn1js.ObjectIdentifier).valueBlock.toString();
        if (id === oid) {
          const octets = parts[parts.length - 1] as asn1js.OctetString;
          return new Uint8Array(octets.valueBlock.valueHexView);
        }
      }
    }
  }
  return undefined;
}

/** SEQUENCE OF SEQUENCE { OID, value } → map OID → value element. */
function oidMap(seq: asn1js.AsnType, where: string): Map<string, asn1js.AsnType> {
  if (!(seq instanceof asn1js.Sequence)) throw new PckExtensionError(`${where} is not a SEQUENCE`);
  const out = new Map<string, asn1js.AsnType>();
  for (const item of seq.valueBlock.value) {
    if (!(item instanceof asn1js.Sequence) || item.valueBlock.value.length !== 2) throw new PckExtensionError(`${where}: bad entry`);
    const [id, value] = item.valueBlock.value;
    if (!(id instanceof asn1js.ObjectIdentifier)) throw new PckExtensionError(`${where}: entry without OID`);
    const key = id.valueBlock.toString();
    if (out.has(key)) throw new PckExtensionError(`${where}: duplicate ${key}`);
    out.set(key, value);
  }
  return out;
}

function octets(v: asn1js.AsnType | undefined, name: string, len: number): Uint8Array {
  if (!(v instanceof asn1js.OctetString)) throw new PckExtensionError(`${name} missing or not an OCTET STRING`);
  const b = new Uint8Array(v.valueBlock.valueHexView);
  if (b.length !== len) throw new PckExtensionError(`${name} is ${b.length} bytes, expected ${len}`);
  return b;
}

function int(v: asn1js.AsnType | undefined, name: string): number {
  if (!(v instanceof asn1js.Integer) && !(v instanceof asn1js.Enumerated)) throw new PckExtensionError(`${name} missing or not an INTEGER`);
  const n = v.valueBlock.valueDec;
  if (!Number.isSafeInteger(n) || n < 0) throw new PckExtensionError(`${name} out of range`);
  return n;
}

function bool(v: asn1js.AsnType | undefined): boolean | undefined {
  return v instanceof asn1js.Boolean ? v.valueBlock.value : undefined;
}

export function parsePckExtensions(certDer: Uint8Array): PckExtensions {
  const raw = extensionValue(certDer, SGX_EXTENSIONS_OID);
  if (!raw) throw new PckExtensionError('no SGX extension (1.2.840.113741.1.13.1)');
  const parsed = asn1js.fromBER(raw);
  if (parsed.offset === -1 || parsed.offset !== raw.length) throw new PckExtensionError('SGX extension is not DER');
  const top = oidMap(parsed.result, 'SGX extension');
  const tcbMap = oidMap(top.get(OID.tcb) as asn1js.AsnType, 'TCB');
  const sgxTcbComponents: number[] = [];
  for (let i = 1; i <= 16; i++) sgxTcbComponents.push(int(tcbMap.get(`${OID.tcb}.${i}`), `TCB component ${i}`));
  const tcb: PckTcb = {
    sgxTcbComponents,
    pceSvn: int(tcbMap.get(`${OID.tcb}.${TCB_PCESVN}`), 'PCESVN'),
    cpuSvn: octets(tcbMap.get(`${OID.tcb}.${TCB_CPUSVN}`), 'CPUSVN', 16),
  };
  const out: PckExtensions = {
    ppid: octets(top.get(OID.ppid), 'PPID', 16),
    tcb,
    pceId: octets(top.get(OID.pceId), 'PCE-ID', 2),
    fmspc: octets(top.get(OID.fmspc), 'FMSPC', 6),
    sgxType: int(top.get(OID.sgxType), 'SGX Type'),
  };
  const pii = top.get(OID.platformInstanceId);
  if (pii) out.platformInstanceId = octets(pii, 'PlatformInstanceID', 16);
  const conf = top.get(OID.configuration);
  if (conf) {
    const m = oidMap(conf, 'Configuration');
    out.dynamicPlatform = bool(m.get(`${OID.configuration}.1`));
    out.cachedKeys = bool(m.get(`${OID.configuration}.2`));
    out.smtEnabled = bool(m.get(`${OID.configuration}.3`));
  }
  return out;
}

/** The CA that issued a PCK certificate, from its issuer CN (Intel names exactly two). */
export function pckCaType(pck: X509Certificate): PckCaType {
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(pck.issuer)?.[1];
  if (cn === 'Intel SGX PCK Platform CA') return 'platform';
  if (cn === 'Intel SGX PCK Processor CA') return 'processor';
  throw new PckExtensionError(`issuer "${cn ?? ''}" is neither the PCK Platform CA nor the PCK Processor CA`);
}
