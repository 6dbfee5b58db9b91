/**
 * Small bounded caches for the token hot path (specs/trustee.md §2.9: every resource request re-verifies its token).
 * What is cached is only ever the result of a time-independent computation (a JWK import, a certificate path whose
 * signatures were checked); everything that depends on the clock or on the token is re-checked on every call.
 */
import { createHash } from 'node:crypto';

/** A size-bounded map, least recently used evicted first (keys come from untrusted tokens). */
export { Lru as BoundedCache } from '../../util/lru.js';

/** JSON with object members sorted at every level: equal text ⇔ equal JSON value. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
