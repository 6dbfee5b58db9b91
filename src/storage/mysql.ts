/**
 * MySQL / MariaDB backend (ours; `storage_type = "MySql"`, tested on MariaDB 10.11). Same shape as the PostgreSQL
 * backend: one table per namespace named as the namespace, `key VARBINARY(1024) PRIMARY KEY` (binary, so keys are
 * case-sensitive like everywhere else), `value LONGBLOB`, `expires_at DATETIME(3) NULL` in UTC from the server's
 * clock. `take` runs `SELECT … FOR UPDATE` + `DELETE` in one transaction; `set(overwrite:false)` removes an expired
 * row and then relies on the primary key (a duplicate-key error means the key exists).
 */
import mysql from 'mysql2/promise';
import { StorageAlreadyExistsError, StorageUnavailableError, type KvStore, type StorageBackend } from './types.js';
import { ValidatedStore, answersInOrder, validateNamespace, type RawStore } from './validate.js';
import { describeError } from './redact.js';
import type { SqlServerConfig } from './config.js';

export interface MySqlOptions {
  connectTimeoutMs?: number;
  queryTimeoutMs?: number;
  maxConnections?: number;
  /** How often expired rows are deleted (default 60 s; 0 disables the sweep). */
  sweepIntervalMs?: number;
}

export function quoteMySqlIdent(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

const NOW = 'UTC_TIMESTAMP(3)';
const LIVE = `(expires_at IS NULL OR expires_at > ${NOW})`;
const ER_DUP_ENTRY = 1062;
const ER_LOCK_DEADLOCK = 1213;
/** Keys per `getMany` query: keeps each statement well under max_allowed_packet (keys are ≤ 1 KiB). */
export const GET_MANY_CHUNK = 500;

type Row = mysql.RowDataPacket;

class MySqlStore implements RawStore {
  private readonly t: string;
  constructor(private readonly namespace: string, private readonly backend: MySqlBackend) {
    this.t = quoteMySqlIdent(namespace);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const rows = await this.backend.rows('get', `SELECT value FROM ${this.t} WHERE \`key\` = ? AND ${LIVE}`, [key]);
    return rows[0] ? new Uint8Array(rows[0].value as Buffer) : undefined;
  }

  /** One `IN (…)` query per GET_MANY_CHUNK distinct keys, run one after another (one pool connection at a time). */
  async getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    const distinct = [...new Set(keys)];
    const found = new Map<string, Uint8Array>();
    for (let i = 0; i < distinct.length; i += GET_MANY_CHUNK) {
      const chunk = distinct.slice(i, i + GET_MANY_CHUNK);
      const marks = chunk.map(() => '?').join(', ');
      const rows = await this.backend.rows('getMany', `SELECT \`key\`, value FROM ${this.t} WHERE \`key\` IN (${marks}) AND ${LIVE}`, chunk);
      for (const row of rows) found.set((row.key as Buffer).toString('utf8'), new Uint8Array(row.value as Buffer));
    }
    return answersInOrder(keys, found);
  }

  async set(key: string, value: Uint8Array, overwrite: boolean, ttlMs: number | undefined): Promise<void> {
    const expires = `IF(? IS NULL, NULL, ${NOW} + INTERVAL (? * 1000) MICROSECOND)`;
    const insert = `INSERT INTO ${this.t} (\`key\`, value, expires_at) VALUES (?, ?, ${expires})`;
    const params = [key, Buffer.from(value.buffer, value.byteOffset, value.byteLength), ttlMs ?? null, ttlMs ?? null];
    if (overwrite) {
      await this.backend.exec('set', `${insert} ON DUPLICATE KEY UPDATE value = VALUES(value), expires_at = VALUES(expires_at)`, params);
      return;
    }
    await this.backend.exec('set', `DELETE FROM ${this.t} WHERE \`key\` = ? AND expires_at <= ${NOW}`, [key]);
    try {
      await this.backend.exec('set', insert, params);
    } catch (err) {
      if ((err as { errno?: number }).errno === ER_DUP_ENTRY) throw new StorageAlreadyExistsError(this.namespace, key);
      throw err;
    }
  }

  async delete(key: string): Promise<boolean> {
    const r = await this.backend.exec('delete', `DELETE FROM ${this.t} WHERE \`key\` = ? AND ${LIVE}`, [key]);
    // An expired row is invisible; remove it too (only if still expired, so a concurrent fresh set survives).
    await this.backend.exec('delete', `DELETE FROM ${this.t} WHERE \`key\` = ? AND expires_at <= ${NOW}`, [key]);
    return r.affectedRows > 0;
  }

  async list(): Promise<string[]> {
    const rows = await this.backend.rows('list', `SELECT \`key\` FROM ${this.t} WHERE ${LIVE}`, []);
    return rows.map((r) => (r.key as Buffer).toString('utf8'));
  }

  async take(key: string): Promise<Uint8Array | undefined> {
    return this.backend.transaction('take', async (conn) => {
      const [rows] = await conn.query<Row[]>(`SELECT value, ${LIVE} AS live FROM ${this.t} WHERE \`key\` = ? FOR UPDATE`, [key]);
      const row = rows[0];
      if (!row) return undefined;
      await conn.query(`DELETE FROM ${this.t} WHERE \`key\` = ?`, [key]);
      return Number(row.live) === 1 ? new Uint8Array(row.value as Buffer) : undefined;
    });
  }

  async sweep(): Promise<void> {
    await this.backend.exec('sweep', `DELETE FROM ${this.t} WHERE expires_at <= ${NOW}`, []);
  }
}

