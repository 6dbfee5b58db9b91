/**
 * Init-data binding (specs/trustee.md §2.3): the TOML body's digest is taken over the raw bytes as sent, with the
 * body's own `algorithm`; the `data` map becomes `init_data_claims` after a fixed transform.
 */
import { parse as parseToml } from 'smol-toml';
import type { InitData } from './types.js';
import type { Json, JsonObject } from '../verifiers/types.js';
import { AttestationServiceError } from './errors.js';
import { HASH_ALGORITHMS, hashBytes } from './runtime-data.js';
import type { HashAlgorithm } from './types.js';

export interface BoundInitData {
  digest?: Uint8Array;
  /** `init_data_claims`: transformed data map, or null. */
  claims: Json;
}

function bad(msg: string, cause?: unknown): AttestationServiceError {
  return new AttestationServiceError('ERR_AS_INIT_DATA', msg, cause === undefined ? undefined : { cause });
}

/** Round-trips smol-toml output to plain JSON (dates become ISO strings, bigints numbers where safe). */
function toJson(v: unknown): Json {
  return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? (Number.isSafeInteger(Number(x)) ? Number(x) : x.toString()) : x))) as Json;
}

const POLICY_DATA_MARK = 'policy_data := {';

export function transformInitDataClaims(data: Record<string, string>): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(data)) {
    if (k === 'cdh.toml' || k === 'aa.toml') {
      try {
        out[k] = toJson(parseToml(v));
      } catch (e) {
        throw bad(`init-data entry "${k}" is not valid TOML`, e);
      }
    } else if (k !== 'policy.rego') {
      out[k] = v;
    }
  }
  const policy = data['policy.rego'];
  if (policy !== undefined) {
    const at = policy.indexOf(POLICY_DATA_MARK);
    if (at >= 0) {
      // Trustee parses from the `{` to the end of the file as one JSON object (serde stops at the object's end).
      const text = policy.slice(at + POLICY_DATA_MARK.length - 1);
      out.agent_policy_claims = parseLeadingJsonObject(text);
    } else {
      out['policy.rego'] = policy;
    }
  }
  return out;
}

/** Parse the JSON object at the start of `text`, ignoring anything after its closing brace. */
function parseLeadingJsonObject(text: string): Json {
  let depth = 0;
  let inStr = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inStr) {
      if (c === '\\') i++;
      else if (c === '"') inStr = false;
      continue;
    }
    if (c === '"') inStr = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) {
        try {
          return JSON.parse(text.slice(0, i + 1)) as Json;
        } catch (e) {
          throw bad('init-data policy_data is not valid JSON', e);
        }
      }
    }
  }
  throw bad('init-data policy_data is not a complete JSON object');
}

export function bindInitData(init: InitData | undefined): BoundInitData {
  if (init === undefined) return { claims: null };
  if (init.kind === 'digest') return { digest: init.bytes, claims: null };
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(init.toml) as Record<string, unknown>;
  } catch (e) {
    throw bad('init-data is not valid TOML', e);
  }
  const alg = doc.algorithm;
  if (typeof alg !== 'string' || !(HASH_ALGORITHMS as readonly string[]).includes(alg)) {
    throw bad('init-data "algorithm" must be sha256, sha384 or sha512');
  }
  if (typeof doc.version !== 'string') throw bad('init-data "version" must be a string');
  const rawData = doc.data ?? {};
  if (rawData === null || typeof rawData !== 'object' || Array.isArray(rawData)) throw bad('init-data "data" must be a table');
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawData)) {
    if (typeof v !== 'string') throw bad(`init-data data entry "${k}" must be a string`);
    data[k] = v;
  }
  return { digest: hashBytes(alg as HashAlgorithm, Buffer.from(init.toml, 'utf8')), claims: transformInitDataClaims(data) };
}
