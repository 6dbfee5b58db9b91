/**
 * What a multi-process KBS (`[http_server] worker_count` > 1) needs before the primary forks: storage every worker
 * sees, and the one-time start-up work that would race if N workers did it at once.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../util/config-error.js';
import type { StorageType } from '../../storage/config.js';
import { parseConfigText, parseKbsConfig, type KbsConfig } from '../config.js';
import { ensureEmbeddedAdmin } from '../admin.js';

/**
 * Backends several processes can share with the KBS's guarantees (a value written by one is read by the others;
 * `take` of a nonce succeeds in exactly one). Memory is per process; LocalJson rewrites one file per namespace and
 * is safe for one writing process only (docs/storage.md).
 */
const SHARED_STORAGE: ReadonlySet<StorageType> = new Set(['LocalFs', 'Postgres', 'Redis', 'MySql']);

const KEY = 'http_server.worker_count';

/**
 * Refuses a config whose state would be per worker: RCAR sessions (a guest's /auth, /attest and resource GET may
 * land on different workers, and a nonce must stay single-use across them) and the resources, policies and
 * reference values in `[storage_backend]` (an admin write through one worker must govern all of them).
 */
export function checkWorkerStorage(config: KbsConfig): void {
  const n = config.httpServer.workerCount ?? 1;
  if (n <= 1) return;
  const storage = config.storage.storageType;
  if (!SHARED_STORAGE.has(storage))
    throw new ConfigError(
      KEY,
      `${n} workers need storage every worker shares, but [storage_backend] storage_type is "${storage}": set storage_type = "LocalFs", "Postgres", "Redis" or "MySql" (or worker_count = 1)`,
    );
  // Passport mode (no attestation service) has no /auth and no sessions.
  if (!config.attestationService) return;
  const sessions = config.sessionStorageType ?? storage;
  if (!SHARED_STORAGE.has(sessions))
    throw new ConfigError(
      KEY,
      `${n} workers need sessions every worker shares, but the session storage is "${sessions}": set session_storage_type = "LocalFs", "Redis", "Postgres" or "MySql" (or worker_count = 1)`,
    );
}

export interface SharedState {
  /** The embedded admin token's path, when the embedded admin mode is on. */
  adminTokenPath?: string;
}

/**
 * One-time start-up work done by the primary before any worker exists. The embedded admin key is created with
 * "exists? else generate and rename" (src/kbs/admin.ts): two workers starting on an empty data directory would each
 * generate one, the last rename would win on disk, and the other worker would keep verifying against a key nobody
 * has. Created here first, every worker finds and reads it. (The AS token-signer key needs nothing: it is created
 * with link(2), so a second creator adopts the first one's key — src/as/signer.ts.)
 */
export function prepareSharedState(config: KbsConfig, now: Date, log: { info(m: string): void }): SharedState {
  if (config.admin.mode !== 'Embedded') return {};
  return { adminTokenPath: ensureEmbeddedAdmin(config.dataDir, now, log).tokenPath };
}

/**
 * The config file's text and its parsed form (as `loadConfigFile`): the primary hands the same text to every worker,
 * so all of them run the configuration the primary validated, even if the file changes while it runs.
 */
export function readConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): { text: string; config: KbsConfig } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('', `cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return { text, config: configFromText(text, path, env) };
}

/** Parse a config text named `file` (a worker does this with the text its primary sent). */
export function configFromText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): KbsConfig {
  const config = parseKbsConfig(parseConfigText(text, file), env);
  config.source = file;
  return config;
}
