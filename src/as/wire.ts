/**
 * The AS REST / gRPC request forms (specs/trustee.md §3.2, §3.3), decoded once into `VerificationRequest`s.
 * Evidence, raw runtime data and init-data digests travel as base64url (padding tolerated).
 */
import type { Json } from '../verifiers/types.js';
import type { HashAlgorithm, InitData, RuntimeData, VerificationRequest } from './types.js';
import { AttestationServiceError } from './errors.js';
import { parseHashAlgorithm } from './runtime-data.js';

/** TEE names each Trustee server accepts (restful-as has no nvidia/tpm; grpc-as has no sampledevice). */
export const RESTFUL_TEES = ['az-snp-vtpm', 'sgx', 'snp', 'tdx', 'cca', 'csv', 'sample', 'sampledevice', 'az-tdx-vtpm', 'se', 'hygondcu'];
export const GRPC_TEES = ['sgx', 'snp', 'tdx', 'csv', 'sample', 'az-snp-vtpm', 'cca', 'az-tdx-vtpm', 'se', 'hygondcu', 'nvidia', 'tpm'];

function bad(msg: string): AttestationServiceError {
  return new AttestationServiceError('ERR_AS_BAD_REQUEST', msg);
}

function hashAlgorithm(raw: string | undefined): HashAlgorithm {
  try {
    return parseHashAlgorithm(raw);
  } catch (e) {
    throw bad((e as Error).message);
  }
}

const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;

export function decodeB64Url(s: unknown, what: string): Uint8Array {
  if (typeof s !== 'string' || !B64URL.test(s)) throw bad(`${what} must be base64url`);
  return new Uint8Array(Buffer.from(s.replace(/=+$/, ''), 'base64url'));
}

export function decodeEvidence(s: unknown): Json {
  const bytes = decodeB64Url(s, 'evidence');
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as Json;
  } catch {
    throw bad('evidence is not base64url of JSON');
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function checkTee(tee: unknown, allowed: readonly string[]): string {
  if (typeof tee !== 'string' || !allowed.includes(tee)) throw bad(`unsupported TEE "${String(tee).slice(0, 40)}"`);
  return tee;
}

/** One element of restful-as `verification_requests`. */
export function parseRestVerificationRequest(raw: unknown, allowedTees: readonly string[] = RESTFUL_TEES): VerificationRequest {
  if (!isObject(raw)) throw bad('verification request must be an object');
  const req: VerificationRequest = { tee: checkTee(raw.tee, allowedTees), evidence: decodeEvidence(raw.evidence) };
  if (raw.runtime_data !== undefined && raw.runtime_data !== null) {
    const rd = raw.runtime_data;
    if (!isObject(rd) || Object.keys(rd).length !== 1) throw bad('runtime_data must be {"raw": …} or {"structured": …}');
    let parsed: RuntimeData;
    if ('raw' in rd) parsed = { kind: 'raw', bytes: decodeB64Url(rd.raw, 'runtime_data.raw') };
    else if ('structured' in rd) parsed = { kind: 'structured', json: rd.structured as Json };
    else throw bad('runtime_data must be {"raw": …} or {"structured": …}');
    req.runtimeData = parsed;
  }
  if (raw.init_data !== undefined && raw.init_data !== null) {
    const id = raw.init_data;
    if (!isObject(id) || Object.keys(id).length !== 1) throw bad('init_data must be {"init_data_digest": …} or {"init_data_toml": …}');
    let parsed: InitData;
    if ('init_data_digest' in id) parsed = { kind: 'digest', bytes: decodeB64Url(id.init_data_digest, 'init_data.init_data_digest') };
    else if ('init_data_toml' in id && typeof id.init_data_toml === 'string') parsed = { kind: 'toml', toml: id.init_data_toml };
    else throw bad('init_data must be {"init_data_digest": …} or {"init_data_toml": "…"}');
    req.initData = parsed;
  }
  const alg = raw.runtime_data_hash_algorithm;
  if (alg !== undefined && alg !== null && typeof alg !== 'string') throw bad('runtime_data_hash_algorithm must be a string');
  req.runtimeDataHashAlgorithm = hashAlgorithm(alg ?? undefined);
  return req;
}

export interface RestAttestationRequest {
  requests: VerificationRequest[];
  policyIds: string[];
}

export function parseRestAttestationRequest(body: unknown): RestAttestationRequest {
  if (!isObject(body)) throw bad('body must be a JSON object');
  if (!Array.isArray(body.verification_requests)) throw bad('verification_requests must be an array');
  const policyIds = body.policy_ids ?? [];
  if (!Array.isArray(policyIds) || !policyIds.every((p) => typeof p === 'string')) throw bad('policy_ids must be an array of strings');
  return {
    requests: body.verification_requests.map((r) => parseRestVerificationRequest(r)),
    policyIds: policyIds.length === 0 ? ['default'] : (policyIds as string[]),
  };
}

/** gRPC `IndividualAttestationRequest` as decoded by proto-loader (keepCase, oneofs). */
export interface GrpcIndividualRequest {
  tee: string;
  evidence: string;
  raw_runtime_data?: string;
  structured_runtime_data?: string;
  init_data_digest?: string;
  init_data_toml?: string;
  runtime_data_hash_algorithm: string;
  runtime_data?: string;
  init_data?: string;
}

export function parseGrpcVerificationRequest(r: GrpcIndividualRequest): VerificationRequest {
  const req: VerificationRequest = { tee: checkTee(r.tee, GRPC_TEES), evidence: decodeEvidence(r.evidence) };
  if (r.runtime_data === 'raw_runtime_data') req.runtimeData = { kind: 'raw', bytes: decodeB64Url(r.raw_runtime_data, 'raw_runtime_data') };
  else if (r.runtime_data === 'structured_runtime_data') {
    try {
      req.runtimeData = { kind: 'structured', json: JSON.parse(r.structured_runtime_data ?? '') as Json };
    } catch {
      throw bad('structured_runtime_data is not JSON');
    }
  }
  if (r.init_data === 'init_data_digest') req.initData = { kind: 'digest', bytes: decodeB64Url(r.init_data_digest, 'init_data_digest') };
  else if (r.init_data === 'init_data_toml') req.initData = { kind: 'toml', toml: r.init_data_toml ?? '' };
  req.runtimeDataHashAlgorithm = hashAlgorithm(r.runtime_data_hash_algorithm || undefined);
  return req;
}
