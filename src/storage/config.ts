/**
 * Trustee's `[storage_backend]` block (specs/trustee.md §6.4, §3.4) parsed once into a typed config:
 *
 *   [storage_backend]
 *   storage_type = "LocalFs"                      # Memory|memory, LocalFs|local_fs, LocalJson|local_json,
 *                                                  # Postgres|postgres, Redis|redis, MySql|mysql (ours)
 *   [storage_backend.backends.local_fs]  dir_path = "…"
 *   [storage_backend.backends.local_json] file_dir_path = "…"
 *   [storage_backend.backends.postgres]  host, port, db, username, password     (env POSTGRES_URL overrides)
 *   [storage_backend.backends.redis]     url                                    (env REDIS_URL overrides)
 *   [storage_backend.backends.mysql]     url | host, port, db, username, password (env MYSQL_URL overrides)
 *
 * Unknown keys and bad values are rejected with a ConfigError naming the key (never echoing a URL or password).
 */
import { ConfigError } from '../util/config-error.js';
import { DEFAULT_LOCAL_FS_DIR } from './local-fs.js';
import { DEFAULT_LOCAL_JSON_DIR } from './local-json.js';

export type StorageType = 'Memory' | 'LocalFs' | 'LocalJson' | 'Postgres' | 'Redis' | 'MySql';

const STORAGE_TYPES: Readonly<Record<string, StorageType>> = {
  Memory: 'Memory',
  memory: 'Memory',
  LocalFs: 'LocalFs',
  local_fs: 'LocalFs',
  LocalJson: 'LocalJson',
  local_json: 'LocalJson',
  Postgres: 'Postgres',
  postgres: 'Postgres',
  Redis: 'Redis',
  redis: 'Redis',
  MySql: 'MySql',
  mysql: 'MySql',
};

export interface SqlServerConfig {
  /** Connection URL (from config `url` or the env override); when set, the other fields are not used. */
  url?: string;
  host: string;
  port: number;
  db: string;
  username: string;
  password?: string;
}

export interface StorageBackendConfig {
  storageType: StorageType;
  backends: {
    localFs: { dirPath: string };
    localJson: { fileDirPath: string };
    postgres: SqlServerConfig;
    redis: { url: string };
    mysql: SqlServerConfig;
  };
}

export interface ParseStorageOptions {
  /** Environment for POSTGRES_URL / REDIS_URL / MYSQL_URL (pass `process.env`; default: none). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Dotted path of the block, for error messages (default `storage_backend`). */
  key?: string;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

type Table = Record<string, unknown>;

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function table(v: unknown, key: string, allowed: readonly string[]): Table {
  if (v === undefined || v === null) return {};
  if (!isTable(v)) throw new ConfigError(key, 'must be a table');
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) throw new ConfigError(`${key}.${k}`, `unknown key (expected one of: ${allowed.join(', ')})`);
  }
  return v;
}

function str(t: Table, name: string, key: string, fallback: string): string;
function str(t: Table, name: string, key: string, fallback?: undefined): string | undefined;
function str(t: Table, name: string, key: string, fallback?: string): string | undefined {
  const v = t[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'string') throw new ConfigError(`${key}.${name}`, 'must be a string');
  return v;
}

function nonEmpty(t: Table, name: string, key: string, fallback: string): string {
  const v = str(t, name, key, fallback);
  if (v.length === 0) throw new ConfigError(`${key}.${name}`, 'must not be empty');
  return v;
}

function port(t: Table, name: string, key: string, fallback: number): number {
  const v = t[name];
  if (v === undefined) return fallback;
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535)
    throw new ConfigError(`${key}.${name}`, 'must be an integer port number 1-65535');
  return n;
}

/** Checks a connection URL's scheme; the message names the key, never the URL (it may carry a password). */
function url(value: string, key: string, schemes: readonly string[]): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new ConfigError(key, 'is not a valid URL');
  }
  if (!schemes.includes(u.protocol)) throw new ConfigError(key, `URL scheme must be one of ${schemes.join(', ')}`);
  return value;
}

