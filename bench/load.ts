/**
 * `npm run bench:load`: the KBS under load as real processes — one `bin/kbs` on local-fs, and three behind nginx
 * (round-robin) on PostgreSQL + Redis sessions, MariaDB + Redis sessions, and PostgreSQL for everything — with full
 * RCAR flows (sample TEE) driven by the client library from this process (test/cluster/support).
 *
 * Per configuration: flows/s, p50/p99 flow latency, per-stage medians seen by the client, CPU time per flow of each
 * process (this load generator, the KBS instances, nginx, the database servers, from /proc), and the storage cost of
 * 10,000 live sessions (Redis `used_memory`, PostgreSQL / MariaDB table size, or bytes on disk for local-fs, plus
 * the KBS processes' RSS growth). Printed beside the single-thread crypto-only ceiling of one flow measured in the
 * same run (bench/crypto.ts primitives + P-256 key generation), as a ratio.
 *
 * Bounded: each load phase stops after LOAD_BENCH_SECONDS (default 8) or LOAD_BENCH_MAX_FLOWS flows; loopback only.
 * Needs PostgreSQL, Redis, MariaDB and nginx like test/cluster (a configuration whose server is missing is skipped
 * with the reason). Env LOAD_BENCH_CONFIGS picks configurations by name (comma-separated).
 */
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { benchCrypto } from './crypto.js';
import { fmtUs, measure, printSamples, type Sample } from './harness.js';
import { startCluster, type Cluster, type ClusterStorage } from '../test/cluster/support/cluster.js';
import { runFlow, type FlowOutcome } from '../test/cluster/support/flows.js';
import { HttpTransport } from '../src/client/http.js';
import { KbsClient } from '../src/client/kbs-client.js';
import { TeeKeyPair } from '../src/client/tee-key.js';
import { samplePolicy } from '../src/kbs/resource-policy.js';

const SECONDS = Number(process.env.LOAD_BENCH_SECONDS ?? 8);
const MAX_FLOWS = Number(process.env.LOAD_BENCH_MAX_FLOWS ?? 20_000);
const CONCURRENCY = Number(process.env.LOAD_BENCH_CLIENTS ?? 32);
const SESSIONS = 10_000;
const RESOURCE = 'default/key/1';
const SECRET = Buffer.from('0123456789abcdef0123456789abcdef');
const TICK_MS = 10; // /proc clock ticks (USER_HZ = 100)

interface Config {
  name: string;
  instances: number;
  storage: ClusterStorage;
  sessions: ClusterStorage;
  /** Replace default_cpu by its sample-TEE part only (4 reference values instead of 36): shows their cost. */
  lean?: boolean;
}

/** default_cpu's sample-TEE rules alone: the same verdicts for the sample TEE, 4 reference-value reads, not 36. */
const LEAN_CPU_POLICY = `package policy
import rego.v1
default executables := 33
default hardware := 97
default configuration := 36
trust_claims := {
  "executables": executables, "hardware": hardware, "configuration": configuration, "file-system": 0,
  "instance-identity": 0, "runtime-opaque": 0, "storage-opaque": 0, "sourced-data": 0,
}
executables := 3 if {
  input.sample
  input.sample.launch_digest in query_reference_value("launch_digest")
}
hardware := 2 if {
  input.sample
  input.sample.svn in query_reference_value("svn")
  input.sample.platform_version.major == query_reference_value("major_version")
  min_minor := query_reference_value("minimum_minor_version")
  is_number(min_minor)
  input.sample.platform_version.minor >= min_minor
}
configuration := 2 if {
  input.sample
  input.sample.debug == false
}
`;

