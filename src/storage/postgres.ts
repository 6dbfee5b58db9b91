/**
 * PostgreSQL backend (Trustee's `Postgres`, specs/trustee.md §6.4): one table per namespace, named exactly as the
 * namespace, `key TEXT PRIMARY KEY, value BYTEA`, so tables made by Trustee's set-up SQL keep working. We create a
 * missing table and add a nullable `expires_at TIMESTAMPTZ` column for TTLs (rows without it never expire).
 *
 * Expiry uses the server's clock (`now()`), so every KBS instance agrees; expired rows are filtered out of every
 * read and swept periodically. `take` is `DELETE … RETURNING` (one statement: exactly one concurrent caller wins);
 * `set(overwrite:false)` is one `INSERT … ON CONFLICT` that only replaces an expired row.
 */
import pg from 'pg';
import { StorageAlreadyExistsError, StorageUnavailableError, type KvStore, type StorageBackend } from './types.js';
import { ValidatedStore, answersInOrder, validateNamespace, type RawStore } from './validate.js';
import { describeError } from './redact.js';
import type { SqlServerConfig } from './config.js';

export interface PostgresOptions {
  connectTimeoutMs?: number;
  queryTimeoutMs?: number;
  maxConnections?: number;
  /** How often expired rows are deleted (default 60 s; 0 disables the sweep). */
  sweepIntervalMs?: number;
}

export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

const LIVE = '(expires_at IS NULL OR expires_at > now())';

class PostgresStore implements RawStore {
  private readonly t: string;
  constructor(private readonly namespace: string, private readonly backend: PostgresBackend) {
    this.t = quoteIdent(namespace);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const r = await this.backend.query<{ value: Buffer }>('get', `SELECT value FROM ${this.t} WHERE key = $1 AND ${LIVE}`, [key]);
    return r.rows[0] ? new Uint8Array(r.rows[0].value) : undefined;
  }

  /** One statement for the whole batch (one snapshot); the key list travels as a single text[] parameter. */
  async getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    const r = await this.backend.query<{ key: string; value: Buffer }>(
      'getMany',
      `SELECT key, value FROM ${this.t} WHERE key = ANY($1::text[]) AND ${LIVE}`,
      [[...new Set(keys)]],
    );
    return answersInOrder(keys, new Map(r.rows.map((row) => [row.key, new Uint8Array(row.value)])));
  }

  async set(key: string, value: Uint8Array, overwrite: boolean, ttlMs: number | undefined): Promise<void> {
    const expires = `CASE WHEN $3::bigint IS NULL THEN NULL ELSE now() + $3::bigint * interval '1 millisecond' END`;
    const onConflict = overwrite
      ? `DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`
      : `DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
           WHERE ${this.t}.expires_at IS NOT NULL AND ${this.t}.expires_at <= now()`;
    const r = await this.backend.query(
      'set',
      `INSERT INTO ${this.t} (key, value, expires_at) VALUES ($1, $2, ${expires}) ON CONFLICT (key) ${onConflict}`,
      [key, Buffer.from(value.buffer, value.byteOffset, value.byteLength), ttlMs ?? null],
    );
    if (r.rowCount === 0) throw new StorageAlreadyExistsError(this.namespace, key);
  }

  async delete(key: string): Promise<boolean> {
    const r = await this.backend.query<{ live: boolean }>('delete', `DELETE FROM ${this.t} WHERE key = $1 RETURNING ${LIVE} AS live`, [key]);
    return r.rows[0]?.live === true;
  }

  async list(): Promise<string[]> {
    const r = await this.backend.query<{ key: string }>('list', `SELECT key FROM ${this.t} WHERE ${LIVE}`, []);
    return r.rows.map((row) => row.key);
  }

  async take(key: string): Promise<Uint8Array | undefined> {
    const r = await this.backend.query<{ value: Buffer; live: boolean }>(
      'take',
      `DELETE FROM ${this.t} WHERE key = $1 RETURNING value, ${LIVE} AS live`,
      [key],
    );
    const row = r.rows[0];
    return row?.live ? new Uint8Array(row.value) : undefined;
  }

  sweep(): Promise<unknown> {
    return this.backend.query('sweep', `DELETE FROM ${this.t} WHERE expires_at <= now()`, []);
  }
}

export class PostgresBackend implements StorageBackend {
  readonly type = 'Postgres';
  private readonly pool: pg.Pool;
  private readonly secrets: (string | undefined)[];
  private readonly stores = new Map<string, Promise<{ store: KvStore; raw: PostgresStore }>>();
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(config: SqlServerConfig, options: PostgresOptions = {}) {
    const common: pg.PoolConfig = {
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 3000,
      query_timeout: options.queryTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
    };
    this.pool = config.url
      ? new pg.Pool({ ...common, connectionString: config.url })
      : new pg.Pool({ ...common, host: config.host, port: config.port, database: config.db, user: config.username, password: config.password });
    this.secrets = [config.url, config.password];
    // An idle client whose server went away emits 'error'; the pool drops it and reconnects on next use.
    this.pool.on('error', () => {});
    const every = options.sweepIntervalMs ?? 60_000;
    if (every > 0) {
      this.sweeper = setInterval(() => void this.sweepAll(), every);
      this.sweeper.unref();
    }
  }

  /** Runs one statement; any driver failure becomes a credential-free StorageUnavailableError. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(op: string, text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    if (this.closed) throw new StorageUnavailableError('postgres: backend is closed');
    try {
      return await this.pool.query<R>(text, values);
    } catch (err) {
      throw new StorageUnavailableError(`postgres: ${op} failed: ${describeError(err, this.secrets)}`);
    }
  }

  async open(namespace: string): Promise<KvStore> {
    validateNamespace(namespace);
    let p = this.stores.get(namespace);
    if (!p) {
      p = this.createTable(namespace).then(() => {
        const raw = new PostgresStore(namespace, this);
        return { raw, store: new ValidatedStore(namespace, raw) };
      });
      p.catch(() => this.stores.delete(namespace));
      this.stores.set(namespace, p);
    }
    return p.then((s) => s.store);
  }

  private async createTable(namespace: string): Promise<void> {
    const t = quoteIdent(namespace);
    const ddl = `CREATE TABLE IF NOT EXISTS ${t} (key TEXT PRIMARY KEY, value BYTEA NOT NULL, expires_at TIMESTAMPTZ NULL)`;
    try {
      await this.query('open', ddl, []);
    } catch (err) {
      // Two instances creating the same table at once: one loses on pg_type's unique index; the table exists now.
      await this.query('open', ddl, []).catch(() => Promise.reject(err));
    }
    // Trustee's own tables have no expires_at column.
    const col = await this.query(
      'open',
      `SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name = 'expires_at'`,
      [namespace],
    );
    if (col.rowCount === 0) await this.query('open', `ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS expires_at TIMESTAMPTZ NULL`, []);
  }

  /** Deletes expired rows in every namespace opened so far. */
  async sweepAll(): Promise<void> {
    for (const p of this.stores.values()) {
      try {
        await (await p).raw.sweep();
      } catch {
        // The next read filters expired rows anyway; the server may be down right now.
      }
    }
  }

  /** Drops a namespace's table (tests and tooling; the KBS never calls it). */
  async dropNamespace(namespace: string): Promise<void> {
    validateNamespace(namespace);
    this.stores.delete(namespace);
    await this.query('drop', `DROP TABLE IF EXISTS ${quoteIdent(namespace)}`, []);
  }

  async ping(): Promise<void> {
    await this.query('ping', 'SELECT 1', []);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    await this.pool.end();
  }
}
