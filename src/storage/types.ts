/**
 * Key-value storage: the one interface every backend implements (Trustee's `deps/key-value-storage`).
 *
 * A store is opened per *namespace* (Trustee's names: `kbs_protocol_session`, `attestation_service_policy`,
 * `reference_value`, `resource`, `kbs` for resource policies, …). Keys are opaque UTF-8 strings that may contain
 * `/`; values are bytes. The rest of the code never knows which backend runs.
 */

/** Thrown by `set(…, { overwrite: false })` when the key exists. */
export class StorageAlreadyExistsError extends Error {
  readonly code = 'ERR_STORAGE_ALREADY_EXISTS';
  constructor(readonly namespace: string, readonly key: string) {
    super(`key already exists in ${namespace}`);
    this.name = 'StorageAlreadyExistsError';
  }
}

/** The backend cannot be reached or failed; on the wire this becomes 503. Never carries secrets in its message. */
export class StorageUnavailableError extends Error {
  readonly code = 'ERR_STORAGE_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageUnavailableError';
  }
}

/** A key or namespace that the backend cannot store safely (e.g. path traversal for local-fs). */
export class StorageInvalidKeyError extends Error {
  readonly code = 'ERR_STORAGE_INVALID_KEY';
  constructor(message: string) {
    super(message);
    this.name = 'StorageInvalidKeyError';
  }
}

export interface SetOptions {
  /** Replace an existing value (default true, as Trustee's `SetParameters { overwrite }` callers mostly use). */
  overwrite?: boolean;
  /** Time to live in milliseconds (sessions). Absent: never expires. */
  ttlMs?: number;
}

/** One namespace of a storage backend. All methods are atomic per key. */
export interface KvStore {
  readonly namespace: string;
  get(key: string): Promise<Uint8Array | undefined>;
  /**
   * Batched `get`: one answer per key, in the order of `keys` (duplicates allowed, each answer its own copy),
   * `undefined` where `get` would return undefined (absent or expired). Every key is checked as `get` checks it
   * before anything is read: one invalid key fails the whole call with StorageInvalidKeyError. One statement on
   * PostgreSQL, one MGET on Redis, one query per 500 keys on MySQL. Each key is read atomically, but the answers are
   * not one snapshot on every backend (docs/storage.md).
   */
  getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]>;
  set(key: string, value: Uint8Array, options?: SetOptions): Promise<void>;
  /** Returns true when a key was deleted. */
  delete(key: string): Promise<boolean>;
  /** All live keys, sorted. */
  list(): Promise<string[]>;
  /**
   * Atomically read and delete (single-use nonces across instances). Returns the value it removed, or undefined
   * when the key was absent or had expired.
   */
  take(key: string): Promise<Uint8Array | undefined>;
}

/** A backend: hands out namespaces and owns the connections. */
export interface StorageBackend {
  /** Trustee's `storage_type` name: Memory | LocalFs | LocalJson | Postgres | Redis | MySql. */
  readonly type: string;
  open(namespace: string): Promise<KvStore>;
  /** Health probe: resolves when the backend answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
