/**
 * KBS benchmark: full RCAR flows (auth → attest → resource) with the sample TEE, the guest side driven by our client
 * library (src/client) against a real KBS listening on loopback, built in-process like test/kbs/support/harness.ts
 * (built-in AS, in-memory storage, resource policy allow_all, one stored secret).
 *
 * Reported: flows/s at 1 and 32 concurrent clients, p50/p99 flow latency, per-stage medians (auth, attest, resource),
 * memory per 10,000 live sessions, and throughput as a ratio of the crypto-only ceiling of one flow measured in the
 * same run (EAR ES256 sign + verify, JWE ECDH-ES+A256KW P-256 + A256GCM encrypt, client decrypt; target ≥ 50%).
 * Load modes: `flows` drives the KBS from a separate child process (bench/kbs-client-worker.ts), so this process holds
 * only the server and process.cpuUsage() is the server's CPU, compared with the server-side crypto (EAR sign, token
 * verify, JWE encrypt: the ratio judged against the target); `inproc` (the earlier measurement) runs client, HTTP,
 * KBS and AS on one event loop, compared with the full-flow ceiling: what one thread could do if a flow cost nothing
 * but its cryptography.
 *
 * TEE key pairs are generated before timing (a pool, one key per flow slot): key generation is the guest's cost
 * and is not part of the ceiling either.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createECDH,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
  type ECDH,
} from 'node:crypto';
import { CompactSign, FlattenedEncrypt, flattenedDecrypt, jwtVerify } from 'jose';
import type { CryptoBaseline } from './crypto.js';
import { fmtUs, measure, printSamples, type Sample } from './harness.js';
import { MemoryBackend } from '../src/storage/memory.js';
import { parseKbsConfig } from '../src/kbs/config.js';
import { createKbs, type Kbs } from '../src/kbs/bootstrap.js';
import { samplePolicy } from '../src/kbs/resource-policy.js';
import { SESSION_NAMESPACE } from '../src/kbs/session.js';
import { encryptToTeeKey } from '../src/kbs/jwe.js';
import { KbsClient } from '../src/client/kbs-client.js';
import { HttpTransport } from '../src/client/http.js';
import { TeeKeyPair } from '../src/client/tee-key.js';
import { sampleAttester, collectEvidence } from '../src/client/attester.js';
import { runtimeData } from '../src/client/runtime-data.js';
import { fork } from 'node:child_process';
import { startFloorServer } from './kbs-floor.js';
import { pino } from 'pino';
import { fileURLToPath } from 'node:url';
import { flow as guestFlow, type ChildMessage, type FlowTimes, type LoadRequest } from './kbs-client-worker.js';

const RESOURCE = 'default/key/1';
const SECRET = Buffer.from('0123456789abcdef0123456789abcdef'); // a 32-byte key, the typical KBS secret
const SESSIONS = 10_000;
const FLOW_SECONDS = Number(process.env.KBS_BENCH_SECONDS ?? 6);
/** Concurrency levels (env KBS_BENCH_CLIENTS, comma-separated; default 1,32). */
const LEVELS = (process.env.KBS_BENCH_CLIENTS ?? '1,32').split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);
/**
 * Set KBS_BENCH_PARTS to a subset of "crypto,stages,flows,floor,inproc,memory" (flows: load from a child process;
 * floor: the same load against bench/kbs-floor.ts, bare node:http and fastify servers doing only the crypto; inproc: the
 * old same-process load) to run only those parts (profiling).
 */
/** TEE keys of the child-process load: `fresh` per flow (default, as a fleet of guests) or `pool` (reused, cached). */
const KEYS = process.env.KBS_BENCH_KEYS === 'pool' ? 'pool' : 'fresh';
const PARTS = new Set((process.env.KBS_BENCH_PARTS ?? 'crypto,stages,flows,floor,inproc,memory').split(','));

interface Server {
  kbs: Kbs;
  url: string;
  storage: MemoryBackend;
  stop(): Promise<void>;
}