export class MySqlBackend implements StorageBackend {
  readonly type = 'MySql';
  private readonly pool: mysql.Pool;
  private readonly secrets: (string | undefined)[];
  private readonly queryTimeoutMs: number;
  private readonly stores = new Map<string, Promise<{ store: KvStore; raw: MySqlStore }>>();
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(config: SqlServerConfig, options: MySqlOptions = {}) {
    const common: mysql.PoolOptions = {
      connectTimeout: options.connectTimeoutMs ?? 3000,
      connectionLimit: options.maxConnections ?? 10,
      waitForConnections: true,
      enableKeepAlive: true,
      timezone: 'Z',
    };
    this.pool = config.url
      ? mysql.createPool({ ...common, uri: config.url })
      : mysql.createPool({ ...common, host: config.host, port: config.port, database: config.db, user: config.username, password: config.password });
    this.secrets = [config.url, config.password];
    this.queryTimeoutMs = options.queryTimeoutMs ?? 10_000;
    const every = options.sweepIntervalMs ?? 60_000;
    if (every > 0) {
      this.sweeper = setInterval(() => void this.sweepAll(), every);
      this.sweeper.unref();
    }
  }

  private unavailable(op: string, err: unknown): StorageUnavailableError {
    return new StorageUnavailableError(`mysql: ${op} failed: ${describeError(err, this.secrets)}`);
  }

  /**
   * Bounds a query's wait with our own unref'd timer (mysql2's per-query `timeout` leaves a live timer behind when
   * the connection dies, which holds the process open). The statement's outcome is then unknown to the caller.
   */
  private timed<T>(op: string, p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StorageUnavailableError(`mysql: ${op} timed out`)), this.queryTimeoutMs);
      timer.unref();
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  private check(): void {
    if (this.closed) throw new StorageUnavailableError('mysql: backend is closed');
  }

  async rows(op: string, sql: string, values: unknown[]): Promise<Row[]> {
    this.check();
    try {
      const [rows] = await this.timed(op, this.pool.query<Row[]>(sql, values));
      return rows;
    } catch (err) {
      throw this.unavailable(op, err);
    }
  }

  /** Runs a statement; a duplicate-key error is passed through untouched for set(overwrite:false). */
  async exec(op: string, sql: string, values: unknown[]): Promise<mysql.ResultSetHeader> {
    this.check();
    try {
      const [r] = await this.timed(op, this.pool.query<mysql.ResultSetHeader>(sql, values));
      return r;
    } catch (err) {
      if ((err as { errno?: number }).errno === ER_DUP_ENTRY) throw err;
      throw this.unavailable(op, err);
    }
  }

  async transaction<T>(op: string, fn: (conn: mysql.PoolConnection) => Promise<T>): Promise<T> {
    this.check();
    for (let attempt = 1; ; attempt++) {
      let conn: mysql.PoolConnection;
      try {
        conn = await this.pool.getConnection();
      } catch (err) {
        throw this.unavailable(op, err);
      }
      try {
        await conn.beginTransaction();
        const out = await fn(conn);
        await conn.commit();
        conn.release();
        return out;
      } catch (err) {
        // A connection in an unknown state is not returned to the pool.
        await conn.rollback().then(() => conn.release(), () => conn.destroy());
        // InnoDB resolves a deadlock by rolling one transaction back; nothing was changed, so run it again.
        if ((err as { errno?: number }).errno === ER_LOCK_DEADLOCK && attempt < 5) continue;
        throw this.unavailable(op, err);
      }
    }
  }

  async open(namespace: string): Promise<KvStore> {
    validateNamespace(namespace);
    let p = this.stores.get(namespace);
    if (!p) {
      const t = quoteMySqlIdent(namespace);
      p = this.exec(
        'open',
        `CREATE TABLE IF NOT EXISTS ${t} (\`key\` VARBINARY(1024) NOT NULL PRIMARY KEY, value LONGBLOB NOT NULL, expires_at DATETIME(3) NULL) ENGINE=InnoDB`,
        [],
      ).then(() => {
        const raw = new MySqlStore(namespace, this);
        return { raw, store: new ValidatedStore(namespace, raw) };
      });
      p.catch(() => this.stores.delete(namespace));
      this.stores.set(namespace, p);
    }
    return p.then((s) => s.store);
  }

  async sweepAll(): Promise<void> {
    for (const p of this.stores.values()) {
      try {
        await (await p).raw.sweep();
      } catch {
        // Reads filter expired rows anyway.
      }
    }
  }

  /** Drops a namespace's table (tests and tooling; the KBS never calls it). */
  async dropNamespace(namespace: string): Promise<void> {
    validateNamespace(namespace);
    this.stores.delete(namespace);
    await this.exec('drop', `DROP TABLE IF EXISTS ${quoteMySqlIdent(namespace)}`, []);
  }

  async ping(): Promise<void> {
    await this.rows('ping', 'SELECT 1', []);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    await this.pool.end();
  }
}
