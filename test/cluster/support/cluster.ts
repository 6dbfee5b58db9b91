/**
 * A real KBS cluster for the cluster test and the load benchmark: N `bin/kbs` processes (each its own data dir and
 * loopback port) sharing one storage backend (a fresh PostgreSQL / MariaDB database, a Redis database index, or —
 * for one instance only — local-fs), sessions in Redis (`session_storage_type`), one token-signing key
 * (`attestation_token_broker.signer.key_path`) and one admin identity provider (AuthenticatedAuthorization), and
 * optionally nginx in front (round-robin over the instances).
 *
 * Servers: PostgreSQL, Redis and MariaDB on loopback (override with KEYBROKER_TEST_POSTGRES_URL,
 * KEYBROKER_TEST_REDIS_URL, KEYBROKER_TEST_MYSQL_URL, as the storage tests do); nginx from PATH or /usr/sbin/nginx
 * (override with KEYBROKER_NGINX). A missing server makes `startCluster` throw: nothing is skipped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Redis } from 'ioredis';
import { generateAdminCredentials } from '../../../src/client/admin-token.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export type ClusterStorage = 'Postgres' | 'MySql' | 'Redis' | 'LocalFs';

export interface ClusterOptions {
  instances: number;
  /** Resources, policies and reference values. LocalFs only with one instance. */
  storage: ClusterStorage;
  /** Where sessions live (default: Redis, or the storage type for LocalFs). */
  sessions?: ClusterStorage;
  /** Put nginx in front (default true when instances > 1). */
  nginx?: boolean;
  /** Redis database index used for this cluster (default 11). */
  redisDb?: number;
  /** `KBS_LOG_LEVEL` of the instances (default `warn`). */
  logLevel?: string;
  /** Extra node flags for the instances (e.g. `--cpu-prof`, for profiling). */
  nodeArgs?: string[];
}

export interface Instance {
  index: number;
  url: string;
  port: number;
  dataDir: string;
  proc: ChildProcess;
  /** stdout+stderr so far (for failure messages). */
  log(): string;
  alive(): boolean;
}

export interface Cluster {
  instances: Instance[];
  /** nginx URL, or the only instance's URL without nginx. */
  url: string;
  adminToken: string;
  root: string;
  /** Connection URL of the shared SQL database (Postgres/MySql storage), and of the Redis database used. */
  databaseUrl?: string;
  redisUrl: string;
  /** SIGKILL one instance and wait until it has exited. */
  kill(i: number): Promise<void>;
  stop(): Promise<void>;
}

const PG_URL = process.env.KEYBROKER_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_BASE = process.env.KEYBROKER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const MYSQL_URL = process.env.KEYBROKER_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

/** Namespaces the KBS and its built-in AS/RVPS write (cleared in a Redis database before use). */
const KBS_NAMESPACES = ['kbs', 'repository', 'kbs_protocol_session', 'attestation_service_policy', 'reference_value'];

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

function redisUrl(db: number): string {
  const u = new URL(REDIS_BASE);
  u.pathname = `/${db}`;
  return u.toString();
}

/** A fresh PostgreSQL database; returns its URL and a dropper. */
async function freshPostgres(name: string): Promise<{ url: string; drop(): Promise<void> }> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
  } catch (e) {
    throw new Error(`cluster: PostgreSQL is required (${PG_URL.replace(/\/\/[^@]*@/, '//')}): ${(e as Error).message}`);
  }
  try {
    await c.query(`CREATE DATABASE "${name}"`);
  } finally {
    await c.end();
  }
  return {
    url: withDatabase(PG_URL, name),
    async drop() {
      const d = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
      await d.connect();
      try {
        await d.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await d.end();
      }
    },
  };
}

