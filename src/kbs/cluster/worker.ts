/**
 * A worker of a multi-process KBS (see primary.ts): asks its primary for the configuration, runs `createKbs` +
 * `listenKbs` on the sockets node:cluster shares, answers the primary's metrics collections with its own registry,
 * and turns a `GET /metrics` it receives into a question to the primary (the sum over every worker). Every log line
 * carries `worker` (node:cluster's worker id; the primary's lines carry 0).
 */
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ConfigError } from '../../util/config-error.js';
import { createKbs, listenKbs, type Kbs } from '../bootstrap.js';
import { parsePrimaryMessage, type WorkerMessage } from './messages.js';
import { checkWorkerStorage, configFromText } from './requirements.js';

export interface WorkerOptions {
  /** How long a `GET /metrics` waits for the primary's aggregate (default 5 s; the primary gives up after 2 s). */
  metricsTimeoutMs?: number;
}

interface Waiter {
  resolve(text: string): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/** Runs this process as a cluster worker until it is stopped; never returns (the process exits). */
export async function runWorker(base: Logger, opts: WorkerOptions = {}): Promise<never> {
  const self = cluster.worker;
  if (!self || !process.send) throw new Error('runWorker: not a node:cluster worker');
  const logger = base.child({ worker: self.id });
  const log = { info: (m: string) => logger.info(m), warn: (m: string) => logger.warn(m) };
  const send = (m: WorkerMessage) => {
    if (process.connected) process.send!(m);
  };
  const metricsTimeoutMs = opts.metricsTimeoutMs ?? 5_000;

  let kbs: Kbs | undefined;
  let registry: Registry | undefined;
  let listening = false;
  let stopSignal: NodeJS.Signals | undefined;
  const shutdown = async (sig: NodeJS.Signals): Promise<never> => {
    log.info(`${sig}: shutting down`);
    try {
      await kbs?.close();
    } catch (e) {
      logger.error({ err: { message: (e as Error).message } }, 'shutdown failed');
      process.exit(1);
    }
    process.exit(0);
  };
  // Installed first: a stop requested while still starting (e.g. Ctrl-C reaching the whole process group) waits
  // for start-up to finish and then closes cleanly, rather than killing the worker with the signal.
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopSignal) return;
    stopSignal = sig;
    if (listening) void shutdown(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let onConfig: ((c: { text: string; file: string }) => void) | undefined;
  const metricsWaiters = new Map<number, Waiter>();
  process.on('message', (raw: unknown) => {
    const m = parsePrimaryMessage(raw);
    if (!m) return;
    if (m.kbs === 'config') {
      onConfig?.(m);
      onConfig = undefined;
    } else if (m.kbs === 'metrics') {
      const w = metricsWaiters.get(m.id);
      if (!w) return;
      metricsWaiters.delete(m.id);
      clearTimeout(w.timer);
      if ('text' in m) w.resolve(m.text);
      else w.reject(new Error(m.error));
    } else if (m.kbs === 'metrics-collect') {
      const id = m.id;
      if (!registry) return send({ kbs: 'metrics-part', id, metrics: [] });
      registry.getMetricsAsJSON().then(
        (metrics) => send({ kbs: 'metrics-part', id, metrics }),
        (e: Error) => log.warn(`cannot read this worker's metrics: ${e.message}`),
      );
    }
  });

  try {
    const given = await new Promise<{ text: string; file: string }>((resolve) => {
      onConfig = resolve;
      send({ kbs: 'config?' });
    });
    const config = configFromText(given.text, given.file);
    // The primary logged the warnings once for the whole KBS, and checked the storage; the check again here is
    // cheap and keeps a worker from ever running on per-process sessions.
    config.warnings = [];
    checkWorkerStorage(config);
    kbs = await createKbs(config, { log, logger });
    registry = kbs.ctx.metrics.registry;
    let seq = 0;
    kbs.ctx.metrics.renderWith(
      () =>
        new Promise<string>((resolve, reject) => {
          const id = ++seq;
          const timer = setTimeout(() => {
            metricsWaiters.delete(id);
            reject(new Error(`the primary did not answer within ${metricsTimeoutMs} ms`));
          }, metricsTimeoutMs);
          metricsWaiters.set(id, { resolve, reject, timer });
          send({ kbs: 'metrics?', id });
        }),
    );
    const addrs = await listenKbs(kbs);
    listening = true;
    log.info(`listening on ${addrs.join(', ')}`);
    send({ kbs: 'ready', addrs });
  } catch (e) {
    if (e instanceof ConfigError) {
      logger.error(`configuration error: ${e.message}`);
      process.exit(2);
    }
    logger.error({ err: { message: (e as Error).message, code: (e as { code?: string }).code } }, 'start-up failed');
    process.exit(1);
  }
  if (stopSignal) return shutdown(stopSignal);
  // Runs until a signal (or node:cluster exits it when the primary goes away).
  return new Promise<never>(() => {});
}
