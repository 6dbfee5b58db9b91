/**
 * RCAR wire types (kbs-types 0.18 as serialized by the reference client, specs/trustee.md §2.1) and the parsers that
 * turn untrusted server responses into them, once, at the edge.
 */
import { KbsClientError, type ClientStep } from './errors.js';
import type { TeePubKey } from './tee-key.js';

export const KBS_PROTOCOL_VERSION = '0.4.0';
export const KBS_PREFIX = '/kbs/v0';

/** kbs-types `HashAlgorithm` serde names. */
export const HASH_ALGORITHMS = ['sha256', 'sha384', 'sha512'] as const;
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];
/** Used when the challenge selects none (§2.1). */
export const DEFAULT_HASH_ALGORITHM: HashAlgorithm = 'sha384';

export interface AuthRequest {
  version: string;
  tee: string;
  'extra-params': { 'supported-hash-algorithms': HashAlgorithm[] };
}

export interface Challenge {
  nonce: string;
  /** `""` from the CoCo AS; `{"selected-hash-algorithm": …}` when the server negotiates. */
  extraParams: unknown;
}

export interface RuntimeData {
  nonce: string;
  'tee-pubkey': TeePubKey;
}

export interface InitData {
  format: 'toml';
  body: string;
}

export interface CompositeEvidence {
  primary_evidence: unknown;
  /** JSON text of `{tee-name: evidence}`, or `""` when there are no devices. */
  additional_evidence: string;
}

export interface Attestation {
  'init-data'?: InitData;
  'runtime-data': RuntimeData;
  'tee-evidence': CompositeEvidence;
}

/** Flattened JWE JSON serialization as the KBS sends it (§2.4). */
export interface FlattenedJweResponse {
  protected: string;
  encrypted_key: string;
  iv: string;
  ciphertext: string;
  tag: string;
  aad?: string;
}

/** RFC 7807-ish error body (§1.4). */
export interface Problem {
  /** Last segment of `type`, e.g. `PolicyDeny`. */
  type?: string;
  detail?: string;
}

export function buildAuthRequest(tee: string): AuthRequest {
  return {
    version: KBS_PROTOCOL_VERSION,
    tee,
    'extra-params': { 'supported-hash-algorithms': [...HASH_ALGORITHMS] },
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function protocolError(step: ClientStep, message: string): KbsClientError {
  return new KbsClientError(step, 'ERR_PROTOCOL', message);
}

export function parseJson(step: ClientStep, text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw protocolError(step, `${what} is not JSON`);
  }
}

export function parseChallenge(body: unknown): Challenge {
  if (!isObject(body) || typeof body.nonce !== 'string') {
    throw protocolError('auth', 'challenge has no string "nonce"');
  }
  if (body.nonce.length === 0) throw protocolError('auth', 'challenge nonce is empty');
  return { nonce: body.nonce, extraParams: body['extra-params'] };
}

/** §2.1: the client uses `selected-hash-algorithm` if the challenge has one, else sha384. */
export function selectedHashAlgorithm(extraParams: unknown): HashAlgorithm {
  if (!isObject(extraParams) || !('selected-hash-algorithm' in extraParams)) return DEFAULT_HASH_ALGORITHM;
  const sel = extraParams['selected-hash-algorithm'];
  if (typeof sel !== 'string') throw protocolError('auth', 'challenge "selected-hash-algorithm" is not a string');
  const name = sel.toLowerCase();
  const found = HASH_ALGORITHMS.find((a) => a === name);
  if (!found) throw protocolError('auth', `challenge selects unsupported hash algorithm ${JSON.stringify(sel)}`);
  return found;
}

export function parseAttestResponse(body: unknown): string {
  if (!isObject(body) || typeof body.token !== 'string' || body.token.length === 0) {
    throw protocolError('attest', 'attest response has no string "token"');
  }
  return body.token;
}

export function parseJweResponse(body: unknown): FlattenedJweResponse {
  if (!isObject(body)) throw protocolError('resource', 'resource response is not a JSON object');
  const field = (name: string): string => {
    const v = body[name];
    if (typeof v !== 'string') throw protocolError('resource', `resource JWE has no string "${name}"`);
    return v;
  };
  const jwe: FlattenedJweResponse = {
    protected: field('protected'),
    encrypted_key: field('encrypted_key'),
    iv: field('iv'),
    ciphertext: field('ciphertext'),
    tag: field('tag'),
  };
  if (body.aad !== undefined) jwe.aad = field('aad');
  return jwe;
}

const PROBLEM_PREFIX = 'https://github.com/confidential-containers/kbs/errors/';

/** Best effort: a body that is not a problem document gives `{}` (the raw text is reported separately). */
export function parseProblem(text: string): Problem {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return {};
  }
  if (!isObject(body)) return {};
  const p: Problem = {};
  if (typeof body.type === 'string') {
    p.type = body.type.startsWith(PROBLEM_PREFIX) ? body.type.slice(PROBLEM_PREFIX.length) : body.type;
  }
  if (typeof body.detail === 'string') p.detail = body.detail;
  return p;
}