export function parseStorageType(value: unknown, key: string): StorageType {
  if (typeof value !== 'string' || !Object.hasOwn(STORAGE_TYPES, value))
    throw new ConfigError(key, `must be one of ${Object.keys(STORAGE_TYPES).join(', ')}`);
  return STORAGE_TYPES[value]!;
}

function sqlServer(
  raw: unknown,
  key: string,
  opts: { withUrl: boolean; defaults: Omit<SqlServerConfig, 'url' | 'password'>; envUrl: string | undefined; envName: string; schemes: readonly string[] },
): SqlServerConfig {
  const names = ['host', 'port', 'db', 'username', 'password', ...(opts.withUrl ? ['url'] : [])];
  const t = table(raw, key, names);
  const cfg: SqlServerConfig = {
    host: nonEmpty(t, 'host', key, opts.defaults.host),
    port: port(t, 'port', key, opts.defaults.port),
    db: nonEmpty(t, 'db', key, opts.defaults.db),
    username: nonEmpty(t, 'username', key, opts.defaults.username),
  };
  const password = str(t, 'password', key);
  if (password !== undefined) cfg.password = password;
  const u = opts.withUrl ? str(t, 'url', key) : undefined;
  if (u !== undefined) cfg.url = url(u, `${key}.url`, opts.schemes);
  if (opts.envUrl) cfg.url = url(opts.envUrl, `env ${opts.envName}`, opts.schemes);
  return cfg;
}

/** Parses the `[storage_backend]` table (already decoded from TOML/JSON/YAML). `undefined` gives Trustee's defaults. */
export function parseStorageBackendConfig(raw: unknown, options: ParseStorageOptions = {}): StorageBackendConfig {
  const key = options.key ?? 'storage_backend';
  const env = options.env ?? {};
  const t = table(raw, key, ['storage_type', 'backends']);
  const storageType = t.storage_type === undefined ? 'Memory' : parseStorageType(t.storage_type, `${key}.storage_type`);
  const bk = `${key}.backends`;
  const b = table(t.backends, bk, ['local_fs', 'local_json', 'postgres', 'redis', 'mysql']);

  const fs = table(b.local_fs, `${bk}.local_fs`, ['dir_path']);
  const json = table(b.local_json, `${bk}.local_json`, ['file_dir_path']);
  const redis = table(b.redis, `${bk}.redis`, ['url']);
  const redisUrl = env.REDIS_URL || str(redis, 'url', `${bk}.redis`, DEFAULT_REDIS_URL);

  return {
    storageType,
    backends: {
      localFs: { dirPath: nonEmpty(fs, 'dir_path', `${bk}.local_fs`, DEFAULT_LOCAL_FS_DIR) },
      localJson: { fileDirPath: nonEmpty(json, 'file_dir_path', `${bk}.local_json`, DEFAULT_LOCAL_JSON_DIR) },
      postgres: sqlServer(b.postgres, `${bk}.postgres`, {
        withUrl: false,
        defaults: { host: 'localhost', port: 5432, db: 'postgres', username: 'postgres' },
        envUrl: env.POSTGRES_URL,
        envName: 'POSTGRES_URL',
        schemes: ['postgres:', 'postgresql:'],
      }),
      redis: { url: url(redisUrl, env.REDIS_URL ? 'env REDIS_URL' : `${bk}.redis.url`, ['redis:', 'rediss:']) },
      mysql: sqlServer(b.mysql, `${bk}.mysql`, {
        withUrl: true,
        defaults: { host: 'localhost', port: 3306, db: 'kbs', username: 'root' },
        envUrl: env.MYSQL_URL,
        envName: 'MYSQL_URL',
        schemes: ['mysql:', 'mariadb:'],
      }),
    },
  };
}

/** The same config with another backend type (KBS `session_storage_type`, AS/RVPS `storage_type` overrides). */
export function withStorageType(config: StorageBackendConfig, storageType: StorageType): StorageBackendConfig {
  return { ...config, storageType };
}

export { createStorageBackend, registerStorageBackend, type BackendContext, type BackendFactory } from './registry.js';
