/**
 * RCAR request bodies (specs/trustee.md §2.1), decoded once from untrusted bytes into typed values. Every failure
 * is an AttestationError (Trustee answers /auth and /attest errors with 401).
 */
import { AttestationError } from './errors.js';
import { parseTeePubKey, TeePubKeyError, type TeePubKey } from './tee-pubkey.js';
import type { Json } from '../verifiers/types.js';

export const PROTOCOL_VERSION = '0.4.0';

/** kbs-types 0.18 `Tee` serde names. */
export const TEE_NAMES = ['az-snp-vtpm', 'az-tdx-vtpm', 'nvidia', 'sgx', 'snp', 'tdx', 'cca', 'csv', 'se', 'hygondcu', 'tpm', 'sample', 'sampledevice', 'dpu'] as const;
const TEES: ReadonlySet<string> = new Set(TEE_NAMES);

export interface AuthRequest {
  version: string;
  tee: string;
  extraParams: Json;
}

export interface InitDataBody {
  format: 'toml';
  body: string;
}

export interface AttestationBody {
  initData?: InitDataBody;
  nonce: string;
  teePubKey: TeePubKey;
  primaryEvidence: Json;
  /** The JSON text of `{tee: evidence}`, or `""`. */
  additionalEvidenceText: string;
  additionalEvidence: Array<{ tee: string; evidence: Json }>;
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new AttestationError('request body is not valid JSON');
  }
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new AttestationError(`${what} must be a JSON object`);
  return v as Record<string, unknown>;
}

function str(o: Record<string, unknown>, name: string, what: string): string {
  const v = o[name];
  if (typeof v !== 'string') throw new AttestationError(`${what}: "${name}" must be a string`);
  return v;
}

/** semver requirement `=0.4.0` (build metadata is ignored by semver matching; pre-releases never match). */
export function checkProtocolVersion(version: string): void {
  const m = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(version);
  if (!m) throw new AttestationError(`invalid protocol version "${version.slice(0, 32)}"`);
  if (m[1] !== '0' || m[2] !== '4' || m[3] !== '0' || m[4] !== undefined)
    throw new AttestationError(`KBS Client Protocol Version Mismatch: expect =${PROTOCOL_VERSION} while the request is ${version.slice(0, 32)}`);
}

export function parseAuthRequest(body: Buffer): AuthRequest {
  const o = obj(parseJson(body), 'request');
  const version = str(o, 'version', 'request');
  const tee = str(o, 'tee', 'request');
  if (!TEES.has(tee)) throw new AttestationError(`unknown TEE "${tee.slice(0, 32)}"`);
  if (!('extra-params' in o)) throw new AttestationError('request: missing "extra-params"');
  checkProtocolVersion(version);
  return { version, tee, extraParams: o['extra-params'] as Json };
}

export function parseAttestation(body: Buffer, opts: { allowRsa15: boolean }): AttestationBody {
  const o = obj(parseJson(body), 'attestation');
  const rd = obj(o['runtime-data'], '"runtime-data"');
  const nonce = str(rd, 'nonce', 'runtime-data');
  let teePubKey: TeePubKey;
  try {
    teePubKey = parseTeePubKey(rd['tee-pubkey'], opts);
  } catch (e) {
    if (e instanceof TeePubKeyError) throw new AttestationError(e.message);
    throw e;
  }
  const te = obj(o['tee-evidence'], '"tee-evidence"');
  if (te.primary_evidence === undefined) throw new AttestationError('tee-evidence: missing "primary_evidence"');
  const additionalEvidenceText = te.additional_evidence === undefined ? '' : str(te, 'additional_evidence', 'tee-evidence');
  const additionalEvidence: AttestationBody['additionalEvidence'] = [];
  if (additionalEvidenceText !== '') {
    let map: unknown;
    try {
      map = JSON.parse(additionalEvidenceText);
    } catch {
      throw new AttestationError('tee-evidence: additional_evidence is not JSON');
    }
    for (const [tee, evidence] of Object.entries(obj(map, 'additional_evidence'))) {
      if (!TEES.has(tee)) throw new AttestationError(`additional_evidence: unknown TEE "${tee.slice(0, 32)}"`);
      additionalEvidence.push({ tee, evidence: evidence as Json });
    }
  }
  const out: AttestationBody = { nonce, teePubKey, primaryEvidence: te.primary_evidence as Json, additionalEvidenceText, additionalEvidence };
  const id = o['init-data'];
  if (id !== undefined && id !== null) {
    const i = obj(id, '"init-data"');
    const format = str(i, 'format', 'init-data');
    if (format !== 'toml') throw new AttestationError(`Unsupported initdata format "${format.slice(0, 16)}"`);
    out.initData = { format, body: str(i, 'body', 'init-data') };
  }
  return out;
}