async function startServer(): Promise<Server> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kbs-bench-'));
  const config = parseKbsConfig({ data_dir: dataDir }, {});
  const storage = new MemoryBackend();
  // KBS_BENCH_LOGGER=info: a pino logger at that level writing to /dev/null, as bin/kbs runs (fastify then logs two
  // request lines per request). Default: no logger, as the test harness builds the KBS.
  const level = process.env.KBS_BENCH_LOGGER;
  const logger = level ? (pino({ level }, pino.destination({ dest: '/dev/null', sync: true })) as unknown as import('fastify').FastifyBaseLogger) : undefined;
  const kbs = await createKbs(config, { storage, ...(logger ? { logger } : {}) });
  await kbs.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = kbs.app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const { readFileSync } = await import('node:fs');
  const adminToken = kbs.adminTokenPath ? readFileSync(kbs.adminTokenPath, 'utf8').trim() : undefined;
  const url = `http://127.0.0.1:${port}`;
  const admin = new KbsClient({ transport: new HttpTransport({ url }), ...(adminToken ? { adminToken } : {}) });
  await admin.setResource(RESOURCE, SECRET);
  await admin.setResourcePolicy(samplePolicy('allow_all'));
  return {
    kbs,
    url,
    storage,
    async stop() {
      await kbs.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

const nowUs = () => Number(process.hrtime.bigint()) / 1000;

const flow = (url: string, teeKey: TeeKeyPair) => guestFlow(url, RESOURCE, SECRET, teeKey);

interface LoadResult {
  concurrency: number;
  flows: number;
  seconds: number;
  flowsPerSecond: number;
  /** Process CPU time (user + system, all threads: event loop, libuv pool, GC helpers) per flow, µs. */
  cpuUsPerFlow: number;
  times: FlowTimes[];
}

async function load(url: string, keys: TeeKeyPair[], concurrency: number, seconds: number): Promise<LoadResult> {
  // Warm-up: JIT, keep-alive sockets, policy caches.
  await Promise.all(Array.from({ length: concurrency }, (_, i) => flow(url, keys[i % keys.length]!)));
  const times: FlowTimes[] = [];
  const cpu0 = process.cpuUsage();
  const start = nowUs();
  const deadline = start + seconds * 1e6;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (nowUs() < deadline) times.push(await flow(url, keys[next++ % keys.length]!));
    }),
  );
  const elapsed = (nowUs() - start) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  const cpuUsPerFlow = (cpu.user + cpu.system) / times.length;
  return { concurrency, flows: times.length, seconds: elapsed, flowsPerSecond: times.length / elapsed, cpuUsPerFlow, times };
}

/**
 * The same load driven from a separate child process (bench/kbs-client-worker.ts): the server's process holds only the
 * KBS (and its built-in AS), so process.cpuUsage() here is the server's CPU. Timing runs from 'go' to 'done'.
 */
async function remoteLoad(url: string, concurrency: number, seconds: number): Promise<LoadResult> {
  const req: LoadRequest = { url, resource: RESOURCE, secretHex: SECRET.toString('hex'), concurrency, seconds, keys: KEYS };
  const child = fork(fileURLToPath(new URL('./kbs-client-worker.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, KBS_BENCH_LOAD: JSON.stringify(req) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killer = setTimeout(() => child.kill('SIGKILL'), (seconds + 90) * 1000);
  try {
    let cpu0 = process.cpuUsage();
    const done = await new Promise<Extract<ChildMessage, { type: 'done' }>>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`load child exited early (code ${code})`)));
      child.on('message', (m: ChildMessage) => {
        if (m.type === 'ready') {
          cpu0 = process.cpuUsage();
          child.send({ type: 'go' });
        } else if (m.type === 'done') resolve(m);
        else reject(new Error(`load child: ${m.message}`));
      });
    });
    const cpu = process.cpuUsage(cpu0);
    const times = done.times;
    return {
      concurrency,
      flows: times.length,
      seconds: done.seconds,
      flowsPerSecond: times.length / done.seconds,
      cpuUsPerFlow: (cpu.user + cpu.system) / times.length,
      times,
    };
  } finally {
    clearTimeout(killer);
    if (child.exitCode === null) child.kill();
    await exited;
  }
}

