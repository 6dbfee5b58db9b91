/**
 * Intel DCAP collateral: TCB Info (v3), QE Identity (v2), CRLs and issuer chains; typed once at the edge.
 *
 * Signatures over TCB Info / QE Identity cover the exact bytes of the `tcbInfo` / `enclaveIdentity` member text
 * as Intel sent it. We therefore keep that raw text next to the parsed value and never re-serialize.
 */
import { VerificationError } from '../types.js';

export class CollateralError extends VerificationError {
  constructor(message: string, code = 'ERR_DCAP_COLLATERAL') {
    super(code, `collateral: ${message}`);
    this.name = 'CollateralError';
  }
}

export type TcbStatus =
  | 'UpToDate'
  | 'SWHardeningNeeded'
  | 'ConfigurationNeeded'
  | 'ConfigurationAndSWHardeningNeeded'
  | 'OutOfDate'
  | 'OutOfDateConfigurationNeeded'
  | 'Revoked';
const TCB_STATUSES: readonly string[] = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
  'Revoked',
];

export interface TcbLevel {
  sgxTcbComponents: number[];
  pceSvn: number;
  tdxTcbComponents?: number[];
  tcbDate: string;
  tcbStatus: TcbStatus;
  advisoryIds: string[];
}

export interface TdxModule {
  mrSigner: Uint8Array;
  attributes: Uint8Array;
  attributesMask: Uint8Array;
}

export interface IsvTcbLevel {
  isvSvn: number;
  tcbDate: string;
  tcbStatus: TcbStatus;
  advisoryIds: string[];
}

export interface TdxModuleIdentity extends TdxModule {
  id: string;
  tcbLevels: IsvTcbLevel[];
}

export interface TcbInfo {
  id: 'SGX' | 'TDX';
  version: number;
  issueDate: Date;
  nextUpdate: Date;
  fmspc: Uint8Array;
  pceId: Uint8Array;
  tcbType: number;
  tcbEvaluationDataNumber: number;
  tdxModule?: TdxModule;
  tdxModuleIdentities?: TdxModuleIdentity[];
  tcbLevels: TcbLevel[];
}

export interface QeIdentity {
  id: 'QE' | 'TD_QE' | 'QVE';
  version: number;
  issueDate: Date;
  nextUpdate: Date;
  tcbEvaluationDataNumber: number;
  miscSelect: number;
  miscSelectMask: number;
  attributes: Uint8Array;
  attributesMask: Uint8Array;
  mrSigner: Uint8Array;
  isvProdId: number;
  tcbLevels: IsvTcbLevel[];
}

/** A signed collateral body: the raw member text (what was signed), its parsed value, the signature. */
export interface Signed<T> {
  raw: string;
  value: T;
  /** ECDSA P-256, raw r ‖ s. */
  signature: Uint8Array;
}

/** Everything a DCAP verification needs besides the quote. PEM chains are leaf first. */
export interface Collateral {
  tcbInfo: Signed<TcbInfo>;
  tcbInfoIssuerChainPem: string;
  qeIdentity: Signed<QeIdentity>;
  qeIdentityIssuerChainPem: string;
  /** PCK CRLs (DER) by issuing CA; absent when the source carried none. */
  pckCrl: { processor?: Uint8Array; platform?: Uint8Array };
  rootCaCrl?: Uint8Array;
}

// ---------------------------------------------------------------------------------------------------------------
// Raw member extraction

function skipWs(s: string, i: number): number {
  while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\n' || s[i] === '\r')) i++;
  return i;
}

function skipString(s: string, i: number): number {
  // s[i] === '"'
  i++;
  while (i < s.length) {
    const c = s[i];
    if (c === '\\') i += 2;
    else if (c === '"') return i + 1;
    else i++;
  }
  throw new CollateralError('unterminated string in JSON');
}

