// `[http_server] worker_count`: the real bin/kbs as a node:cluster primary with N workers on one socket.
//  - worker_count = 2 on LocalFs (storage and sessions): full RCAR flows through the client library, each request on
//    a fresh connection, all succeed and are served by both workers (told apart by the `worker` field of the
//    request log lines); the embedded admin token created by the primary works on both; one nonce gives one token
//    when the same /attest goes to both workers at once; /metrics (asked of either worker) counts every
//    worker's requests; a SIGKILLed worker is replaced and flows keep working; SIGTERM stops everything with exit 0;
//  - TLS on the shared socket; a worker that cannot start stops the KBS with its exit code, after one fork only;
//  - Memory / LocalJson sessions or storage with worker_count > 1: exit 2 naming the key, before any fork;
//  - worker_count = 1: one process, as before; 0 or 5000: config error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../support/testdata.js';
import { HttpTransport, type HttpRequest, type HttpResponse, type Transport } from '../../src/client/http.js';
import type { ClientStep } from '../../src/client/errors.js';
import { KbsClient } from '../../src/client/kbs-client.js';
import { TeeKeyPair } from '../../src/client/tee-key.js';
import { samplePolicy } from '../../src/kbs/resource-policy.js';
import { parseKbsConfig } from '../../src/kbs/config.js';
import { ConfigError } from '../../src/util/config-error.js';
import { runFlow, runFlows, type FlowOutcome } from '../cluster/support/flows.js';
import { makeTlsServerCert } from './support/pki.js';
import { startKbs } from './support/harness.js';

const BIN = join(repoRoot, 'bin', 'kbs');
const START_TIMEOUT_MS = 60_000;

/** One JSON log line of bin/kbs (pino). */
interface LogLine {
  level: number;
  pid: number;
  msg: string;
  worker?: number;
  req?: { method: string; url: string };
}

