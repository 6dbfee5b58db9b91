/**
 * Init-data as the client sends it: `{"format": "toml", "body": <the TOML text exactly as given>}` (specs/trustee.md
 * §2.3). The server hashes the raw body, so the text is never re-serialized; it is only checked here, so that a
 * malformed document fails before any network traffic with a message that names the problem.
 */
import { createHash } from 'node:crypto';
import { parse as parseToml } from 'smol-toml';
import { KbsClientError, reason } from './errors.js';
import type { InitData } from './wire.js';

export const INIT_DATA_ALGORITHMS = ['sha256', 'sha384', 'sha512'] as const;
export type InitDataAlgorithm = (typeof INIT_DATA_ALGORITHMS)[number];

export interface ParsedInitData {
  /** What goes on the wire. */
  wire: InitData;
  version: string;
  algorithm: InitDataAlgorithm;
  data: Record<string, string>;
}

function bad(message: string): KbsClientError {
  return new KbsClientError('input', 'ERR_INPUT', `init-data: ${message}`);
}

export function parseInitData(text: string): ParsedInitData {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    throw bad(`not valid TOML: ${reason(e).split('\n')[0]}`);
  }
  const { version, algorithm, data } = doc;
  if (typeof version !== 'string') throw bad('"version" must be a string');
  // Lowercase serde names only: the server rejects "sha-384" and "SHA384" (§2.3).
  const alg = INIT_DATA_ALGORITHMS.find((a) => a === algorithm);
  if (!alg) throw bad(`"algorithm" must be one of ${INIT_DATA_ALGORITHMS.join(', ')}`);
  const entries: Record<string, string> = {};
  if (data !== undefined) {
    if (typeof data !== 'object' || data === null || Array.isArray(data) || data instanceof Date) {
      throw bad('"data" must be a table');
    }
    for (const [k, v] of Object.entries(data)) {
      if (typeof v !== 'string') throw bad(`data."${k}" must be a string`);
      entries[k] = v;
    }
  }
  return { wire: { format: 'toml', body: text }, version, algorithm: alg, data: entries };
}

/** The digest the AS will compute over the raw body (for display and tests). */
export function initDataDigest(parsed: ParsedInitData): Buffer {
  return createHash(parsed.algorithm).update(parsed.wire.body, 'utf8').digest();
}
