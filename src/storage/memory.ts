/** In-process storage (Trustee's `Memory`): for tests and single-instance throwaway runs. Volatile. */
import { StorageAlreadyExistsError, type KvStore, type StorageBackend } from './types.js';
import { ValidatedStore, validateNamespace, type RawStore } from './validate.js';

interface Entry {
  value: Uint8Array;
  expiresAt?: number;
}

class MemoryStore implements RawStore {
  private readonly map = new Map<string, Entry>();
  constructor(private readonly namespace: string, private readonly clock: () => number) {}

  private live(key: string): Entry | undefined {
    const e = this.map.get(key);
    if (e && e.expiresAt !== undefined && e.expiresAt <= this.clock()) {
      this.map.delete(key);
      return undefined;
    }
    return e;
  }
  async get(key: string): Promise<Uint8Array | undefined> {
    const e = this.live(key);
    return e ? new Uint8Array(e.value) : undefined;
  }
  async getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    // One synchronous pass: no promise per key, and (single-threaded) the answers are one snapshot.
    return keys.map((key) => {
      const e = this.live(key);
      return e ? new Uint8Array(e.value) : undefined;
    });
  }
  async set(key: string, value: Uint8Array, overwrite: boolean, ttlMs: number | undefined): Promise<void> {
    if (!overwrite && this.live(key)) throw new StorageAlreadyExistsError(this.namespace, key);
    const entry: Entry = { value: new Uint8Array(value) };
    if (ttlMs !== undefined) entry.expiresAt = this.clock() + ttlMs;
    this.map.set(key, entry);
  }
  async delete(key: string): Promise<boolean> {
    const had = this.live(key) !== undefined;
    this.map.delete(key);
    return had;
  }
  async list(): Promise<string[]> {
    return [...this.map.keys()].filter((k) => this.live(k));
  }
  async take(key: string): Promise<Uint8Array | undefined> {
    const e = this.live(key);
    this.map.delete(key);
    return e?.value;
  }
}

export class MemoryBackend implements StorageBackend {
  readonly type = 'Memory';
  private readonly stores = new Map<string, KvStore>();
  /** `clock` (ms since epoch) decides TTL expiry; tests inject one. */
  constructor(private readonly clock: () => number = Date.now) {}
  async open(namespace: string): Promise<KvStore> {
    validateNamespace(namespace);
    let s = this.stores.get(namespace);
    if (!s) this.stores.set(namespace, (s = new ValidatedStore(namespace, new MemoryStore(namespace, this.clock))));
    return s;
  }
  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}