const CONFIGS: Config[] = [
  { name: '1x-localfs', instances: 1, storage: 'LocalFs', sessions: 'LocalFs' },
  { name: '3x-postgres-redis', instances: 3, storage: 'Postgres', sessions: 'Redis' },
  { name: '3x-mariadb-redis', instances: 3, storage: 'MySql', sessions: 'Redis' },
  { name: '3x-postgres', instances: 3, storage: 'Postgres', sessions: 'Postgres' },
  { name: '1x-localfs-lean', instances: 1, storage: 'LocalFs', sessions: 'LocalFs', lean: true },
  { name: '3x-postgres-redis-lean', instances: 3, storage: 'Postgres', sessions: 'Redis', lean: true },
];
const only = (process.env.LOAD_BENCH_CONFIGS ?? '').split(',').filter(Boolean);

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
const mib = (b: number) => `${b >= 0 ? '+' : '−'}${(Math.abs(b) / 1024 / 1024).toFixed(1)} MiB`;

/** CPU ms (user + system) of a process, from /proc; 0 when it is gone. */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Pids whose command name starts with one of `names` (database servers, nginx). */
function pidsNamed(names: string[]): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const comm = readFileSync(`/proc/${d}/comm`, 'utf8').trim();
      if (names.some((n) => comm.startsWith(n))) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

interface CpuGroups {
  [group: string]: number[];
}

/** CPU ms per pid of every group. */
function cpuSnapshot(groups: CpuGroups): Map<number, number> {
  const out = new Map<number, number>();
  for (const pids of Object.values(groups)) for (const p of pids) out.set(p, cpuMs(p));
  return out;
}

/** CPU ms used by each group between two snapshots, counting only processes alive at both (server backends come and go). */
function cpuDelta(groups: CpuGroups, a: Map<number, number>, b: Map<number, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [g, pids] of Object.entries(groups)) {
    out[g] = pids.reduce((sum, p) => {
      const x = a.get(p) ?? 0;
      const y = b.get(p) ?? 0;
      return x > 0 && y >= x ? sum + (y - x) : sum;
    }, 0);
  }
  return out;
}

/** The crypto one flow cannot avoid, on one thread: EAR ES256 sign + verify, JWE ephemeral P-256 key + 2 ECDH. */
async function ceiling(): Promise<{ fps: number; samples: Sample[] }> {
  const b = await benchCrypto();
  const keygen = await measure('P-256 key generation (JWE ephemeral key)', () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }), { warmup: 50 });
  const ecdh2 = { ...b.ecdhP256, name: 'ECDH P-256 ×2 (KBS encrypt + client decrypt)', medianUs: 2 * b.ecdhP256.medianUs, p99Us: 2 * b.ecdhP256.p99Us };
  const parts = [b.es256Sign, b.ecdsaP256Verify, keygen, ecdh2];
  const sum: Sample = { name: 'crypto per flow (sum of medians)', medianUs: parts.reduce((a, p) => a + p.medianUs, 0), p99Us: parts.reduce((a, p) => a + p.p99Us, 0), runs: Math.min(...parts.map((p) => p.runs)) };
  return { fps: 1e6 / sum.medianUs, samples: [...parts, sum] };
}

interface LoadResult {
  fps: number;
  ok: number;
  failed: number;
  seconds: number;
  totals: number[];
  stages: { auth: number[]; attest: number[]; resource: number[] };
  cpuPerFlow: Record<string, number>;
}

async function load(c: Cluster, keys: TeeKeyPair[], groups: CpuGroups): Promise<LoadResult> {
  const one = (i: number) => runFlow(new HttpTransport({ url: c.url }), keys[i % keys.length]!, RESOURCE, SECRET);
  // Warm-up: JIT in every instance, nginx keep-alive connections, database pools.
  await Promise.all(Array.from({ length: CONCURRENCY * 2 }, (_, i) => one(i)));
  const outcomes: FlowOutcome[] = [];
  const cpu0 = cpuSnapshot(groups);
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + SECONDS * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline && n < MAX_FLOWS) outcomes.push(await one(n++));
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const self = process.cpuUsage(self0);
  const cpu1 = cpuSnapshot(groups);
  const ok = outcomes.filter((o): o is Extract<FlowOutcome, { kind: 'ok' }> => o.kind === 'ok');
  const bad = outcomes.filter((o) => o.kind !== 'ok');
  if (outcomes.some((o) => o.kind === 'wrong-secret')) throw new Error('a flow returned the wrong secret');
  if (bad.length > 0) console.log(`  ${bad.length} flows failed, e.g. ${(bad[0] as { message?: string }).message ?? bad[0]!.kind}`);
  const cpuPerFlow: Record<string, number> = { 'load generator (client library)': (self.user + self.system) / 1000 / Math.max(1, outcomes.length) };
  for (const [g, ms] of Object.entries(cpuDelta(groups, cpu0, cpu1))) cpuPerFlow[g] = ms / Math.max(1, outcomes.length);
  return {
    fps: ok.length / seconds,
    ok: ok.length,
    failed: bad.length,
    seconds,
    totals: ok.map((o) => o.ms).sort((a, b) => a - b),
    stages: { auth: ok.map((o) => o.stages.auth), attest: ok.map((o) => o.stages.attest), resource: ok.map((o) => o.stages.resource) },
    cpuPerFlow,
  };
}

