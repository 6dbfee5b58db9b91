/**
 * The Reference Value Provider Service (specs/trustee.md §5): register messages through extractors, store one
 * entry per name in KV namespace `reference_value`, query by name.
 *
 * Deliberate difference from Trustee: an expired reference value is NOT returned by `query` (Trustee never checks
 * expiry). The clock is injected.
 */
import type { KvStore, StorageBackend } from '../storage/types.js';
import type { Json } from '../verifiers/types.js';
import { isValidKey } from '../storage/validate.js';
import { RvpsError } from './errors.js';
import { extractorFor } from './extractors.js';
import { MESSAGE_VERSION, parseRvpsMessage } from './message.js';

export const RV_NAMESPACE = 'reference_value';

export interface StoredReferenceValue {
  version: typeof MESSAGE_VERSION;
  name: string;
  /** RFC 3339, seconds precision, UTC (`YYYY-MM-DDTHH:MM:SSZ`). */
  expiration: string;
  value: Json;
}

/** What the AS needs from an RVPS, local or remote. */
export interface ReferenceValueProvider {
  register(message: string): Promise<void>;
  /** The value, or undefined when absent or (here, unlike Trustee) expired at `now`. */
  query(name: string, now?: Date): Promise<Json | undefined>;
  /**
   * `query` for many names at once: a map from each name that has a value to that value, in the order of `names`
   * (duplicates collapse; a name without a value is not in the map). Exactly `query`'s answer per name, with one
   * `now` for all of them; fails as a whole where `query` would fail for any one name (e.g. a name that is not a
   * valid storage key, or a storage outage).
   */
  queryMany(names: readonly string[], now?: Date): Promise<Map<string, Json>>;
}

/** now + 12 calendar months, sub-second part dropped. */
export function expirationFrom(now: Date): string {
  const d = new Date(now.getTime());
  d.setUTCMilliseconds(0);
  const month = d.getUTCMonth();
  d.setUTCFullYear(d.getUTCFullYear() + 1, month, d.getUTCDate());
  if (d.getUTCMonth() !== month) d.setUTCDate(0); // Feb 29 → Feb 28 next year
  return d.toISOString().replace('.000Z', 'Z');
}

function parseStored(bytes: Uint8Array): StoredReferenceValue | undefined {
  try {
    const o = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as Partial<StoredReferenceValue>;
    if (typeof o.name !== 'string' || typeof o.expiration !== 'string' || !('value' in o)) return undefined;
    return o as StoredReferenceValue;
  } catch {
    return undefined;
  }
}

/** A stored entry that parses and has not expired at `now`; anything else reads as absent. */
function liveEntry(bytes: Uint8Array | undefined, now: Date): StoredReferenceValue | undefined {
  if (bytes === undefined) return undefined;
  const entry = parseStored(bytes);
  if (entry === undefined) return undefined;
  const exp = Date.parse(entry.expiration);
  if (!Number.isFinite(exp) || exp <= now.getTime()) return undefined;
  return entry;
}

export class Rvps implements ReferenceValueProvider {
  private constructor(
    private readonly kv: KvStore,
    private readonly clock: () => Date,
  ) {}

  static async open(storage: StorageBackend, clock: () => Date = () => new Date()): Promise<Rvps> {
    return new Rvps(await storage.open(RV_NAMESPACE), clock);
  }

  /** Parse, extract and store; every value is extracted before any is written. */
  async register(message: string): Promise<void> {
    const msg = parseRvpsMessage(message);
    const values = extractorFor(msg.type)(msg.payload);
    // Check every name before writing any, so a bad name in a batch stores nothing (storage keys are
    // [A-Za-z0-9._/-], as Trustee's LocalFs/Postgres/Redis backends require).
    const bad = values.find(({ name }) => !isValidKey(name) || name === '');
    if (bad) {
      throw new RvpsError('ERR_RVPS_MESSAGE', `reference value name ${JSON.stringify(bad.name.slice(0, 80))} is invalid: names may only contain A-Z a-z 0-9 . _ / -`);
    }
    const expiration = expirationFrom(this.clock());
    for (const { name, value } of values) {
      const stored: StoredReferenceValue = { version: MESSAGE_VERSION, name, expiration, value };
      try {
        await this.kv.set(name, Buffer.from(JSON.stringify(stored), 'utf8'), { overwrite: true });
      } catch (e) {
        throw new RvpsError('ERR_RVPS_STORAGE', 'cannot store reference value', { cause: e });
      }
    }
  }

  async getEntry(name: string, now: Date = this.clock()): Promise<StoredReferenceValue | undefined> {
    return liveEntry(await this.kv.get(name), now);
  }

  async query(name: string, now?: Date): Promise<Json | undefined> {
    return (await this.getEntry(name, now))?.value;
  }

  /** One storage read for the whole batch (`KvStore.getMany`: one statement on PostgreSQL, one MGET on Redis). */
  async queryMany(names: readonly string[], now: Date = this.clock()): Promise<Map<string, Json>> {
    const stored = await this.kv.getMany(names);
    const out = new Map<string, Json>();
    names.forEach((name, i) => {
      const entry = liveEntry(stored[i], now);
      if (entry !== undefined && !out.has(name)) out.set(name, entry.value);
    });
    return out;
  }

  async names(): Promise<string[]> {
    return this.kv.list();
  }
}
