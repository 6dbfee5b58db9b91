/**
 * Redis backend (Trustee's `Redis`, specs/trustee.md §6.4; works with Valkey): key `<namespace>:<key>`, raw bytes.
 * TTL is Redis's own (`SET … PX`), `set(overwrite:false)` is `SET … NX`, `take` is `GETDEL` (Redis ≥ 6.2), so each
 * is a single atomic command even across KBS instances. `list` scans `<namespace>:*` (namespace glob-escaped).
 *
 * Connection: made on first use, bounded by connect/command timeouts; while the server is down commands fail fast
 * with StorageUnavailableError, and ioredis reconnects in the background so the same object works once it is back.
 */
import { Redis } from 'ioredis';
import { StorageAlreadyExistsError, StorageUnavailableError, type KvStore, type StorageBackend } from './types.js';
import { ValidatedStore, validateNamespace, type RawStore } from './validate.js';
import { describeError } from './redact.js';

export interface RedisOptions {
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
}

export function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

function urlPassword(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.password ? decodeURIComponent(u.password) : undefined;
  } catch {
    return undefined;
  }
}

class RedisStore implements RawStore {
  private readonly prefix: string;
  constructor(private readonly namespace: string, private readonly backend: RedisBackend) {
    this.prefix = namespace + ':';
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const v = await this.backend.run('get', (c) => c.getBuffer(this.prefix + key));
    return v ? new Uint8Array(v) : undefined;
  }

  /** One MGET (atomic on the server, so one snapshot); values are the raw bytes `set` stored. */
  async getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    const values = await this.backend.run('getMany', (c) => c.mgetBuffer(...keys.map((k) => this.prefix + k)));
    if (values.length !== keys.length) throw new StorageUnavailableError(`redis: getMany failed: ${values.length} answers for ${keys.length} keys`);
    return values.map((v) => (v ? new Uint8Array(v) : undefined));
  }

  async set(key: string, value: Uint8Array, overwrite: boolean, ttlMs: number | undefined): Promise<void> {
    const args: (string | number | Buffer)[] = [this.prefix + key, Buffer.from(value.buffer, value.byteOffset, value.byteLength)];
    if (ttlMs !== undefined) args.push('PX', ttlMs);
    if (!overwrite) args.push('NX');
    const r = await this.backend.run('set', (c) => c.call('SET', ...args));
    if (r === null) throw new StorageAlreadyExistsError(this.namespace, key);
  }

  async delete(key: string): Promise<boolean> {
    return (await this.backend.run('delete', (c) => c.del(this.prefix + key))) > 0;
  }

  async list(): Promise<string[]> {
    const keys = await this.backend.scan(escapeGlob(this.namespace) + ':*');
    return keys.map((k) => k.slice(this.prefix.length));
  }

  async take(key: string): Promise<Uint8Array | undefined> {
    const v = await this.backend.run('take', (c) => c.getdelBuffer(this.prefix + key));
    return v ? new Uint8Array(v) : undefined;
  }
}

export class RedisBackend implements StorageBackend {
  readonly type = 'Redis';
  private readonly client: Redis;
  private readonly secrets: (string | undefined)[];
  private readonly stores = new Map<string, KvStore>();
  private closed = false;
  private lastConnectionError: unknown;

  constructor(config: { url: string }, options: RedisOptions = {}) {
    this.secrets = [config.url, urlPassword(config.url)];
    this.client = new Redis(config.url, {
      lazyConnect: true,
      connectTimeout: options.connectTimeoutMs ?? 3000,
      commandTimeout: options.commandTimeoutMs ?? 10_000,
      // A command waits for at most one reconnect attempt, then fails: a down server means a quick 503, not a hang.
      maxRetriesPerRequest: 1,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    // Reported through the failing command instead; remembered because ioredis's own error then only says
    // "max retries per request" without the reason.
    this.client.on('error', (err: unknown) => (this.lastConnectionError = err));
    this.client.on('ready', () => (this.lastConnectionError = undefined));
  }

  async run<T>(op: string, fn: (client: Redis) => Promise<T>): Promise<T> {
    if (this.closed) throw new StorageUnavailableError('redis: backend is closed');
    try {
      return await fn(this.client);
    } catch (err) {
      const why = describeError(err, this.secrets);
      const conn = this.lastConnectionError && this.client.status !== 'ready' ? ` (${describeError(this.lastConnectionError, this.secrets)})` : '';
      throw new StorageUnavailableError(`redis: ${op} failed: ${why}${conn}`);
    }
  }

  /** All keys matching a glob pattern (SCAN may repeat keys; callers dedupe). */
  async scan(pattern: string): Promise<string[]> {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.run('list', (c) => c.scan(cursor, 'MATCH', pattern, 'COUNT', 1000));
      out.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return out;
  }

  async open(namespace: string): Promise<KvStore> {
    validateNamespace(namespace);
    let s = this.stores.get(namespace);
    if (!s) this.stores.set(namespace, (s = new ValidatedStore(namespace, new RedisStore(namespace, this))));
    return s;
  }

  /** Deletes every key of a namespace (tests and tooling; the KBS never calls it). */
  async dropNamespace(namespace: string): Promise<void> {
    validateNamespace(namespace);
    const keys = [...new Set(await this.scan(escapeGlob(namespace) + ':*'))];
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      await this.run('drop', (c) => c.del(...chunk));
    }
  }

  async ping(): Promise<void> {
    await this.run('ping', (c) => c.ping());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.client.status === 'ready') await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }
}
