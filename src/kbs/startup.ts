/**
 * Start-up work that needs the shared store (opening namespaces, installing default resource and attestation
 * policies). A storage outage does not stop start-up: the work is retried in the background with exponential
 * back-off until it succeeds, and request paths that depend on it await it themselves (so a request during an outage
 * gets 503, never an answer computed from missing defaults). `/readyz` reports `ready` plus a storage ping.
 */
import { StorageUnavailableError } from '../storage/types.js';

export interface StartupLog {
  info(m: string): void;
  warn(m: string): void;
}

export interface DeferredStartupOptions {
  log?: StartupLog;
  /** First retry delay (ms); doubles up to `maxDelayMs`. */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

interface Task {
  name: string;
  run: () => Promise<void>;
  done: boolean;
}

export class DeferredStartup {
  private readonly tasks: Task[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<boolean> | undefined;
  private readonly log: StartupLog | undefined;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(opts: DeferredStartupOptions = {}) {
    this.log = opts.log;
    this.initialDelayMs = opts.initialDelayMs ?? 250;
    this.maxDelayMs = opts.maxDelayMs ?? 5_000;
  }

  /** `run` must be idempotent (it may run again after a partial failure). */
  add(name: string, run: () => Promise<void>): void {
    this.tasks.push({ name, run, done: false });
  }

  get ready(): boolean {
    return this.tasks.every((t) => t.done);
  }

  /**
   * One pass over the unfinished tasks. Resolves true when all are done, false when storage was unavailable.
   * Any other error is thrown (at start-up: a configuration problem, which must stop the KBS).
   */
  attempt(): Promise<boolean> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<boolean> {
    for (const t of this.tasks) {
      if (t.done) continue;
      try {
        await t.run();
        t.done = true;
      } catch (e) {
        if (e instanceof StorageUnavailableError) return false;
        throw e;
      }
    }
    return true;
  }

  /** Keep retrying in the background until every task is done (or `stop()`). */
  retryInBackground(): void {
    if (this.ready || this.stopped || this.timer) return;
    this.log?.warn('storage unavailable at start-up: serving 503 for storage-backed requests and retrying in the background');
    let delay = this.initialDelayMs;
    const tick = () => {
      this.timer = undefined;
      if (this.stopped) return;
      this.attempt().then(
        (ok) => {
          if (ok) {
            this.log?.info('storage available: deferred start-up work finished');
            return;
          }
          schedule();
        },
        (e: unknown) => {
          // Not an outage (e.g. a bug or a permission problem that appeared later): keep trying, say why.
          this.log?.warn(`deferred start-up work failed: ${e instanceof Error ? e.name : 'error'}; retrying`);
          schedule();
        },
      );
    };
    const schedule = () => {
      if (this.stopped) return;
      this.timer = setTimeout(tick, delay);
      this.timer.unref();
      delay = Math.min(delay * 2, this.maxDelayMs);
    };
    schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
