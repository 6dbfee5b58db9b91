/**
 * Azure HCL report: a 32-byte header ("HCLA"), the 1184-byte hardware report, then IGVM request data whose variable
 * part is a JSON document holding the vTPM's AK (`HCLAkPub`) and `user-data`. The hardware report's REPORT_DATA[0..32]
 * is SHA-256 of that variable data, which is what ties the vTPM to the CVM.
 */
import { createHash, createPublicKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { VerificationError } from '../types.js';

export const HCL_HEADER_SIZE = 32;
export const HW_REPORT_SIZE = 1184;
const IGVM_OFF = HCL_HEADER_SIZE + HW_REPORT_SIZE; // 1216
const VAR_DATA_OFF = IGVM_OFF + 20; // 1236
export const HCL_REPORT_TYPE = { snp: 2, tdx: 4 } as const;

export interface HclReport {
  hwReport: Uint8Array;
  reportType: number;
  hashType: number;
  varData: Uint8Array;
}

function fail(msg: string): never {
  throw new VerificationError('AZ_HCL_MALFORMED', msg);
}

export function parseHclReport(b: Uint8Array): HclReport {
  if (b.length < VAR_DATA_OFF) fail('HCL report is too short');
  if (Buffer.from(b.subarray(0, 4)).toString('latin1') !== 'HCLA') fail('HCL report does not start with "HCLA"');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const reportType = dv.getUint32(IGVM_OFF + 8, true);
  const hashType = dv.getUint32(IGVM_OFF + 12, true);
  const varSize = dv.getUint32(IGVM_OFF + 16, true);
  if (VAR_DATA_OFF + varSize > b.length) fail('HCL variable data runs past the end of the report');
  return {
    hwReport: b.slice(HCL_HEADER_SIZE, HCL_HEADER_SIZE + HW_REPORT_SIZE),
    reportType,
    hashType,
    varData: b.slice(VAR_DATA_OFF, VAR_DATA_OFF + varSize),
  };
}

/** REPORT_DATA[0..32] of the hardware report must be SHA-256(variable data) (hash type 1). */
export function checkVarDataBinding(hcl: HclReport, hwReportData: Uint8Array): void {
  if (hcl.hashType !== 1) fail(`unsupported HCL report-data hash type ${hcl.hashType}`);
  const d = createHash('sha256').update(hcl.varData).digest();
  if (!timingSafeEqual(d, hwReportData.subarray(0, 32))) {
    throw new VerificationError('AZ_VAR_DATA_MISMATCH', "HCL variable data digest doesn't match the hardware report data");
  }
}

export interface VarData {
  ak: KeyObject;
  userData?: string;
}

export function parseVarData(varData: Uint8Array): VarData {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(varData).toString('utf8'));
  } catch {
    fail('HCL variable data is not JSON');
  }
  if (typeof doc !== 'object' || doc === null) fail('HCL variable data is not a JSON object');
  const keys = (doc as { keys?: unknown }).keys;
  if (!Array.isArray(keys)) fail('HCL variable data has no keys');
  const akJwk = keys.find((k) => typeof k === 'object' && k !== null && (k as { kid?: unknown }).kid === 'HCLAkPub') as { kty?: unknown; n?: unknown; e?: unknown } | undefined;
  if (!akJwk || akJwk.kty !== 'RSA' || typeof akJwk.n !== 'string' || typeof akJwk.e !== 'string') fail('Failed to get AKpub from HCL variable data');
  let ak: KeyObject;
  try {
    ak = createPublicKey({ key: { kty: 'RSA', n: akJwk.n, e: akJwk.e }, format: 'jwk' });
  } catch {
    fail('HCLAkPub is not a valid RSA JWK');
  }
  const ud = (doc as { 'user-data'?: unknown })['user-data'];
  return { ak, ...(typeof ud === 'string' ? { userData: ud } : {}) };
}