/** A running bin/kbs: its stdout as parsed log lines, and helpers to wait for lines and for its exit. */
class KbsProcess {
  readonly lines: LogLine[] = [];
  private raw = '';
  private waiters: Array<() => void> = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly proc: ChildProcess) {
    proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.raw += chunk;
      let nl: number;
      while ((nl = this.raw.indexOf('\n')) >= 0) {
        const line = this.raw.slice(0, nl);
        this.raw = this.raw.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          this.lines.push({ level: 0, pid: 0, msg: line });
        }
      }
      for (const w of this.waiters) w();
    });
    proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => this.lines.push({ level: 0, pid: 0, msg: `stderr: ${chunk}` }));
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  }

  static start(configFile: string, env: NodeJS.ProcessEnv = {}): KbsProcess {
    const e: NodeJS.ProcessEnv = { ...process.env, KBS_LOG_LEVEL: 'info', ...env };
    delete e.KBS_CONFIG_FILE;
    return new KbsProcess(spawn(process.execPath, [BIN, '-c', configFile], { env: e, stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  text(): string {
    return this.lines.map((l) => (l.worker !== undefined ? `[w${l.worker}] ${l.msg}` : l.msg)).join('\n');
  }

  /** The first line (at index ≥ `from`) matching `pred`; fails after `ms` or when the process exits first. */
  async waitFor(pred: (l: LogLine) => boolean, what: string, ms = START_TIMEOUT_MS, from = 0): Promise<LogLine> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.lines.slice(from).find(pred);
      if (hit) return hit;
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) throw new Error(`bin/kbs exited before "${what}":\n${this.text().slice(-4000)}`);
      if (Date.now() > deadline) throw new Error(`no "${what}" within ${ms} ms:\n${this.text().slice(-4000)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
      this.waiters = [];
    }
  }

  async url(): Promise<string> {
    const l = await this.waitFor((x) => /^KBS listening on /.test(x.msg), 'KBS listening on');
    return /(https?:\/\/[^\s,]+)/.exec(l.msg)![1]!;
  }

  /** SIGTERM, then SIGKILL if still running after `ms`; the exit status. */
  async stop(ms = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), ms);
    try {
      return await this.exited;
    } finally {
      clearTimeout(t);
    }
  }

  /** `worker` id → count of request log lines ("incoming request") whose URL satisfies `url`. */
  requestsByWorker(url: (u: string) => boolean, from = 0): Map<number, number> {
    const by = new Map<number, number>();
    for (const l of this.lines.slice(from)) {
      if (l.msg === 'incoming request' && l.req && url(l.req.url) && l.worker !== undefined) by.set(l.worker, (by.get(l.worker) ?? 0) + 1);
    }
    return by;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Every request on its own TCP connection (`Connection: close`), so that node:cluster's round-robin hands
 * consecutive requests of one guest to different workers. Counts the requests per step.
 */
class FreshConnectionTransport implements Transport {
  readonly inner: HttpTransport;
  readonly sent = new Map<ClientStep, number>();

  constructor(url: string) {
    this.inner = new HttpTransport({ url });
  }

  request(step: ClientStep, req: HttpRequest): Promise<HttpResponse> {
    this.sent.set(step, (this.sent.get(step) ?? 0) + 1);
    return this.inner.request(step, { ...req, headers: { ...req.headers, connection: 'close' } });
  }
}

/** Like FreshConnectionTransport, but every `attest` is sent `copies` times at once (same cookie, same body). */
class FanOutAttestTransport extends FreshConnectionTransport {
  attestStatuses: number[] = [];
  attestTokens: string[] = [];

  constructor(url: string, private readonly copies: number) {
    super(url);
  }

  override async request(step: ClientStep, req: HttpRequest): Promise<HttpResponse> {
    if (step !== 'attest') return super.request(step, req);
    const all = await Promise.all(Array.from({ length: this.copies }, () => super.request(step, req)));
    this.attestStatuses = all.map((r) => r.status);
    this.attestTokens = all.filter((r) => r.status === 200).map((r) => (JSON.parse(r.body.toString('utf8')) as { token: string }).token);
    return all.find((r) => r.status === 200) ?? all[0]!;
  }
}

function writeConfig(dir: string, body: string): string {
  const file = join(dir, 'kbs.toml');
  writeFileSync(file, `data_dir = ${JSON.stringify(join(dir, 'data'))}\n${body}`);
  return file;
}

const localFs = (dir: string) => `[storage_backend]
storage_type = "LocalFs"
[storage_backend.backends.local_fs]
dir_path = ${JSON.stringify(join(dir, 'storage'))}
`;

/** The value of an unlabelled sample in Prometheus text, or of one with exactly the `labels` given. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const re = new RegExp(`^${name}${labels ? `\\{${labels.replace(/[{}"]/g, (c) => `\\${c}`)}\\}` : ''} ([0-9.e+-]+)$`, 'm');
  const m = re.exec(text);
  return m ? Number(m[1]) : undefined;
}

async function get(url: string): Promise<{ status: number; text: string }> {
  const r = await new FreshConnectionTransport(url).request('resource', { method: 'GET', path: '' });
  return { status: r.status, text: r.body.toString('utf8') };
}

function mustAllSucceed(outcomes: FlowOutcome[], what: string): void {
  const bad = outcomes.filter((o) => o.kind !== 'ok');
  assert.deepEqual(bad, [], `${what}: every flow gets its secret`);
}

test('worker_count = 2 on LocalFs: flows over both workers, one nonce one 200, summed /metrics, restart, SIGTERM', { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-workers-'));
  const kbs = KbsProcess.start(writeConfig(dir, `session_storage_type = "LocalFs"\n[http_server]\nsockets = ["127.0.0.1:0"]\nworker_count = 2\n${localFs(dir)}`));
  t.after(async () => {
    await kbs.stop(2_000);
    rmSync(dir, { recursive: true, force: true });
  });
  const url = await kbs.url();
  // `/metrics` is not under /kbs: it lives at the server root like /healthz.
  const root = url;
  const workerPids = () => {
    const m = new Map<number, number>();
    for (const l of kbs.lines) if (l.worker !== undefined && l.worker > 0 && l.msg.startsWith('listening on ')) m.set(l.worker, l.pid);
    return m;
  };
  const primaryPid = kbs.proc.pid!;
  assert.deepEqual([...workerPids().keys()].sort(), [1, 2], 'two workers listening');
  assert.ok([...workerPids().values()].every((p) => p !== primaryPid), 'workers are separate processes');
  assert.match(kbs.text(), /admin token: .*admin-token/);
  assert.equal(kbs.lines.filter((l) => /created embedded admin key/.test(l.msg)).length, 1, 'the admin key is created once, by the primary');
  assert.ok(kbs.lines.filter((l) => /created embedded admin key/.test(l.msg)).every((l) => l.worker === 0));

  const adminToken = readFileSync(join(dir, 'data', 'admin-token'), 'utf8').trim();
  const admin = () => new KbsClient({ transport: new FreshConnectionTransport(url), adminToken });
  const secrets = Array.from({ length: 4 }, () => randomBytes(32));
  const mark = kbs.lines.length;
  await admin().setResourcePolicy(samplePolicy('allow_all'));
  for (const [i, s] of secrets.entries()) await admin().setResource(`workers/test/${i}`, s);
  const adminBy = kbs.requestsByWorker((u) => u.startsWith('/kbs/v0/resource'), mark);
  assert.equal(adminBy.size, 2, `admin writes served by both workers, each accepting the primary's admin key: ${[...adminBy]}`);

  const FLOWS = 40;
  let authSent = 0;
  await t.test(`${FLOWS} RCAR flows, a fresh connection per request, all succeed on both workers`, async () => {
    const from = kbs.lines.length;
    const transports: FreshConnectionTransport[] = [];
    const outcomes = await runFlows(FLOWS, 4, async (i) => {
      const tr = new FreshConnectionTransport(url);
      transports.push(tr);
      return runFlow(tr, TeeKeyPair.generate(), `workers/test/${i % secrets.length}`, secrets[i % secrets.length]!);
    });
    assert.equal(outcomes.length, FLOWS);
    mustAllSucceed(outcomes, 'flows');
    authSent = transports.reduce((n, tr) => n + (tr.sent.get('auth') ?? 0), 0);
    assert.ok(authSent >= FLOWS);
    for (const [what, path] of [['auth', '/kbs/v0/auth'], ['attest', '/kbs/v0/attest'], ['resource', '/kbs/v0/resource/']] as const) {
      const by = kbs.requestsByWorker((u) => u.startsWith(path), from);
      assert.deepEqual([...by.keys()].sort(), [1, 2], `${what} requests served by both workers: ${[...by]}`);
      if (what === 'auth') assert.equal([...by.values()].reduce((a, b) => a + b, 0), authSent, 'every /auth sent was served');
    }
  });

  await t.test('/metrics on either worker reports the whole KBS', async () => {
    const from = kbs.lines.length;
    for (let i = 0; i < 4; i++) {
      const r = await get(`${root}/metrics`);
      assert.equal(r.status, 200, r.text);
      assert.equal(sample(r.text, 'kbs_auth_requests_total'), authSent, 'kbs_auth_requests_total counts the /auth calls of both workers');
      assert.equal(sample(r.text, 'kbs_auth_successes_total'), authSent);
      assert.equal(sample(r.text, 'kbs_attestation_successes_total', 'tee_type="sample"'), FLOWS, 'one attestation per flow, summed over workers');
      assert.equal(sample(r.text, 'kbs_build_info', 'version="0.1.0",git_hash="unknown",build_date="unknown"'), 1, 'build info is not multiplied');
      assert.equal(sample(r.text, 'kbs_http_active_connections'), 0, 'no request in flight (gauges sum)');
      assert.ok((sample(r.text, 'kbs_http_requests_total', 'method="POST",status="200"') ?? 0) >= 2 * FLOWS);
    }
    assert.deepEqual([...kbs.requestsByWorker((u) => u === '/metrics', from).keys()].sort(), [1, 2], 'asked of both workers');
  });

  await t.test('one nonce, one attestation: the same /attest sent to both workers at once', async () => {
    for (let round = 0; round < 3; round++) {
      const from = kbs.lines.length;
      const tr = new FanOutAttestTransport(url, 6);
      const client = new KbsClient({ transport: tr, teeKey: TeeKeyPair.generate() });
      const token = await client.attest(await client.auth());
      // One token per nonce: a copy that lost the race gets 401; one that arrives after the token was stored finds the
      // session Attested and gets that same token (§2.6), never a second attestation.
      assert.deepEqual([...new Set(tr.attestTokens)], [token], `one token for the nonce among ${tr.attestStatuses.join(',')}`);
      assert.ok(tr.attestStatuses.every((s) => s === 200 || s === 401), `the others refused with 401: ${tr.attestStatuses.join(',')}`);
      const by = kbs.requestsByWorker((u) => u === '/kbs/v0/attest', from);
      assert.deepEqual([...by.keys()].sort(), [1, 2], `the copies reached both workers: ${[...by]}`);
    }
  });

  await t.test('a SIGKILLed worker is replaced; flows keep working meanwhile and after', async () => {
    const pids = workerPids();
    const victimPid = pids.get(1)!;
    const from = kbs.lines.length;
    process.kill(victimPid, 'SIGKILL');
    await kbs.waitFor((l) => l.worker === 0 && /worker 1 \(pid \d+\) exited unexpectedly \(signal SIGKILL\): starting a replacement/.test(l.msg), 'replacement scheduled', 10_000, from);
    const during = await runFlows(10, 2, async (i) => runFlow(new FreshConnectionTransport(url), TeeKeyPair.generate(), `workers/test/${i % 4}`, secrets[i % 4]!));
    mustAllSucceed(during, 'flows while one worker is being replaced');
    const ready = await kbs.waitFor((l) => l.worker !== undefined && l.worker > 2 && l.msg.startsWith('listening on '), 'replacement listening', 60_000, from);
    assert.notEqual(ready.pid, victimPid);
    assert.ok(kbs.lines.slice(from).some((l) => l.worker === 0 && new RegExp(`worker ${ready.worker} \\(pid ${ready.pid}\\) starting, replacing worker 1`).test(l.msg)));
    const after = kbs.lines.length;
    const outcomes = await runFlows(20, 4, async (i) => runFlow(new FreshConnectionTransport(url), TeeKeyPair.generate(), `workers/test/${i % 4}`, secrets[i % 4]!));
    mustAllSucceed(outcomes, 'flows after the replacement');
    const by = kbs.requestsByWorker((u) => u.startsWith('/kbs/v0/'), after);
    assert.deepEqual([...by.keys()].sort((a, b) => a - b), [2, ready.worker!], `served by the survivor and the replacement: ${[...by]}`);
    assert.equal(isAlive(victimPid), false);
  });

  await t.test('SIGTERM to the primary stops every worker; all exit 0', async () => {
    const pids = [...workerPids().values()].filter(isAlive);
    assert.equal(pids.length, 2);
    const { code, signal } = await kbs.stop();
    assert.equal(signal, null);
    assert.equal(code, 0, kbs.text().slice(-2000));
    assert.deepEqual(pids.filter(isAlive), [], 'no worker left behind');
    assert.ok(kbs.lines.filter((l) => l.msg === 'SIGTERM: shutting down' && l.worker !== undefined && l.worker > 0).length >= 2, 'each worker shut down gracefully');
    assert.equal(kbs.lines.filter((l) => /stopped with/.test(l.msg)).length, 0);
  });
});

test('worker_count = 2 with TLS: both workers serve HTTPS on the shared socket', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-workers-tls-'));
  const cert = await makeTlsServerCert('localhost');
  writeFileSync(join(dir, 'key.pem'), cert.keyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'cert.pem'), cert.certPem);
  const kbs = KbsProcess.start(
    writeConfig(
      dir,
      `session_storage_type = "LocalFs"\n[http_server]\nsockets = ["127.0.0.1:0"]\nworker_count = 2\nprivate_key = ${JSON.stringify(join(dir, 'key.pem'))}\ncertificate = ${JSON.stringify(join(dir, 'cert.pem'))}\n${localFs(dir)}`,
    ),
  );
  t.after(async () => {
    await kbs.stop(2_000);
    rmSync(dir, { recursive: true, force: true });
  });
  const url = await kbs.url();
  assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const port = Number(new URL(url).port);
  const from = kbs.lines.length;
  for (let i = 0; i < 6; i++) {
    const status = await new Promise<number>((resolve, reject) => {
      const body = JSON.stringify({ version: '0.4.0', tee: 'sample', 'extra-params': '' });
      const r = httpsRequest(
        { host: '127.0.0.1', port, servername: 'localhost', ca: [cert.caPem], path: '/kbs/v0/auth', method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      r.on('error', reject);
      r.end(body);
    });
    assert.equal(status, 200);
  }
  assert.deepEqual([...kbs.requestsByWorker((u) => u === '/kbs/v0/auth', from).keys()].sort(), [1, 2], 'HTTPS requests served by both workers');
  const { code } = await kbs.stop();
  assert.equal(code, 0);
});

test('a worker that cannot start stops the KBS with its exit code, after one fork', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-workers-bad-'));
  try {
    // The TLS key is read when a worker listens: only a worker can find it missing.
    const cfg = writeConfig(
      dir,
      `session_storage_type = "LocalFs"\n[http_server]\nsockets = ["127.0.0.1:0"]\nworker_count = 4\nprivate_key = ${JSON.stringify(join(dir, 'missing-key.pem'))}\ncertificate = ${JSON.stringify(join(dir, 'missing-cert.pem'))}\n${localFs(dir)}`,
    );
    const kbs = KbsProcess.start(cfg);
    const timer = setTimeout(() => kbs.proc.kill('SIGKILL'), 45_000);
    const { code } = await kbs.exited;
    clearTimeout(timer);
    assert.equal(code, 2, kbs.text());
    assert.match(kbs.text(), /\[w1\] configuration error: config key "http_server\.private_key": cannot read TLS key or certificate/);
    assert.ok(!kbs.lines.some((l) => /worker 2 .*starting/.test(l.msg)), 'no second worker was forked');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('worker_count > 1 refuses per-process sessions or storage: exit 2, one line naming the key, no fork', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-workers-mem-'));
  try {
    const cases: Array<[string, string, RegExp]> = [
      ['Memory sessions', `session_storage_type = "Memory"\n[http_server]\nworker_count = 2\n${localFs(dir)}`, /session_storage_type = "LocalFs"/],
      ['LocalJson sessions', `session_storage_type = "LocalJson"\n[http_server]\nworker_count = 2\n${localFs(dir)}`, /session storage is "LocalJson"/],
      ['Memory storage (no [storage_backend])', `session_storage_type = "Redis"\n[http_server]\nworker_count = 3\n`, /storage_type is "Memory": set storage_type = "LocalFs"/],
    ];
    for (const [what, body, hint] of cases) {
      const r = spawnSync(process.execPath, [BIN, '-c', writeConfig(dir, body)], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, KBS_CONFIG_FILE: '' } });
      assert.equal(r.status, 2, `${what}: ${r.stdout}${r.stderr}`);
      const errors = r.stdout.split('\n').filter((l) => l.includes('"level":50'));
      assert.equal(errors.length, 1, `${what}: one error line: ${r.stdout}`);
      const msg = (JSON.parse(errors[0]!) as LogLine).msg;
      assert.match(msg, /^configuration error: config key "http_server\.worker_count": /, what);
      assert.match(msg, hint, what);
      assert.doesNotMatch(r.stdout, /worker 1 .*starting/, `${what}: nothing forked`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('worker_count = 1 is the single process of before; absent too', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-workers-one-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Memory sessions are fine with one process.
  const kbs = KbsProcess.start(writeConfig(dir, `[http_server]\nsockets = ["127.0.0.1:0"]\nworker_count = 1\n${localFs(dir)}`));
  try {
    const url = await kbs.url();
    assert.doesNotMatch(kbs.text(), /workers\)|starting \d+ workers/);
    assert.ok(kbs.lines.every((l) => l.worker === undefined), 'no worker field: no cluster');
    assert.ok(kbs.lines.every((l) => l.pid === kbs.proc.pid || l.pid === 0), 'every line from the one process');
    const before = await get(`${url}/metrics`);
    assert.equal(before.status, 200);
    const r = await new FreshConnectionTransport(url).request('auth', { method: 'POST', path: '/kbs/v0/auth', body: JSON.stringify({ version: '0.4.0', tee: 'sample', 'extra-params': '' }) });
    assert.equal(r.status, 200);
    const m = await get(`${url}/metrics`);
    assert.equal(sample(m.text, 'kbs_auth_requests_total'), 1);
    assert.equal(sample(m.text, 'kbs_build_info', 'version="0.1.0",git_hash="unknown",build_date="unknown"'), 1);
  } finally {
    const { code } = await kbs.stop();
    assert.equal(code, 0);
  }
  assert.equal(parseKbsConfig({ http_server: {} }, {}).httpServer.workerCount, undefined);
  assert.equal(parseKbsConfig({ http_server: { worker_count: 1 } }, {}).httpServer.workerCount, 1);
});

test('worker_count = 0 or 5000 (or not an integer) is a config error', { timeout: 60_000 }, () => {
  for (const v of [0, 5000, -1, 2.5, '2']) {
    assert.throws(
      () => parseKbsConfig({ http_server: { worker_count: v } }, {}),
      (e: unknown) => e instanceof ConfigError && e.key === 'http_server.worker_count',
      `worker_count = ${JSON.stringify(v)}`,
    );
  }
  assert.equal(parseKbsConfig({ http_server: { worker_count: 1024 } }, {}).httpServer.workerCount, 1024);
  const dir = mkdtempSync(join(tmpdir(), 'kbs-workers-range-'));
  try {
    for (const v of [0, 5000]) {
      const r = spawnSync(process.execPath, [BIN, '-c', writeConfig(dir, `[http_server]\nworker_count = ${v}\n${localFs(dir)}`)], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 2, r.stdout + r.stderr);
      assert.match(r.stdout, /config key \\?"http_server\.worker_count\\?": must be between 1 and 1024/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('/metrics answers what the metrics renderer gives, and 503 (no partial sum) when it fails', async (t) => {
  const k = await startKbs();
  t.after(() => k.stop());
  const own = await k.kbs.app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(own.statusCode, 200);
  assert.match(own.body, /^kbs_build_info\{version="0\.1\.0",git_hash="unknown",build_date="unknown"\} 1$/m, 'one process: its own registry');
  k.kbs.ctx.metrics.renderWith(async () => 'kbs_auth_requests_total 42\n');
  const summed = await k.kbs.app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(summed.statusCode, 200);
  assert.equal(summed.body, 'kbs_auth_requests_total 42\n');
  k.kbs.ctx.metrics.renderWith(() => Promise.reject(new Error('worker(s) 2 did not send their metrics within 2000 ms')));
  const failed = await k.kbs.app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(failed.statusCode, 503);
  assert.equal(failed.body, 'metrics unavailable\n');
});
