/**
 * The primary of a multi-process KBS (`[http_server] worker_count` = N > 1): forks N bin/kbs workers with
 * node:cluster, which share the listening sockets (the primary accepts and hands connections to the workers in
 * turn, node's default round-robin on Linux), restarts a worker that dies, stops them all on SIGINT/SIGTERM, and
 * aggregates their metrics for `GET /metrics`. The primary itself serves no request and opens no storage.
 *
 * Start-up: one worker first, the others once it listens, so a configuration problem only a worker can find
 * (e.g. an unreadable TLS key) stops the KBS once, with that worker's exit code (2 for a config error), instead of
 * N times or in a restart loop. After start-up a worker that exits is replaced with exponential back-off.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import { parseWorkerMessage, type PrimaryMessage } from './messages.js';

export interface ClusterLog {
  info(m: string): void;
  warn(m: string): void;
  error(m: string): void;
}

export interface PrimaryOptions {
  workerCount: number;
  /** The config file the primary validated: text and name, sent to every worker. */
  config: { text: string; file: string };
  log: ClusterLog;
  /** Restart delay after an unexpected exit: `initialMs` doubling to `maxMs`; reset once a worker lived `stableMs`. */
  backoff?: { initialMs: number; maxMs: number; stableMs: number };
  /** How long a graceful stop may take before the remaining workers are SIGKILLed (default 30 s). */
  stopTimeoutMs?: number;
  /** How long a `GET /metrics` waits for every worker's registry (default 2 s). */
  metricsTimeoutMs?: number;
}

export const DEFAULT_BACKOFF = { initialMs: 250, maxMs: 30_000, stableMs: 60_000 };

/** One of the N places a worker runs in; a replacement takes the place of the worker that died. */
interface Slot {
  index: number;
  worker?: Worker;
  ready: boolean;
  startedAt: number;
  /** Consecutive quick deaths (for the back-off). */
  failures: number;
  restartTimer?: NodeJS.Timeout;
  /** Start-up waiter: called with true when the worker listens, false when it exits first. */
  settle?: (ok: boolean) => void;
}

interface Collection {
  pending: Set<number>;
  parts: unknown[][];
  finish(): void;
}

function describeExit(code: number | null, signal: string | null): string {
  return signal ? `signal ${signal}` : `code ${code ?? '?'}`;
}

