/**
 * Runtime-data binding (specs/trustee.md §2.2): structured runtime data is JCS-canonicalized (RFC 8785) and hashed;
 * raw runtime data is passed to the verifier as-is (it pads/compares per TEE).
 */
import { createHash } from 'node:crypto';
import { canonicalize } from '../util/jcs.js';
import type { HashAlgorithm, RuntimeData } from './types.js';
import type { Json } from '../verifiers/types.js';
import { AttestationServiceError } from './errors.js';

export const HASH_ALGORITHMS: readonly HashAlgorithm[] = ['sha256', 'sha384', 'sha512'];

/** Case-insensitive, as Trustee's REST API; empty → sha384 (Trustee's default). */
export function parseHashAlgorithm(raw: string | undefined): HashAlgorithm {
  if (raw === undefined || raw === '') return 'sha384';
  const l = raw.toLowerCase();
  if ((HASH_ALGORITHMS as readonly string[]).includes(l)) return l as HashAlgorithm;
  throw new AttestationServiceError('ERR_AS_RUNTIME_DATA', `unsupported runtime_data_hash_algorithm "${raw.slice(0, 32)}"`);
}

export function hashBytes(alg: HashAlgorithm, data: Uint8Array | string): Uint8Array {
  return new Uint8Array(createHash(alg).update(data).digest());
}

export interface BoundRuntimeData {
  /** What the verifier compares against report data. */
  expectedReportData?: Uint8Array;
  /** Echoed into the token as `runtime_data_claims` (null for raw or absent runtime data). */
  claims: Json;
}

export function bindRuntimeData(rd: RuntimeData | undefined, alg: HashAlgorithm): BoundRuntimeData {
  if (rd === undefined) return { claims: null };
  if (rd.kind === 'raw') return { expectedReportData: rd.bytes, claims: null };
  let text: string;
  try {
    text = canonicalize(rd.json);
  } catch (e) {
    throw new AttestationServiceError('ERR_AS_RUNTIME_DATA', 'structured runtime data cannot be canonicalized', { cause: e });
  }
  return { expectedReportData: hashBytes(alg, text), claims: rd.json };
}
