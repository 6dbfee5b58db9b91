/**
 * Storage that may be down at start-up (issue "Shared storage…", item 1). `DeferredBackend.open()` never touches the
 * server: it hands out a `DeferredKvStore` that opens the real namespace (Postgres: creates its table) on first use
 * and retries on every later call until that succeeds. While the server is down every call fails with the backend's
 * StorageUnavailableError (503 on the wire); once it answers, the same objects work — no restart.
 */
import type { KvStore, SetOptions, StorageBackend } from '../storage/types.js';
import { retryingOnce } from '../util/retrying-once.js';

export class DeferredKvStore implements KvStore {
  private store?: KvStore;
  private readonly openOnce: () => Promise<void>;

  constructor(
    private readonly backend: StorageBackend,
    readonly namespace: string,
  ) {
    this.openOnce = retryingOnce(async () => {
      this.store = await this.backend.open(this.namespace);
    });
  }

  /** Resolves once the namespace is open; rejects (StorageUnavailableError) while the backend is down. */
  async ready(): Promise<KvStore> {
    await this.openOnce();
    return this.store!;
  }

  get opened(): boolean {
    return this.store !== undefined;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return (this.store ?? (await this.ready())).get(key);
  }
  async getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    return (this.store ?? (await this.ready())).getMany(keys);
  }
  async set(key: string, value: Uint8Array, options?: SetOptions): Promise<void> {
    return (this.store ?? (await this.ready())).set(key, value, options);
  }
  async delete(key: string): Promise<boolean> {
    return (this.store ?? (await this.ready())).delete(key);
  }
  async list(): Promise<string[]> {
    return (this.store ?? (await this.ready())).list();
  }
  async take(key: string): Promise<Uint8Array | undefined> {
    return (this.store ?? (await this.ready())).take(key);
  }
}

export class DeferredBackend implements StorageBackend {
  private readonly stores = new Map<string, DeferredKvStore>();
  constructor(readonly inner: StorageBackend) {}

  get type(): string {
    return this.inner.type;
  }

  /** Never fails for an outage: the namespace is opened on first use. */
  async open(namespace: string): Promise<DeferredKvStore> {
    let s = this.stores.get(namespace);
    if (!s) {
      s = new DeferredKvStore(this.inner, namespace);
      this.stores.set(namespace, s);
    }
    return s;
  }

  /** Opens every namespace handed out so far (start-up work retried until storage answers). */
  async openAll(): Promise<void> {
    await Promise.all([...this.stores.values()].map((s) => s.ready()));
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