function dirBytes(dir: string): { files: number; bytes: number; allocated: number } {
  let files = 0;
  let bytes = 0;
  let allocated = 0;
  for (const name of readdirSync(dir)) {
    const st = statSync(join(dir, name));
    files++;
    bytes += st.size;
    allocated += st.blocks * 512;
  }
  return { files, bytes, allocated };
}

/** What storing `SESSIONS` more live sessions costs where they live. */
async function sessionCost(c: Cluster, cfg: Config): Promise<string[]> {
  let measureStore: () => Promise<number>;
  let label: string;
  let cleanup = async () => {};
  if (cfg.sessions === 'LocalFs') {
    const dir = join(c.instances[0]!.dataDir, 'storage', 'kbs_protocol_session');
    label = 'local-fs bytes on disk (allocated blocks)';
    measureStore = async () => dirBytes(dir).allocated;
  } else if (cfg.sessions === 'Redis') {
    const r = new Redis(c.redisUrl, { lazyConnect: true });
    await r.connect();
    label = 'Redis used_memory (whole server; other users add noise)';
    measureStore = async () => Number(/used_memory:(\d+)/.exec(await r.info('memory'))?.[1] ?? NaN);
    cleanup = async () => r.disconnect();
  } else if (cfg.sessions === 'Postgres') {
    const client = new pg.Client({ connectionString: c.databaseUrl });
    await client.connect();
    label = 'PostgreSQL pg_total_relation_size(kbs_protocol_session)';
    measureStore = async () => Number((await client.query(`SELECT pg_total_relation_size('kbs_protocol_session') AS n`)).rows[0].n);
    cleanup = async () => client.end();
  } else {
    return [`(no session size probe for ${cfg.sessions})`];
  }
  try {
    const pids = c.instances.map((s) => s.proc.pid!).filter(Boolean);
    const rss0 = pids.reduce((a, p) => a + rssBytes(p), 0);
    const before = await measureStore();
    const teeKey = TeeKeyPair.generate();
    let made = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (made < SESSIONS) {
          made++;
          await new KbsClient({ transport: new HttpTransport({ url: c.url }), teeKey }).auth();
        }
      }),
    );
    const secs = (performance.now() - t0) / 1000;
    const after = await measureStore();
    const rss1 = pids.reduce((a, p) => a + rssBytes(p), 0);
    return [
      `${label}: ${mib(after - before)} (${((after - before) / SESSIONS).toFixed(0)} B/session)`,
      `KBS processes' RSS: ${mib(rss1 - rss0)} over ${pids.length} instance(s) (sessions are not held in the KBS; this is allocator/JIT noise)`,
      `${SESSIONS} /auth in ${secs.toFixed(1)} s (${(SESSIONS / secs).toFixed(0)} auth/s at ${CONCURRENCY} clients)`,
    ];
  } finally {
    await cleanup();
  }
}

