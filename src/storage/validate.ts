/**
 * Key, namespace, value and TTL checks shared by every backend (specs/trustee.md §6.4), so a key that one backend
 * accepts is accepted by all of them and an invalid one is rejected before anything is stored.
 *
 * Trustee's rule for keys is `[A-Za-z0-9._/-]` (it keeps SQL and paths safe); it only enforces it in some backends,
 * we enforce it in all. Namespaces: non-empty, no leading/trailing `/`, no empty/`.`/`..` segments; we also hold them
 * to the key alphabet and to 63 characters, PostgreSQL's identifier limit (longer names would be silently truncated
 * there, and two namespaces could share a table).
 */
import { StorageInvalidKeyError, type KvStore, type SetOptions } from './types.js';

const KEY_ALPHABET = /^[A-Za-z0-9._/-]+$/;
export const MAX_KEY_LENGTH = 1024;
export const MAX_NAMESPACE_LENGTH = 63;

export function isValidKey(key: unknown): key is string {
  return typeof key === 'string' && key.length <= MAX_KEY_LENGTH && KEY_ALPHABET.test(key) && key !== '.' && key !== '..';
}

export function validateKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0) throw new StorageInvalidKeyError('storage key must be a non-empty string');
  if (key.length > MAX_KEY_LENGTH) throw new StorageInvalidKeyError(`storage key longer than ${MAX_KEY_LENGTH} characters`);
  if (!KEY_ALPHABET.test(key)) throw new StorageInvalidKeyError('storage key may only contain A-Z a-z 0-9 . _ / -');
  // "." and ".." would name a directory in the local-fs layout.
  if (key === '.' || key === '..') throw new StorageInvalidKeyError('storage key must not be "." or ".."');
  return key;
}

/** Checks every key of a batch (first bad one throws) and returns a private copy of the list. */
export function validateKeys(keys: unknown): string[] {
  if (!Array.isArray(keys)) throw new TypeError('storage keys must be an array of strings');
  const out = new Array<string>(keys.length);
  for (let i = 0; i < keys.length; i++) out[i] = validateKey(keys[i]);
  return out;
}

/**
 * Spreads the values a backend found for the distinct keys of a batch over the batch's positions: absent keys give
 * undefined, and a key asked for twice gets its own copy the second time (results are never shared, as for `get`).
 */
export function answersInOrder(keys: readonly string[], found: ReadonlyMap<string, Uint8Array>): (Uint8Array | undefined)[] {
  const handedOut = new Set<string>();
  return keys.map((key) => {
    const v = found.get(key);
    if (v === undefined) return undefined;
    if (handedOut.has(key)) return new Uint8Array(v);
    handedOut.add(key);
    return v;
  });
}

export function validateNamespace(namespace: unknown): string {
  if (typeof namespace !== 'string' || namespace.length === 0)
    throw new StorageInvalidKeyError('storage namespace must be a non-empty string');
  if (namespace.length > MAX_NAMESPACE_LENGTH)
    throw new StorageInvalidKeyError(`storage namespace longer than ${MAX_NAMESPACE_LENGTH} characters`);
  if (!KEY_ALPHABET.test(namespace))
    throw new StorageInvalidKeyError('storage namespace may only contain A-Z a-z 0-9 . _ / -');
  for (const segment of namespace.split('/')) {
    if (segment === '' || segment === '.' || segment === '..')
      throw new StorageInvalidKeyError('storage namespace must not have empty, "." or ".." segments or a leading/trailing "/"');
  }
  return namespace;
}

export function validateValue(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError('storage value must be a Uint8Array');
  return value;
}

/** Normalizes SetOptions: overwrite defaults to true; ttlMs must be a positive finite number (rounded up to 1 ms). */
export function validateSetOptions(options: SetOptions | undefined): { overwrite: boolean; ttlMs?: number } {
  const overwrite = options?.overwrite ?? true;
  if (typeof overwrite !== 'boolean') throw new TypeError('storage SetOptions.overwrite must be a boolean');
  const ttl = options?.ttlMs;
  if (ttl === undefined) return { overwrite };
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0)
    throw new RangeError('storage SetOptions.ttlMs must be a positive number of milliseconds');
  return { overwrite, ttlMs: Math.ceil(ttl) };
}

/** What a backend implements: arguments already validated and normalized. */
export interface RawStore {
  get(key: string): Promise<Uint8Array | undefined>;
  /** `keys` is non-empty, every key valid, and the array is the backend's own (the caller cannot change it). */
  getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]>;
  set(key: string, value: Uint8Array, overwrite: boolean, ttlMs: number | undefined): Promise<void>;
  delete(key: string): Promise<boolean>;
  list(): Promise<string[]>;
  take(key: string): Promise<Uint8Array | undefined>;
}

/** Wraps a backend's raw store so every call is checked the same way, whichever backend runs. */
export class ValidatedStore implements KvStore {
  constructor(readonly namespace: string, private readonly raw: RawStore) {}
  async get(key: string): Promise<Uint8Array | undefined> {
    return this.raw.get(validateKey(key));
  }
  /** Not `async`: on the memory store the whole call is then a single promise (the AS reads ~40 keys per /attest). */
  getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    let checked: string[];
    try {
      checked = validateKeys(keys);
    } catch (err) {
      return Promise.reject(err);
    }
    return checked.length === 0 ? Promise.resolve([]) : this.raw.getMany(checked);
  }
  async set(key: string, value: Uint8Array, options?: SetOptions): Promise<void> {
    validateKey(key);
    validateValue(value);
    const { overwrite, ttlMs } = validateSetOptions(options);
    return this.raw.set(key, value, overwrite, ttlMs);
  }
  async delete(key: string): Promise<boolean> {
    return this.raw.delete(validateKey(key));
  }
  async list(): Promise<string[]> {
    return sortKeys(await this.raw.list());
  }
  async take(key: string): Promise<Uint8Array | undefined> {
    return this.raw.take(validateKey(key));
  }
}

/** Sorted by UTF-16 code units (= bytes for the key alphabet), duplicates removed. */
export function sortKeys(keys: Iterable<string>): string[] {
  return [...new Set(keys)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
