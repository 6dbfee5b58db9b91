/**
 * Small bounded caches for the token hot path (specs/trustee.md §2.9: every resource request re-verifies its token).
 * What is cached is only ever the result of a time-independent computation (a JWK import, a certificate path whose
 * signatures were checked); everything that depends on the clock or on the token is re-checked on every call.
 */
import { createHash } from 'node:crypto';

/** A Map with a size bound; the least recently used entry is evicted first. Keys come from untrusted tokens. */
export class BoundedCache<K, V> {
  private readonly map = new Map<K, V>();
  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('BoundedCache: max must be a positive integer');
  }

  get size(): number {
    return this.map.size;
  }

  get(k: K): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }

  set(k: K, v: V): void {
    this.map.delete(k);
    if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value as K);
    this.map.set(k, v);
  }

  delete(k: K): void {
    this.map.delete(k);
  }
}

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