async function runConfig(cfg: Config, keys: TeeKeyPair[], ceilingFps: number): Promise<{ name: string; fps: number } | undefined> {
  console.log(
    `\n## ${cfg.name}: ${cfg.instances} × bin/kbs, storage ${cfg.storage}, sessions ${cfg.sessions}${cfg.instances > 1 ? ', nginx round-robin' : ', direct'}` +
      `${cfg.lean ? ', default_cpu cut to its sample-TEE rules (4 reference values)' : ''}`,
  );
  let c: Cluster;
  try {
    c = await startCluster({ instances: cfg.instances, storage: cfg.storage, sessions: cfg.sessions, redisDb: 12 });
  } catch (e) {
    console.log(`skipped: ${(e as Error).message.split('\n')[0]}`);
    return undefined;
  }
  try {
    const admin = new KbsClient({ transport: new HttpTransport({ url: c.url }), adminToken: c.adminToken });
    await admin.setResource(RESOURCE, SECRET);
    await admin.setResourcePolicy(samplePolicy('allow_all'));
    if (cfg.lean) await admin.setAttestationPolicy(LEAN_CPU_POLICY, { id: 'default_cpu' });
    const kbsPids = c.instances.map((s) => s.proc.pid!).filter(Boolean);
    const nginxMaster = pidsNamed(['nginx']).filter((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(c.root));
    const groups: CpuGroups = {
      [`KBS instance${kbsPids.length > 1 ? 's' : ''}`]: kbsPids,
      ...(nginxMaster.length ? { nginx: [...nginxMaster, ...nginxMaster.flatMap(childPids)] } : {}),
      'database servers (postgres, redis, mariadb; all users)': pidsNamed(['postgres', 'redis-server', 'mariadbd', 'mysqld']),
    };
    const r = await load(c, keys, groups);
    console.log(
      `${CONCURRENCY} clients: ${r.fps.toFixed(0)} flows/s  p50 ${fmtUs(percentile(r.totals, 50) * 1000)}  p99 ${fmtUs(percentile(r.totals, 99) * 1000)}` +
        `  (${r.ok} flows in ${r.seconds.toFixed(1)} s${r.failed ? `, ${r.failed} failed` : ''})  ${((100 * r.fps) / ceilingFps).toFixed(0)}% of the one-thread crypto ceiling`,
    );
    console.log('where the time goes (client-observed stage medians):');
    console.log(`  auth ${fmtUs(median(r.stages.auth) * 1000)}, attest ${fmtUs(median(r.stages.attest) * 1000)}, resource ${fmtUs(median(r.stages.resource) * 1000)}`);
    console.log('CPU time per flow, by process:');
    for (const [g, ms] of Object.entries(r.cpuPerFlow)) console.log(`  ${g.padEnd(56)} ${ms.toFixed(2).padStart(7)} ms`);
    console.log(`memory per ${SESSIONS.toLocaleString('en')} live sessions:`);
    for (const line of await sessionCost(c, cfg)) console.log(`  ${line}`);
    return { name: cfg.name, fps: r.fps };
  } finally {
    await c.stop();
  }
}

console.log(`# Keybroker load benchmark (${new Date().toISOString()}, node ${process.version}, ${SECONDS} s per configuration, ${CONCURRENCY} concurrent flows)`);
const ceil = await ceiling();
printSamples('crypto-only ceiling of one flow, one thread (node:crypto, this run)', ceil.samples);
console.log(`crypto-only ceiling: ${ceil.fps.toFixed(0)} flows/s on one thread`);
const keys = Array.from({ length: 64 }, () => TeeKeyPair.generate());
const results: { name: string; fps: number }[] = [];
for (const cfg of CONFIGS) {
  if (only.length && !only.includes(cfg.name)) continue;
  const r = await runConfig(cfg, keys, ceil.fps);
  if (r) results.push(r);
}
console.log('\n## Summary');
const single = results.find((r) => r.name === '1x-localfs');
for (const r of results) {
  const vs = single && r !== single && !r.name.endsWith('-lean') ? `, ${(r.fps / single.fps).toFixed(2)}× the single local-fs instance (target ≥ 1: ${r.fps >= single.fps ? 'met' : 'NOT met'})` : '';
  console.log(`${r.name.padEnd(20)} ${r.fps.toFixed(0).padStart(6)} flows/s  ${((100 * r.fps) / ceil.fps).toFixed(0)}% of the crypto ceiling${vs}`);
}
process.exit(0);