/** Runs the cluster until it has stopped; resolves with the process exit code. */
export function runPrimary(opts: PrimaryOptions): Promise<number> {
  const { log, workerCount } = opts;
  const backoff = opts.backoff ?? DEFAULT_BACKOFF;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 30_000;
  const metricsTimeoutMs = opts.metricsTimeoutMs ?? 2_000;
  const slots: Slot[] = Array.from({ length: workerCount }, (_, i) => ({ index: i + 1, ready: false, startedAt: 0, failures: 0 }));
  let phase: 'starting' | 'running' | 'stopping' = 'starting';
  let exitCode = 0;
  let addrs: string[] = [];
  let killTimer: NodeJS.Timeout | undefined;
  let collectSeq = 0;
  const collections = new Map<number, Collection>();
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));

  const send = (w: Worker, m: PrimaryMessage) => {
    if (w.isConnected()) w.send(m);
  };
  const live = () => slots.filter((s) => s.worker);

  /** Every ready worker's registry, summed (prom-client's cluster aggregation: `aggregator` per metric). */
  const aggregateMetrics = (): Promise<string> => {
    const targets = slots.filter((s) => s.ready && s.worker?.isConnected()).map((s) => s.worker!);
    const id = ++collectSeq;
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        const missing = [...(collections.get(id)?.pending ?? [])];
        collections.delete(id);
        reject(new Error(`worker(s) ${missing.join(', ')} did not send their metrics within ${metricsTimeoutMs} ms`));
      }, metricsTimeoutMs);
      const c: Collection = {
        pending: new Set(targets.map((w) => w.id)),
        parts: [],
        finish() {
          clearTimeout(timer);
          collections.delete(id);
          // aggregate() throws on a part it cannot combine: a failed /metrics, never a crashed primary.
          try {
            AggregatorRegistry.aggregate(c.parts).metrics().then(resolve, reject);
          } catch (e) {
            reject(e as Error);
          }
        },
      };
      collections.set(id, c);
      if (c.pending.size === 0) return c.finish();
      for (const w of targets) send(w, { kbs: 'metrics-collect', id });
    });
  };

  /** A worker that is gone will not answer: aggregate without it (its counts left with it, as with any restart). */
  const forgetInCollections = (w: Worker) => {
    for (const c of collections.values()) if (c.pending.delete(w.id) && c.pending.size === 0) c.finish();
  };

  const onMessage = (slot: Slot, w: Worker, raw: unknown) => {
    const m = parseWorkerMessage(raw);
    if (!m || slot.worker !== w) return;
    switch (m.kbs) {
      case 'config?':
        send(w, { kbs: 'config', text: opts.config.text, file: opts.config.file });
        return;
      case 'ready':
        slot.ready = true;
        addrs = m.addrs;
        log.info(`worker ${w.id} (pid ${w.process.pid}) listening`);
        slot.settle?.(true);
        return;
      case 'metrics?':
        aggregateMetrics().then(
          (text) => send(w, { kbs: 'metrics', id: m.id, text }),
          (e: Error) => send(w, { kbs: 'metrics', id: m.id, error: e.message }),
        );
        return;
      case 'metrics-part': {
        const c = collections.get(m.id);
        if (c?.pending.delete(w.id)) {
          c.parts.push(m.metrics);
          if (c.pending.size === 0) c.finish();
        }
        return;
      }
    }
  };

  const finish = () => {
    if (killTimer) clearTimeout(killTimer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    resolveDone(exitCode);
  };

  const onExit = (slot: Slot, w: Worker, code: number | null, signal: string | null) => {
    if (slot.worker !== w) return;
    const wasReady = slot.ready;
    slot.worker = undefined;
    slot.ready = false;
    forgetInCollections(w);
    const how = describeExit(code, signal);
    const settle = slot.settle;
    slot.settle = undefined;
    if (phase === 'stopping') {
      if (code !== 0) {
        log.warn(`worker ${w.id} (pid ${w.process.pid}) stopped with ${how}`);
        exitCode = exitCode || 1;
      }
      settle?.(false);
      if (live().length === 0) finish();
      return;
    }
    if (phase === 'starting') {
      log.error(`worker ${w.id} (pid ${w.process.pid}) exited during start-up (${how}): stopping`);
      exitCode = code === 2 ? 2 : 1;
      settle?.(false);
      stop();
      return;
    }
    if (Date.now() - slot.startedAt >= backoff.stableMs) slot.failures = 0;
    const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** slot.failures);
    slot.failures++;
    log.warn(`worker ${w.id} (pid ${w.process.pid}) exited unexpectedly (${how}${wasReady ? '' : ', before it listened'}): starting a replacement in ${delay} ms`);
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (phase === 'running') fork(slot, w.id);
    }, delay);
  };

  const fork = (slot: Slot, replaces?: number): Worker => {
    const w = cluster.fork();
    slot.worker = w;
    slot.ready = false;
    slot.startedAt = Date.now();
    log.info(`worker ${w.id} (pid ${w.process.pid}) starting${replaces !== undefined ? `, replacing worker ${replaces}` : ''}`);
    w.on('message', (m: unknown) => onMessage(slot, w, m));
    w.on('exit', (code: number | null, signal: string | null) => onExit(slot, w, code, signal));
    // A failed IPC send (worker just died) must not crash the primary; 'exit' follows.
    w.on('error', (e: Error) => log.warn(`worker ${w.id}: ${e.message}`));
    return w;
  };

  const startAndWait = (slot: Slot): Promise<boolean> =>
    new Promise<boolean>((resolve) => {
      if (phase !== 'starting') return resolve(false);
      slot.settle = resolve;
      fork(slot);
    });

  const stop = () => {
    if (phase === 'stopping') return;
    phase = 'stopping';
    for (const s of slots) {
      if (s.restartTimer) clearTimeout(s.restartTimer);
      s.restartTimer = undefined;
    }
    const running = live();
    if (running.length === 0) return finish();
    for (const s of running) s.worker!.process.kill('SIGTERM');
    killTimer = setTimeout(() => {
      for (const s of live()) {
        log.warn(`worker ${s.worker!.id} (pid ${s.worker!.process.pid}) did not stop within ${stopTimeoutMs} ms: SIGKILL`);
        s.worker!.process.kill('SIGKILL');
      }
      exitCode = exitCode || 1;
    }, stopTimeoutMs);
  };

  function onSignal(sig: NodeJS.Signals): void {
    if (phase === 'stopping') {
      log.warn(`${sig} again: killing ${live().length} worker(s)`);
      for (const s of live()) s.worker!.process.kill('SIGKILL');
      exitCode = exitCode || 1;
      return;
    }
    log.info(`${sig}: stopping ${live().length} worker(s)`);
    stop();
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  void (async () => {
    if (!(await startAndWait(slots[0]!))) return;
    const rest = await Promise.all(slots.slice(1).map(startAndWait));
    if (!rest.every(Boolean) || phase !== 'starting') return;
    phase = 'running';
    log.info(`KBS listening on ${addrs.join(', ')} (${workerCount} workers)`);
  })();
  return done;
}
