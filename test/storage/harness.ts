/**
 * The backends the conformance suite runs against, each with a way to make a second independent instance (to prove
 * cross-instance atomicity) and to clean its namespaces up. Database servers are expected on this machine (env
 * overrides: KEYBROKER_TEST_POSTGRES_URL, KEYBROKER_TEST_REDIS_URL, KEYBROKER_TEST_MYSQL_URL); an unreachable one
 * makes its suite FAIL, never skip.
 */
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { StorageBackend } from '../../src/storage/types.js';
import { MemoryBackend } from '../../src/storage/memory.js';
import { LocalFsBackend } from '../../src/storage/local-fs.js';
import { LocalJsonBackend } from '../../src/storage/local-json.js';
import { PostgresBackend } from '../../src/storage/postgres.js';
import { RedisBackend } from '../../src/storage/redis.js';
import { MySqlBackend } from '../../src/storage/mysql.js';

export const POSTGRES_URL = process.env.KEYBROKER_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.KEYBROKER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const MYSQL_URL = process.env.KEYBROKER_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

export interface Harness {
  name: string;
  /** A second instance sees the first one's data (false for Memory, which lives in one object). */
  shared: boolean;
  create(): Promise<StorageBackend>;
  /** Removes every namespace the run used, then closes the instances it created. */
  cleanup(namespaces: string[]): Promise<void>;
  /**
   * Lets `ms` pass for TTL purposes: backends that take a clock get a manual one that this advances (no sleeping,
   * no flakiness); servers use their own clocks, so for them it sleeps.
   */
  elapse(ms: number): Promise<void>;
  /** The TTL to use for "short" entries: long enough that the checks before elapse() finish first on a busy machine. */
  shortTtlMs: number;
}

/** A clock that only moves when told to (starts at the real time so file mtimes stay comparable). */
export function manualClock() {
  let now = Date.now();
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

export function uniquePrefix(): string {
  return 'kbt_' + randomBytes(6).toString('hex');
}

function tracked<B extends StorageBackend>(make: () => B, drop: (b: B, ns: string) => Promise<void>, extra?: () => Promise<void>) {
  const made: B[] = [];
  return {
    async create() {
      const b = make();
      made.push(b);
      return b;
    },
    async cleanup(namespaces: string[]) {
      try {
        if (made[0]) for (const ns of namespaces) await drop(made[0], ns);
      } finally {
        for (const b of made) await b.close();
        if (extra) await extra();
      }
    },
  };
}

export function harnesses(): Harness[] {
  const fsDir = mkdtempSync(join(tmpdir(), 'kbt-fs-'));
  const jsonDir = mkdtempSync(join(tmpdir(), 'kbt-json-'));
  const removeDir = (d: string) => () => rm(d, { recursive: true, force: true });
  const quick = { connectTimeoutMs: 3000, sweepIntervalMs: 0 };
  const clocked = () => {
    const clock = manualClock();
    return { clock: clock.now, elapse: async (ms: number) => clock.advance(ms), shortTtlMs: 200 };
  };
  const real = { elapse: sleep, shortTtlMs: 1000 };
  const mem = clocked();
  const fs = clocked();
  const json = clocked();
  return [
    { name: 'Memory', shared: false, ...mem, ...tracked(() => new MemoryBackend(mem.clock), async () => {}) },
    { name: 'LocalFs', shared: true, ...fs, ...tracked(() => new LocalFsBackend({ dirPath: fsDir, clock: fs.clock }), async () => {}, removeDir(fsDir)) },
    {
      name: 'LocalJson',
      shared: true,
      ...json,
      ...tracked(() => new LocalJsonBackend({ fileDirPath: jsonDir, clock: json.clock }), async () => {}, removeDir(jsonDir)),
    },
    {
      name: 'Postgres',
      shared: true,
      ...real,
      ...tracked(() => new PostgresBackend({ url: POSTGRES_URL, host: '', port: 5432, db: '', username: '' }, quick), (b, ns) => b.dropNamespace(ns)),
    },
    { name: 'Redis', shared: true, ...real, ...tracked(() => new RedisBackend({ url: REDIS_URL }, quick), (b, ns) => b.dropNamespace(ns)) },
    {
      name: 'MySql',
      shared: true,
      ...real,
      ...tracked(() => new MySqlBackend({ url: MYSQL_URL, host: '', port: 3306, db: '', username: '' }, quick), (b, ns) => b.dropNamespace(ns)),
    },
  ];
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
