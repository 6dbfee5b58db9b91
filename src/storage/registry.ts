/**
 * `storage_type` → backend factory. Adding a backend is one `registerStorageBackend` call; nothing else in the code
 * branches on the type.
 */
import { isAbsolute, join, relative } from 'node:path';
import type { StorageBackend } from './types.js';
import type { StorageBackendConfig, StorageType } from './config.js';
import { MemoryBackend } from './memory.js';
import { LocalFsBackend } from './local-fs.js';
import { LocalJsonBackend } from './local-json.js';
import { PostgresBackend } from './postgres.js';
import { RedisBackend } from './redis.js';
import { MySqlBackend } from './mysql.js';

export interface BackendContext {
  /**
   * Base for on-disk backends, as Trustee's `replace_base_dir`: a path under `/opt/confidential-containers/` is
   * moved under `dataDir`, a relative path is resolved against it, other absolute paths are kept.
   */
  dataDir?: string;
  /** ms since epoch for TTL expiry (Memory, LocalFs, LocalJson; the servers use their own clocks). */
  clock?: () => number;
}

export type BackendFactory = (config: StorageBackendConfig, ctx: BackendContext) => StorageBackend;

const OPT_BASE = '/opt/confidential-containers/';

export function rebasePath(path: string, dataDir: string | undefined): string {
  if (dataDir === undefined) return path;
  if (path.startsWith(OPT_BASE)) return join(dataDir, relative(OPT_BASE, path));
  return isAbsolute(path) ? path : join(dataDir, path);
}

const factories = new Map<StorageType, BackendFactory>();

export function registerStorageBackend(type: StorageType, factory: BackendFactory): void {
  factories.set(type, factory);
}

registerStorageBackend('Memory', (_c, ctx) => new MemoryBackend(ctx.clock));
registerStorageBackend('LocalFs', (c, ctx) => new LocalFsBackend({ dirPath: rebasePath(c.backends.localFs.dirPath, ctx.dataDir), clock: ctx.clock }));
registerStorageBackend('LocalJson', (c, ctx) => new LocalJsonBackend({ fileDirPath: rebasePath(c.backends.localJson.fileDirPath, ctx.dataDir), clock: ctx.clock }));
registerStorageBackend('Postgres', (c) => new PostgresBackend(c.backends.postgres));
registerStorageBackend('Redis', (c) => new RedisBackend(c.backends.redis));
registerStorageBackend('MySql', (c) => new MySqlBackend(c.backends.mysql));

/** Builds the backend named by `config.storageType`. Connections are made lazily (first open/ping). */
export function createStorageBackend(config: StorageBackendConfig, ctx: BackendContext = {}): StorageBackend {
  const factory = factories.get(config.storageType);
  if (!factory) throw new Error(`no storage backend registered for ${config.storageType}`);
  return factory(config, ctx);
}