async function freshMysql(name: string): Promise<{ url: string; drop(): Promise<void> }> {
  const mysql = await import('mysql2/promise');
  const open = () => mysql.createConnection({ uri: MYSQL_URL, connectTimeout: 3000 });
  let c;
  try {
    c = await open();
  } catch (e) {
    throw new Error(`cluster: MariaDB/MySQL is required: ${(e as Error).message}`);
  }
  try {
    await c.query(`CREATE DATABASE \`${name}\``);
  } finally {
    await c.end();
  }
  return {
    url: withDatabase(MYSQL_URL, name),
    async drop() {
      const d = await open();
      try {
        await d.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await d.end();
      }
    },
  };
}

/** Checks Redis is there and removes the KBS namespaces from database `db` (so reruns start clean). */
async function cleanRedis(db: number, namespaces: string[]): Promise<void> {
  const r = new Redis(redisUrl(db), { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await r.connect();
  } catch (e) {
    r.disconnect();
    throw new Error(`cluster: Redis is required (${REDIS_BASE}): ${(e as Error).message}`);
  }
  try {
    for (const ns of namespaces) {
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', `${ns}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await r.del(...keys);
      } while (cursor !== '0');
    }
  } finally {
    r.disconnect();
  }
}

export function nginxBinary(): string {
  const env = process.env.KEYBROKER_NGINX;
  if (env) return env;
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin'])) {
    const p = join(dir, 'nginx');
    if (dir && existsSync(p)) return p;
  }
  throw new Error('cluster: nginx is required (not found on PATH or in /usr/sbin; set KEYBROKER_NGINX)');
}

function nginxConfig(dir: string, port: number, upstreams: number[]): string {
  return `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream kbs {
${upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=5s;`).join('\n')}
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 4m;
    location / {
      proxy_pass http://kbs;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_connect_timeout 2s;
      proxy_read_timeout 30s;
      proxy_next_upstream error timeout;
    }
  }
}
`;
}

async function waitHttp(url: string, isAlive: () => boolean, log: () => string, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isAlive()) throw new Error(`cluster: ${what} exited during start-up:\n${log().slice(-3000)}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      if (r.status === 200) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`cluster: ${what} not ready after ${timeoutMs} ms:\n${log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function spawnLogged(cmd: string, args: string[], env: NodeJS.ProcessEnv): { proc: ChildProcess; log(): string; alive(): boolean } {
  const proc = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let exited = false;
  const keep = (b: Buffer) => {
    out += b.toString('utf8');
    if (out.length > 64_000) out = out.slice(-32_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  proc.once('exit', () => (exited = true));
  proc.once('error', (e) => {
    exited = true;
    out += `\nspawn error: ${e.message}`;
  });
  return { proc, log: () => out, alive: () => !exited && proc.exitCode === null && proc.signalCode === null };
}

function waitExit(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((r) => proc.once('exit', () => r()));
}

function q(s: string): string {
  return JSON.stringify(s);
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  if (opts.storage === 'LocalFs' && opts.instances !== 1) throw new Error('cluster: LocalFs storage is for one instance only');
  const root = mkdtempSync(join(tmpdir(), 'kbs-cluster-'));
  const cleanups: Array<() => Promise<void>> = [async () => rmSync(root, { recursive: true, force: true })];
  const procs: Array<{ proc: ChildProcess; graceful?: NodeJS.Signals }> = [];
  const stop = async () => {
    // nginx gets SIGTERM first: a SIGKILLed master would leave its worker behind (holding our pipes open).
    for (const p of procs) {
      if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill(p.graceful ?? 'SIGKILL');
    }
    await Promise.all(
      procs.map(async (p) => {
        const t = setTimeout(() => p.proc.kill('SIGKILL'), 5000);
        await waitExit(p.proc);
        clearTimeout(t);
      }),
    );
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const sessions = opts.sessions ?? (opts.storage === 'LocalFs' ? 'LocalFs' : 'Redis');
    const redisDb = opts.redisDb ?? 11;
    const env: NodeJS.ProcessEnv = { ...process.env, KBS_LOG_LEVEL: opts.logLevel ?? 'warn' };
    delete env.POSTGRES_URL;
    delete env.MYSQL_URL;
    delete env.KBS_CONFIG_FILE;
    env.REDIS_URL = redisUrl(redisDb);
    const dbName = `kbt_cluster_${randomBytes(5).toString('hex')}`;
    if (opts.storage === 'Postgres') {
      const db = await freshPostgres(dbName);
      env.POSTGRES_URL = db.url;
      cleanups.push(db.drop);
    } else if (opts.storage === 'MySql') {
      const db = await freshMysql(dbName);
      env.MYSQL_URL = db.url;
      cleanups.push(db.drop);
    }
    if (opts.storage === 'Redis' || sessions === 'Redis') await cleanRedis(redisDb, opts.storage === 'Redis' ? KBS_NAMESPACES : []);
    const useNginx = opts.nginx ?? opts.instances > 1;
    const nginx = useNginx ? nginxBinary() : undefined;

    // One token-signing key and one admin identity provider for every instance.
    const signerPath = join(root, 'token-signer.pem');
    writeFileSync(signerPath, generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    const admin = await generateAdminCredentials({ issuer: 'keybroker-cluster-test', audience: 'kbs', role: 'admin', days: 1, now: new Date() });
    const adminPub = join(root, 'admin.pub.pem');
    writeFileSync(adminPub, admin.publicKeyPem);

    const ports = await Promise.all(Array.from({ length: opts.instances }, () => freePort()));
    const instances: Instance[] = [];
    for (const [i, port] of ports.entries()) {
      const dataDir = join(root, `kbs-${i}`);
      mkdirSync(dataDir);
      const cfg = join(dataDir, 'kbs-config.toml');
      writeFileSync(
        cfg,
        `data_dir = ${q(dataDir)}