/**
 * With KBS_BENCH_PROFILE=DIR, the server's CPU profile over exactly one load level is written to
 * DIR/kbs-<label>.cpuprofile (open it in Chrome DevTools or any .cpuprofile viewer): the ceiling measurement and
 * start-up stay out of it.
 */
async function profiled<T>(label: string, run: () => Promise<T>): Promise<T> {
  const dir = process.env.KBS_BENCH_PROFILE;
  if (!dir) return run();
  const { Session } = await import('node:inspector/promises');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: Number(process.env.KBS_BENCH_PROFILE_INTERVAL_US ?? 1000) });
  await session.post('Profiler.start');
  try {
    return await run();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `kbs-${label}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    console.log(`server CPU profile written to ${file}`);
  }
}

function stageSample(name: string, values: number[]): Sample {
  const s = [...values].sort((a, b) => a - b);
  return { name, medianUs: percentile(s, 50), p99Us: percentile(s, 99), runs: s.length };
}

const JWE_HEADER = { alg: 'ECDH-ES+A256KW', enc: 'A256GCM' } as const;
const AESKW_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');
const UNCOMPRESSED = Buffer.from([0x04]);

/** RFC 7518 §4.6.2 Concat KDF, one SHA-256 round (256-bit KEK for A256KW). */
function concatKdf(z: Buffer): Buffer {
  const lp = (b: Buffer) => Buffer.concat([u32(b.length), b]);
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  return createHash('sha256')
    .update(Buffer.concat([u32(1), z, lp(Buffer.from(JWE_HEADER.alg)), lp(Buffer.alloc(0)), lp(Buffer.alloc(0)), u32(256)]))
    .digest();
}

/**
 * ECDH-ES+A256KW / A256GCM decryption with the fastest node:crypto primitives: the TEE private key loaded once into
 * a node ECDH object (as src/client/jwe.ts does, per key), the peer point passed as raw bytes (no KeyObject import).
 */
function rawDecrypt(jwe: { protected: string; encrypted_key: string; iv: string; ciphertext: string; tag: string }, tee: ECDH): Buffer {
  const hdr = JSON.parse(Buffer.from(jwe.protected, 'base64url').toString('utf8')) as { epk: { x: string; y: string } };
  const point = Buffer.concat([UNCOMPRESSED, Buffer.from(hdr.epk.x, 'base64url'), Buffer.from(hdr.epk.y, 'base64url')]);
  const kek = concatKdf(tee.computeSecret(point));
  const unwrap = createDecipheriv('id-aes256-wrap', kek, AESKW_IV);
  const cek = Buffer.concat([unwrap.update(Buffer.from(jwe.encrypted_key, 'base64url')), unwrap.final()]);
  const d = createDecipheriv('aes-256-gcm', cek, Buffer.from(jwe.iv, 'base64url'));
  d.setAAD(Buffer.from(jwe.protected, 'ascii'));
  d.setAuthTag(Buffer.from(jwe.tag, 'base64url'));
  return Buffer.concat([d.update(Buffer.from(jwe.ciphertext, 'base64url')), d.final()]);
}

/**
 * ECDH-ES+A256KW (P-256) / A256GCM encryption with the fastest node:crypto primitives: ephemeral key and ECDH through
 * node's ECDH class (raw points, no KeyObjects, no JWK export), Concat KDF, AES key wrap, GCM.
 */
function rawEncrypt(plaintext: Buffer, teePoint: Buffer) {
  const eph = createECDH('prime256v1');
  const p = eph.generateKeys();
  const epk = { crv: 'P-256', kty: 'EC', x: p.subarray(1, 33).toString('base64url'), y: p.subarray(33).toString('base64url') };
  const protectedB64 = Buffer.from(JSON.stringify({ ...JWE_HEADER, epk })).toString('base64url');
  const kek = concatKdf(eph.computeSecret(teePoint));
  const cek = randomBytes(32);
  const iv = randomBytes(12);
  const wrap = createCipheriv('id-aes256-wrap', kek, AESKW_IV);
  const encryptedKey = Buffer.concat([wrap.update(cek), wrap.final()]);
  const c = createCipheriv('aes-256-gcm', cek, iv);
  c.setAAD(Buffer.from(protectedB64, 'ascii'));
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return {
    protected: protectedB64,
    encrypted_key: encryptedKey.toString('base64url'),
    iv: iv.toString('base64url'),
    ciphertext: ct.toString('base64url'),
    tag: c.getAuthTag().toString('base64url'),
  };
}

function sumSample(name: string, parts: Sample[]): Sample {
  return {
    name,
    medianUs: parts.reduce((a, p) => a + p.medianUs, 0),
    p99Us: parts.reduce((a, p) => a + p.p99Us, 0),
    runs: Math.min(...parts.map((p) => p.runs)),
  };
}

interface Ceiling {
  raw: Sample[];
  jose: Sample[];
}

/**
 * The cryptography one flow cannot avoid: EAR token ES256 sign + verify, JWE ECDH-ES+A256KW (P-256) + A256GCM
 * encryption, and the client's decryption. Measured twice: with node:crypto primitives only (the ceiling the target
 * is judged against) and with jose, the library the AS, the KBS and the client actually use.
 */
async function cryptoCeiling(): Promise<Ceiling> {
  const signer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const tee = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const { kty, crv, x, y } = signer.publicKey.export({ format: 'jwk' });
  const header = { alg: 'ES256', typ: 'JWT', jwk: { kty, crv, x, y, alg: 'ES256' } as import('jose').JWK };
  const claims = Buffer.from(
    JSON.stringify({ eat_profile: 'tag:github.com,2023:veraison/ear', iat: 1, exp: 4_000_000_000, iss: 'CoCo-Attestation-Service', submods: {} }),
  );
  const signingInput = Buffer.from(`${Buffer.from(JSON.stringify(header)).toString('base64url')}.${claims.toString('base64url')}`);
  const p1363 = { dsaEncoding: 'ieee-p1363' as const };
  const rawSig = sign('sha256', signingInput, { key: signer.privateKey, ...p1363 });
  const token = await new CompactSign(claims).setProtectedHeader(header).sign(signer.privateKey);
  const joseJwe = await new FlattenedEncrypt(SECRET).setProtectedHeader(JWE_HEADER).encrypt(tee.publicKey);
  // Raw P-256 forms of the TEE key: the public point (what the KBS gets as tee-pubkey x/y) and an ECDH object holding
  // the private scalar (built once per key, as the client does).
  const teeJwk = tee.privateKey.export({ format: 'jwk' });
  const teePoint = Buffer.concat([UNCOMPRESSED, Buffer.from(teeJwk.x!, 'base64url'), Buffer.from(teeJwk.y!, 'base64url')]);
  const teeEcdh = createECDH('prime256v1');
  teeEcdh.setPrivateKey(Buffer.from(teeJwk.d!, 'base64url'));
  const rawJwe = rawEncrypt(SECRET, teePoint);
  // The raw path must be the same algorithm as jose's, or the ceiling would be a lie: check both directions.
  if (!rawDecrypt(joseJwe as Parameters<typeof rawDecrypt>[0], teeEcdh).equals(SECRET)) throw new Error('raw decrypt of a jose JWE failed');
  const back = await flattenedDecrypt(rawJwe, tee.privateKey, { keyManagementAlgorithms: ['ECDH-ES+A256KW'], contentEncryptionAlgorithms: ['A256GCM'] });
  if (!Buffer.from(back.plaintext).equals(SECRET)) throw new Error('jose decrypt of a raw JWE failed');

  const w = { warmup: 100 };
  const raw = [
    await measure('raw ES256 sign (node:crypto)', () => sign('sha256', signingInput, { key: signer.privateKey, ...p1363 }), w),
    await measure('raw ES256 verify (node:crypto)', () => verify('sha256', signingInput, { key: signer.publicKey, ...p1363 }, rawSig), w),
    await measure('raw JWE encrypt (ephemeral key, ECDH, KW, GCM)', () => rawEncrypt(SECRET, teePoint), w),
    await measure('raw JWE decrypt (ECDH, unwrap, GCM)', () => rawDecrypt(rawJwe, teeEcdh), w),
  ];
  raw.push(sumSample('raw crypto per flow (sum of medians)', raw));
  const opts = { keyManagementAlgorithms: ['ECDH-ES+A256KW'], contentEncryptionAlgorithms: ['A256GCM'] };
  const jose = [
    await measure('jose EAR token ES256 sign', () => new CompactSign(claims).setProtectedHeader(header).sign(signer.privateKey), w),
    await measure('jose EAR token ES256 verify', () => jwtVerify(token, signer.publicKey, { algorithms: ['ES256'] }), w),
    await measure('jose JWE ECDH-ES+A256KW P-256 + A256GCM encrypt', () => new FlattenedEncrypt(SECRET).setProtectedHeader(JWE_HEADER).encrypt(tee.publicKey), w),
    await measure('jose JWE decrypt (client side)', () => flattenedDecrypt(joseJwe, tee.privateKey, opts), w),
  ];
  jose.push(sumSample('jose crypto per flow (sum of medians)', jose));
  return { raw, jose };
}

/** The server-side steps of a flow, called in-process (no HTTP), to see where the time goes. */
async function serverStages(server: Server, tee: TeeKeyPair): Promise<Sample[]> {
  const ctx = server.kbs.ctx;
  const as = ctx.as;
  if (!as) return [];
  const nonce = Buffer.alloc(32, 1).toString('base64');
  const rd = runtimeData(nonce, tee.publicJwk);
  const ev = await collectEvidence({ primary: sampleAttester, devices: [] }, rd, 'sha384');
  const request = {
    tee: 'sample',
    evidence: ev.primary_evidence as import('../src/verifiers/types.js').Json,
    runtimeData: { kind: 'structured' as const, json: { 'additional-evidence': '', nonce, 'tee-pubkey': rd['tee-pubkey'] as unknown as import('../src/verifiers/types.js').Json } },
    runtimeDataHashAlgorithm: 'sha384' as const,
  };
  const token = await as.evaluate([request], ['default']);
  const now = new Date();
  const claims = await ctx.tokens.verify(token, now);
  const teePubKey = (claims as Record<string, any>).submods?.cpu0?.['ear.veraison.annotated-evidence']?.runtime_data_claims?.['tee-pubkey'] ?? rd['tee-pubkey'];
  const out: Sample[] = [];
  out.push(await measure('AS evaluate (sample verify + policy + EAR sign)', () => as.evaluate([request], ['default']), { warmup: 50 }));
  out.push(await measure('KBS token verify', () => ctx.tokens.verify(token, now), { warmup: 50 }));
  out.push(
    await measure('KBS resource policy (allow_all)', () => ctx.resourcePolicy.allows({ plugin: 'resource', resourcePath: RESOURCE.split('/'), query: {} }, claims, now), {
      warmup: 50,
    }),
  );
  out.push(await measure('KBS JWE encrypt to tee-pubkey', () => encryptToTeeKey(teePubKey, SECRET), { warmup: 50 }));
  return out;
}

function gcFunction(): { gc?: () => void; how: string } {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return { gc: g, how: 'global.gc (--expose-gc)' };
  try {
    setFlagsFromString('--expose-gc');
    const f = runInNewContext('gc') as unknown;
    if (typeof f === 'function') return { gc: f as () => void, how: 'gc exposed at run time via v8.setFlagsFromString' };
  } catch {
    /* fall through */
  }
  return { how: 'no GC available (run node with --expose-gc): numbers include garbage' };
}

async function sessionMemory(server: Server): Promise<void> {
  const url = server.url;
  const sessionsKv = await server.storage.open(SESSION_NAMESPACE);
  const { gc, how } = gcFunction();
  const teeKey = TeeKeyPair.generate(); // /auth does not use it; avoids a key generation per session
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      gc?.();
      await new Promise((r) => setImmediate(r));
    }
  };
  // Warm the auth path so lazily created objects are not counted as session cost.
  for (let i = 0; i < 100; i++) await new KbsClient({ transport: new HttpTransport({ url }), teeKey }).auth();
  await settle();
  const liveBefore = (await sessionsKv.list()).length;
  const before = process.memoryUsage();
  let made = 0;
  const t0 = nowUs();
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (made < SESSIONS) {
        made++;
        await new KbsClient({ transport: new HttpTransport({ url }), teeKey }).auth();
      }
    }),
  );
  const authSeconds = (nowUs() - t0) / 1e6;
  await settle();
  const after = process.memoryUsage();
  const live = (await sessionsKv.list()).length - liveBefore;
  const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
  console.log(`\n## KBS: memory per ${SESSIONS.toLocaleString('en')} live sessions (/auth only, in-memory session store; ${how})`);
  const line = (label: string, d: number) => console.log(`${label.padEnd(34)} ${mb(d).padStart(10)}  (${(d / live).toFixed(0)} B/session)`);
  line('JS heap used delta', after.heapUsed - before.heapUsed);
  line('external (Buffers, off-heap) delta', after.external - before.external);
  line('heap + external delta', after.heapUsed - before.heapUsed + after.external - before.external);
  line('RSS delta', after.rss - before.rss);
  console.log(`${live} new live sessions in the store (${made} /auth calls) in ${authSeconds.toFixed(2)} s (${(made / authSeconds).toFixed(0)} auth/s at 32 clients)`);
}

