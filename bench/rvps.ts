/**
 * Reference-value reads per /attest: the AS prefetches every id the default CPU policy names before the (synchronous)
 * Rego evaluation. Compares one `query` per id, all in flight at once (`Promise.all`, what src/as/builtin.ts did),
 * with one `Rvps.queryMany` (one `KvStore.getMany`), on Memory, LocalFs, PostgreSQL, Redis and MariaDB.
 *
 * Servers: KEYBROKER_TEST_POSTGRES_URL / _REDIS_URL / _MYSQL_URL (defaults as the storage tests); an unreachable one
 * is skipped with the reason. Each run uses a fresh `kbt_<random>_reference_value` namespace and drops it.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileAttestationPolicy } from '../src/as/policy-engine.js';
import { Rvps } from '../src/rvps/index.js';
import type { StorageBackend } from '../src/storage/types.js';
import { MemoryBackend } from '../src/storage/memory.js';
import { LocalFsBackend } from '../src/storage/local-fs.js';
import { PostgresBackend } from '../src/storage/postgres.js';
import { RedisBackend } from '../src/storage/redis.js';
import { MySqlBackend } from '../src/storage/mysql.js';
import { MYSQL_URL, POSTGRES_URL, REDIS_URL, uniquePrefix } from '../test/storage/harness.js';
import { fmtUs, measure, printSamples, type Sample } from './harness.js';

interface Target {
  name: string;
  make(): StorageBackend;
  drop(backend: StorageBackend, namespace: string): Promise<void>;
}

function policyIds(): string[] {
  const source = readFileSync(new URL('../src/as/policies/default_cpu.rego', import.meta.url), 'utf8');
  const ids = compileAttestationPolicy('default_cpu', source).referenceValueIds();
  if (ids === 'all') throw new Error('default_cpu.rego computes a reference-value id; the bench expects constant ids');
  return ids;
}

const sql = { host: '', port: 0, db: '', username: '' };
const quick = { connectTimeoutMs: 2000, sweepIntervalMs: 0 };
const dropping = (b: StorageBackend, ns: string) => (b as StorageBackend & { dropNamespace(ns: string): Promise<void> }).dropNamespace(ns);

export async function benchRvps(): Promise<Sample[]> {
  const ids = policyIds();
  const fsDir = mkdtempSync(join(tmpdir(), 'kbt-bench-rvps-'));
  const targets: Target[] = [
    { name: 'Memory', make: () => new MemoryBackend(), drop: async () => {} },
    { name: 'LocalFs', make: () => new LocalFsBackend({ dirPath: fsDir }), drop: async () => {} },
    { name: 'Postgres', make: () => new PostgresBackend({ ...sql, url: POSTGRES_URL }, quick), drop: dropping },
    { name: 'Redis', make: () => new RedisBackend({ url: REDIS_URL }, quick), drop: dropping },
    { name: 'MySql', make: () => new MySqlBackend({ ...sql, url: MYSQL_URL }, quick), drop: dropping },
  ];
  const now = new Date();
  // Every id present: the policy's real case once reference values are registered.
  const payload = Object.fromEntries(ids.map((id, i) => [id, [`${id}-value-${i}`, 'a'.repeat(96)]]));
  const message = JSON.stringify({ version: '0.1.0', type: 'sample', payload: Buffer.from(JSON.stringify(payload)).toString('base64') });
  const all: Sample[] = [];
  try {
    for (const t of targets) {
      const backend = t.make();
      const prefix = uniquePrefix();
      const storage: StorageBackend = { type: backend.type, open: (ns) => backend.open(`${prefix}_${ns}`), ping: () => backend.ping(), close: () => backend.close() };
      try {
        await backend.ping();
        const rvps = await Rvps.open(storage);
        await rvps.register(message);
        const one = await rvps.queryMany(ids, now);
        if (one.size !== ids.length) throw new Error(`queryMany found ${one.size} of ${ids.length} values`);
        const opts = { warmup: 50, maxMs: 3000 };
        const single = await measure(`${t.name}: ${ids.length} × query (Promise.all)`, () => Promise.all(ids.map((id) => rvps.query(id, now))), opts);
        const many = await measure(`${t.name}: 1 × queryMany(${ids.length})`, () => rvps.queryMany(ids, now), opts);
        printSamples(`rvps prefetch, ${t.name}`, [single, many], single);
        console.log(`${''.padEnd(52)} queryMany saves ${fmtUs(single.medianUs - many.medianUs)} per evaluation`);
        all.push(single, many);
      } catch (err) {
        console.log(`\n## rvps prefetch, ${t.name}: skipped (${(err as Error).message})`);
      } finally {
        await t.drop(backend, `${prefix}_reference_value`).catch(() => {});
        await backend.close();
      }
    }
  } finally {
    await rm(fsDir, { recursive: true, force: true });
  }
  return all;
}