session_storage_type = ${q(sessions)}

[http_server]
sockets = [${q(`127.0.0.1:${port}`)}]

[attestation_service]
type = "coco_as_builtin"

[attestation_service.attestation_token_broker.signer]
key_path = ${q(signerPath)}

[admin]
authorization_mode = "AuthenticatedAuthorization"

[admin.authentication.bearer_jwt]
identity_providers = [{ issuer = "keybroker-cluster-test", audience = "kbs", public_key_uri = ${q(adminPub)} }]

[admin.authorization.regex_acl]
acls = [{ role = "admin", allowed_endpoints = "^/kbs/.+$" }]

[storage_backend]
storage_type = ${q(opts.storage)}

[storage_backend.backends.local_fs]
dir_path = ${q(join(dataDir, 'storage'))}
`,
      );
      const p = spawnLogged(process.execPath, [...(opts.nodeArgs ?? []), join(REPO_ROOT, 'bin', 'kbs'), '-c', cfg], env);
      procs.push(p);
      instances.push({ index: i, url: `http://127.0.0.1:${port}`, port, dataDir, proc: p.proc, log: p.log, alive: p.alive });
    }
    await Promise.all(instances.map((s) => waitHttp(`${s.url}/healthz`, s.alive, s.log, `kbs instance ${s.index}`, 30_000)));

    let url = instances[0]!.url;
    if (nginx) {
      const dir = join(root, 'nginx');
      mkdirSync(dir);
      const port = await freePort();
      writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, port, ports));
      const n = spawnLogged(nginx, ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], process.env);
      procs.push({ proc: n.proc, graceful: 'SIGTERM' });
      url = `http://127.0.0.1:${port}`;
      await waitHttp(`${url}/healthz`, n.alive, () => n.log() + (existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''), 'nginx', 10_000);
    }
    return {
      instances,
      url,
      adminToken: admin.token,
      root,
      ...(env.POSTGRES_URL ? { databaseUrl: env.POSTGRES_URL } : env.MYSQL_URL ? { databaseUrl: env.MYSQL_URL } : {}),
      redisUrl: env.REDIS_URL!,
      async kill(i: number) {
        const s = instances[i]!;
        s.proc.kill('SIGKILL');
        await waitExit(s.proc);
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