function skipValue(s: string, i: number): number {
  i = skipWs(s, i);
  const c = s[i];
  if (c === '"') return skipString(s, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    while (i < s.length) {
      const d = s[i];
      if (d === '"') {
        i = skipString(s, i);
        continue;
      }
      if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    throw new CollateralError('unbalanced JSON');
  }
  let j = i;
  while (j < s.length && !',}] \t\r\n'.includes(s[j])) j++;
  if (j === i) throw new CollateralError('empty JSON value');
  return j;
}

/**
 * Returns the exact source text of each member of a top-level JSON object. The whole text must also be valid
 * JSON (checked by JSON.parse first), so this scanner only has to find boundaries, not validate.
 */
export function rawMembers(text: string): Map<string, string> {
  JSON.parse(text);
  const out = new Map<string, string>();
  let i = skipWs(text, 0);
  if (text[i] !== '{') throw new CollateralError('expected a JSON object');
  i = skipWs(text, i + 1);
  if (text[i] === '}') return out;
  for (;;) {
    const keyEnd = skipString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWs(text, keyEnd);
    i = skipWs(text, i + 1); // ':'
    const end = skipValue(text, i);
    if (out.has(key)) throw new CollateralError(`duplicate member "${key}"`);
    out.set(key, text.slice(i, end));
    i = skipWs(text, end);
    if (text[i] === ',') i = skipWs(text, i + 1);
    else break;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Field decoders (parse, don't validate)

type Obj = Record<string, unknown>;
function obj(v: unknown, name: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CollateralError(`${name} is not an object`);
  return v as Obj;
}
function arr(v: unknown, name: string): unknown[] {
  if (!Array.isArray(v)) throw new CollateralError(`${name} is not an array`);
  return v;
}
function str(v: unknown, name: string): string {
  if (typeof v !== 'string') throw new CollateralError(`${name} is not a string`);
  return v;
}
function uint(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new CollateralError(`${name} is not a non-negative integer`);
  return v;
}
function hex(v: unknown, name: string, len?: number): Uint8Array {
  const s = str(v, name);
  if (!/^([0-9a-fA-F]{2})*$/.test(s)) throw new CollateralError(`${name} is not hex`);
  const b = new Uint8Array(Buffer.from(s, 'hex'));
  if (len !== undefined && b.length !== len) throw new CollateralError(`${name} is ${b.length} bytes, expected ${len}`);
  return b;
}
function date(v: unknown, name: string): Date {
  const s = str(v, name);
  const d = new Date(s);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(s) || Number.isNaN(d.getTime())) throw new CollateralError(`${name} is not an ISO 8601 date`);
  return d;
}
function status(v: unknown, name: string): TcbStatus {
  const s = str(v, name);
  if (!TCB_STATUSES.includes(s)) throw new CollateralError(`${name} "${s}" is not a known TCB status`);
  return s as TcbStatus;
}
function advisories(v: unknown, name: string): string[] {
  if (v === undefined) return [];
  return arr(v, name).map((a, i) => str(a, `${name}[${i}]`));
}
function svnList(v: unknown, name: string): number[] {
  const a = arr(v, name);
  if (a.length !== 16) throw new CollateralError(`${name} has ${a.length} entries, expected 16`);
  return a.map((c, i) => uint(obj(c, `${name}[${i}]`).svn, `${name}[${i}].svn`));
}

function isvTcbLevels(v: unknown, name: string): IsvTcbLevel[] {
  return arr(v, name).map((l, i) => {
    const o = obj(l, `${name}[${i}]`);
    return {
      isvSvn: uint(obj(o.tcb, `${name}[${i}].tcb`).isvsvn, `${name}[${i}].tcb.isvsvn`),
      tcbDate: str(o.tcbDate, `${name}[${i}].tcbDate`),
      tcbStatus: status(o.tcbStatus, `${name}[${i}].tcbStatus`),
      advisoryIds: advisories(o.advisoryIDs, `${name}[${i}].advisoryIDs`),
    };
  });
}

function tdxModule(v: unknown, name: string): TdxModule {
  const o = obj(v, name);
  return {
    mrSigner: hex(o.mrsigner, `${name}.mrsigner`, 48),
    attributes: hex(o.attributes, `${name}.attributes`, 8),
    attributesMask: hex(o.attributesMask, `${name}.attributesMask`, 8),
  };
}

export function decodeTcbInfo(v: unknown): TcbInfo {
  const o = obj(v, 'tcbInfo');
  const id = o.id === undefined ? 'SGX' : str(o.id, 'tcbInfo.id');
  if (id !== 'SGX' && id !== 'TDX') throw new CollateralError(`tcbInfo.id "${id}" unknown`);
  const version = uint(o.version, 'tcbInfo.version');
  if (version !== 3) throw new CollateralError(`tcbInfo.version ${version} not supported (need 3)`);
  const info: TcbInfo = {
    id,
    version,
    issueDate: date(o.issueDate, 'tcbInfo.issueDate'),
    nextUpdate: date(o.nextUpdate, 'tcbInfo.nextUpdate'),
    fmspc: hex(o.fmspc, 'tcbInfo.fmspc', 6),
    pceId: hex(o.pceId, 'tcbInfo.pceId', 2),
    tcbType: uint(o.tcbType, 'tcbInfo.tcbType'),
    tcbEvaluationDataNumber: uint(o.tcbEvaluationDataNumber, 'tcbInfo.tcbEvaluationDataNumber'),
    tcbLevels: arr(o.tcbLevels, 'tcbInfo.tcbLevels').map((l, i) => {
      const lo = obj(l, `tcbLevels[${i}]`);
      const tcb = obj(lo.tcb, `tcbLevels[${i}].tcb`);
      const level: TcbLevel = {
        sgxTcbComponents: svnList(tcb.sgxtcbcomponents, `tcbLevels[${i}].tcb.sgxtcbcomponents`),
        pceSvn: uint(tcb.pcesvn, `tcbLevels[${i}].tcb.pcesvn`),
        tcbDate: str(lo.tcbDate, `tcbLevels[${i}].tcbDate`),
        tcbStatus: status(lo.tcbStatus, `tcbLevels[${i}].tcbStatus`),
        advisoryIds: advisories(lo.advisoryIDs, `tcbLevels[${i}].advisoryIDs`),
      };
      if (id === 'TDX') level.tdxTcbComponents = svnList(tcb.tdxtcbcomponents, `tcbLevels[${i}].tcb.tdxtcbcomponents`);
      return level;
    }),
  };
  if (info.tcbType !== 0) throw new CollateralError(`tcbInfo.tcbType ${info.tcbType} not supported`);
  if (id === 'TDX') {
    info.tdxModule = tdxModule(o.tdxModule, 'tcbInfo.tdxModule');
    if (o.tdxModuleIdentities !== undefined) {
      info.tdxModuleIdentities = arr(o.tdxModuleIdentities, 'tcbInfo.tdxModuleIdentities').map((m, i) => {
        const mo = obj(m, `tdxModuleIdentities[${i}]`);
        return {
          id: str(mo.id, `tdxModuleIdentities[${i}].id`),
          ...tdxModule(mo, `tdxModuleIdentities[${i}]`),
          tcbLevels: isvTcbLevels(mo.tcbLevels, `tdxModuleIdentities[${i}].tcbLevels`),
        };
      });
    }
  }
  return info;
}

export function decodeQeIdentity(v: unknown): QeIdentity {
  const o = obj(v, 'enclaveIdentity');
  const id = str(o.id, 'enclaveIdentity.id');
  if (id !== 'QE' && id !== 'TD_QE' && id !== 'QVE') throw new CollateralError(`enclaveIdentity.id "${id}" unknown`);
  const version = uint(o.version, 'enclaveIdentity.version');
  if (version !== 2) throw new CollateralError(`enclaveIdentity.version ${version} not supported (need 2)`);
  const u32 = (x: unknown, n: string) => Buffer.from(hex(x, n, 4)).readUInt32BE(0);
  return {
    id,
    version,
    issueDate: date(o.issueDate, 'enclaveIdentity.issueDate'),
    nextUpdate: date(o.nextUpdate, 'enclaveIdentity.nextUpdate'),
    tcbEvaluationDataNumber: uint(o.tcbEvaluationDataNumber, 'enclaveIdentity.tcbEvaluationDataNumber'),
    // MISCSELECT is written big-endian in the JSON; the quote holds it little-endian (compared as numbers).
    miscSelect: u32(o.miscselect, 'enclaveIdentity.miscselect'),
    miscSelectMask: u32(o.miscselectMask, 'enclaveIdentity.miscselectMask'),
    attributes: hex(o.attributes, 'enclaveIdentity.attributes', 16),
    attributesMask: hex(o.attributesMask, 'enclaveIdentity.attributesMask', 16),
    mrSigner: hex(o.mrsigner, 'enclaveIdentity.mrsigner', 32),
    isvProdId: uint(o.isvprodid, 'enclaveIdentity.isvprodid'),
    tcbLevels: isvTcbLevels(o.tcbLevels, 'enclaveIdentity.tcbLevels'),
  };
}

/**
 * Decodes an Intel PCS response body `{"tcbInfo": {...}, "signature": "hex"}` from its exact text.
 * Accepts a string (the bytes as received). An already-parsed object is refused on purpose: once parsed,
 * the signed bytes are gone.
 */
export function parseSignedTcbInfo(text: string): Signed<TcbInfo> {
  const m = rawMembers(text);
  const raw = m.get('tcbInfo');
  const sig = m.get('signature');
  if (raw === undefined || sig === undefined) throw new CollateralError('TCB Info needs members "tcbInfo" and "signature"');
  return { raw, value: decodeTcbInfo(JSON.parse(raw)), signature: hex(JSON.parse(sig), 'signature', 64) };
}

export function parseSignedQeIdentity(text: string): Signed<QeIdentity> {
  const m = rawMembers(text);
  const raw = m.get('enclaveIdentity');
  const sig = m.get('signature');
  if (raw === undefined || sig === undefined) throw new CollateralError('QE identity needs members "enclaveIdentity" and "signature"');
  return { raw, value: decodeQeIdentity(JSON.parse(raw)), signature: hex(JSON.parse(sig), 'signature', 64) };
}

// ---------------------------------------------------------------------------------------------------------------
// Intel PCS client tool file format (Trustee's file collateral service)

export type TcbUpdateType = 'early' | 'standard';

export interface CollateralRequest {
  tee: 'sgx' | 'tdx';
  fmspc: Uint8Array;
}

function hexOrNull(v: unknown, name: string): Uint8Array | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  return hex(v, name);
}

function pemFromUrlEncoded(v: unknown, name: string): string {
  const s = str(v, name);
  let pem: string;
  try {
    pem = decodeURIComponent(s);
  } catch {
    throw new CollateralError(`${name} is not URL-encoded PEM`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new CollateralError(`${name} holds no PEM certificate`);
  return pem;
}

/**
 * The embedded TCB Info / QE identity objects of the file format. Their original text is lost once the file is
 * parsed, so we locate each raw member text inside the file. The file itself is the text Intel's tool wrote.
 */
function nestedRaw(text: string, path: (string | number)[]): string {
  let cur = text;
  for (const p of path) {
    if (typeof p === 'number') {
      const items = rawArrayItems(cur);
      const item = items[p];
      if (item === undefined) throw new CollateralError(`collateral file: missing item ${p}`);
      cur = item;
    } else {
      const m = rawMembers(cur);
      const v = m.get(p);
      if (v === undefined) throw new CollateralError(`collateral file: missing member "${p}"`);
      cur = v;
    }
  }
  return cur;
}

function rawArrayItems(text: string): string[] {
  const out: string[] = [];
  let i = skipWs(text, 0);
  if (text[i] !== '[') throw new CollateralError('expected a JSON array');
  i = skipWs(text, i + 1);
  if (text[i] === ']') return out;
  for (;;) {
    const end = skipValue(text, i);
    out.push(text.slice(i, end));
    i = skipWs(text, end);
    if (text[i] === ',') i = skipWs(text, i + 1);
    else break;
  }
  return out;
}

/**
 * Selects collateral for one quote from a PCS-client-tool collateral file (see docs/verifiers/tdx.md).
 * Each `tcbinfos[]` entry holds Intel response objects; their signed inner text is taken from the file bytes.
 */
export function collateralFromFile(text: string, req: CollateralRequest, update: TcbUpdateType): Collateral {
  let root: Obj;
  try {
    root = obj(obj(JSON.parse(text), 'file').collaterals, 'collaterals');
  } catch (e) {
    if (e instanceof CollateralError) throw e;
    throw new CollateralError('collateral file is not JSON');
  }
  const fmspcHex = Buffer.from(req.fmspc).toString('hex');
  const infos = arr(root.tcbinfos, 'collaterals.tcbinfos');
  const index = infos.findIndex((t) => str(obj(t, 'tcbinfos[]').fmspc, 'tcbinfos[].fmspc').toLowerCase() === fmspcHex);
  if (index < 0) throw new CollateralError(`no TCB Info for FMSPC ${fmspcHex}`, 'ERR_DCAP_COLLATERAL_NOT_FOUND');
  const member = `${req.tee}_tcbinfo${update === 'early' ? '_early' : ''}`;
  const entry = obj(infos[index], 'tcbinfos[]');
  if (entry[member] === undefined) throw new CollateralError(`no ${member} for FMSPC ${fmspcHex}`, 'ERR_DCAP_COLLATERAL_NOT_FOUND');
  const tcbInfo = parseSignedTcbInfo(nestedRaw(text, ['collaterals', 'tcbinfos', index, member]));
  const qeMember = `${req.tee === 'tdx' ? 'tdqeidentity' : 'qeidentity'}${update === 'early' ? '_early' : ''}`;
  const qeKey = root[qeMember] !== undefined ? qeMember : req.tee === 'tdx' ? 'tdqeidentity' : 'qeidentity';
  if (root[qeKey] === undefined) throw new CollateralError(`no ${qeKey} in collateral file`, 'ERR_DCAP_COLLATERAL_NOT_FOUND');
  const qeIdentity = parseSignedQeIdentity(nestedRaw(text, ['collaterals', qeKey]));
  const certs = obj(root.certificates, 'collaterals.certificates');
  const crl = root.pckcacrl === undefined ? {} : obj(root.pckcacrl, 'collaterals.pckcacrl');
  return {
    tcbInfo,
    tcbInfoIssuerChainPem: pemFromUrlEncoded(certs['TCB-Info-Issuer-Chain'], 'TCB-Info-Issuer-Chain'),
    qeIdentity,
    qeIdentityIssuerChainPem: pemFromUrlEncoded(certs['SGX-Enclave-Identity-Issuer-Chain'], 'SGX-Enclave-Identity-Issuer-Chain'),
    pckCrl: {
      processor: hexOrNull(crl.processorCrl, 'pckcacrl.processorCrl'),
      platform: hexOrNull(crl.platformCrl, 'pckcacrl.platformCrl'),
    },
    rootCaCrl: hexOrNull(root.rootcacrl, 'collaterals.rootcacrl'),
  };
}