export async function benchKbs(baseline: CryptoBaseline): Promise<void> {
  void baseline;
  let server: Server;
  try {
    server = await startServer();
  } catch (e) {
    console.log(`\n## KBS: skipped, cannot start an in-process KBS: ${(e as Error).message}`);
    return;
  }
  try {
    // Memory first, while the process is fresh, so RSS is not hidden by memory freed from earlier load.
    if (PARTS.has('memory')) await sessionMemory(server);
    const ceiling = await cryptoCeiling();
    const ceilingFps = 1e6 / ceiling.raw[ceiling.raw.length - 1]!.medianUs;
    const joseFps = 1e6 / ceiling.jose[ceiling.jose.length - 1]!.medianUs;
    printSamples('KBS: the crypto one flow needs, node:crypto primitives (the ceiling)', ceiling.raw);
    printSamples('KBS: the same crypto through jose (what the code uses)', ceiling.jose);
    console.log(`crypto-only ceiling: ${ceilingFps.toFixed(0)} flows/s on one thread (through jose: ${joseFps.toFixed(0)} flows/s)`);

    const keys = Array.from({ length: 64 }, () => TeeKeyPair.generate());
    if (PARTS.has('stages')) printSamples('KBS: server-side steps called in-process (no HTTP)', await serverStages(server, keys[0]!));

    const ceilingUs = ceiling.raw[ceiling.raw.length - 1]!.medianUs;
    // The crypto the KBS process itself must do per flow (AS EAR sign, KBS token verify, JWE encrypt): the client's
    // decryption is the guest's work and runs in the load process.
    const serverCeilingUs = ceiling.raw[0]!.medianUs + ceiling.raw[1]!.medianUs + ceiling.raw[2]!.medianUs;
    console.log(
      `server-side crypto per flow (ES256 sign + verify + JWE encrypt): ${fmtUs(serverCeilingUs)} → ceiling ${(1e6 / serverCeilingUs).toFixed(0)} flows/s per server core`,
    );
    const kbsByLevel = new Map<number, LoadResult>();
    const report = (r: LoadResult, mode: 'process' | 'inproc') => {
      const c = r.concurrency;
      const totals = r.times.map((t) => t.total).sort((a, b) => a - b);
      const head = `${`${c} client${c > 1 ? 's' : ''}`.padEnd(10)} ${r.flowsPerSecond.toFixed(0).padStart(6)} flows/s  p50 ${fmtUs(percentile(totals, 50)).padStart(10)}  p99 ${fmtUs(percentile(totals, 99)).padStart(10)}  (${r.flows} flows)`;
      if (mode === 'process') {
        const pct = (100 * serverCeilingUs) / r.cpuUsPerFlow;
        console.log(head);
        console.log(
          `${''.padEnd(10)} server CPU ${fmtUs(r.cpuUsPerFlow)} per flow (KBS process, all its threads) → server-side crypto is ${pct.toFixed(0)}% of it ` +
            `(target ≥ 50%: ${pct >= 50 ? 'met' : 'NOT met'}); server CPU = ${((100 * ceilingUs) / r.cpuUsPerFlow).toFixed(0)}% efficiency vs the full-flow ceiling ${fmtUs(ceilingUs)}; ` +
            `flows/s = ${((100 * r.flowsPerSecond) / ceilingFps).toFixed(0)}% of the full ceiling`,
        );
      } else {
        const pct = (100 * r.flowsPerSecond) / ceilingFps;
        console.log(`${head}  ${pct.toFixed(0)}% of crypto-only ceiling (${((100 * r.flowsPerSecond) / joseFps).toFixed(0)}% of the jose ceiling)`);
        console.log(`${''.padEnd(10)} CPU ${fmtUs(r.cpuUsPerFlow)} per flow (client + server, one process), ${((100 * ceilingUs) / r.cpuUsPerFlow).toFixed(0)}% of it is the crypto ceiling's ${fmtUs(ceilingUs)}`);
      }
      printSamples(`KBS: stage latency seen by the client at ${c} client${c > 1 ? 's' : ''} (${mode === 'process' ? 'load in a child process' : 'in-process load'})`, [
        stageSample('auth    (POST /auth)', r.times.map((t) => t.auth)),
        stageSample('attest  (evidence + POST /attest)', r.times.map((t) => t.attest)),
        stageSample('resource (GET /resource + decrypt)', r.times.map((t) => t.resource)),
        stageSample('whole flow', totals),
      ]);
    };
    if (PARTS.has('flows')) {
      console.log(`\n## KBS: RCAR flows, load from a separate process (server alone in this process), loopback HTTP, ${FLOW_SECONDS} s per level`);
      for (const c of LEVELS) {
        const r = await profiled(`flows-${c}`, () => remoteLoad(server.url, c, FLOW_SECONDS));
        kbsByLevel.set(c, r);
        report(r, 'process');
      }
    }
    if (PARTS.has('floor')) {
      for (const viaFastify of [false, true]) {
        const floor = await startFloorServer(SECRET, { fastify: viaFastify });
        const what = viaFastify ? 'the same handler routed by fastify' : 'a bare node:http server';
        try {
          console.log(`\n## KBS floor: the same load against ${what} doing only the crypto of a flow (bench/kbs-floor.ts; not a KBS)`);
          for (const c of LEVELS) {
            const r = await profiled(`floor${viaFastify ? '-fastify' : ''}-${c}`, () => remoteLoad(floor.url, c, FLOW_SECONDS));
            report(r, 'process');
            const k = kbsByLevel.get(c);
            if (k) {
              console.log(
                `${''.padEnd(10)} KBS vs this floor at ${c} client${c > 1 ? 's' : ''}: flows/s ${((100 * k.flowsPerSecond) / r.flowsPerSecond).toFixed(0)}% of the floor's, ` +
                  `server CPU per flow ${(k.cpuUsPerFlow / r.cpuUsPerFlow).toFixed(2)}× the floor's`,
              );
            }
          }
        } finally {
          await floor.close();
        }
      }
    }
    if (PARTS.has('inproc')) {
      console.log(`\n## KBS: RCAR flows, client and server in ONE process (the earlier measurement, for continuity), ${FLOW_SECONDS} s per level`);
      for (const c of LEVELS) report(await load(server.url, keys, c, FLOW_SECONDS), 'inproc');
    }

  } finally {
    await server.stop();
  }
}
