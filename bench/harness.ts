/**
 * Tiny benchmark harness: runs a function in batches after a warm-up and reports per-call median and p99 in µs.
 * Speed is measured here, never in tests.
 */
export interface Sample {
  name: string;
  medianUs: number;
  p99Us: number;
  runs: number;
}

export interface MeasureOptions {
  /** Warm-up calls before measuring (default 200). */
  warmup?: number;
  /** Measured batches (default 200). */
  batches?: number;
  /** Calls per batch (default: chosen so one batch takes ≥ ~1 ms). */
  batchSize?: number;
  /** Stop measuring after this many ms (default 3000). */
  maxMs?: number;
}

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export async function measure(name: string, fn: () => unknown | Promise<unknown>, opts: MeasureOptions = {}): Promise<Sample> {
  const warmup = opts.warmup ?? 200;
  const batches = opts.batches ?? 200;
  const maxMs = opts.maxMs ?? 3000;
  for (let i = 0; i < warmup; i++) await fn();
  let batchSize = opts.batchSize ?? 1;
  if (opts.batchSize === undefined) {
    for (;;) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < batchSize; i++) await fn();
      const ns = Number(process.hrtime.bigint() - t0);
      if (ns >= 1_000_000 || batchSize >= 1 << 16) break;
      batchSize *= 2;
    }
  }
  const perCall: number[] = [];
  const deadline = Date.now() + maxMs;
  for (let b = 0; b < batches && Date.now() < deadline; b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batchSize; i++) await fn();
    perCall.push(Number(process.hrtime.bigint() - t0) / 1000 / batchSize);
  }
  perCall.sort((a, b) => a - b);
  return { name, medianUs: percentile(perCall, 50), p99Us: percentile(perCall, 99), runs: perCall.length * batchSize };
}

export function fmtUs(us: number): string {
  return us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(2)} µs`;
}

export function printSamples(title: string, samples: Sample[], baseline?: Sample): void {
  console.log(`\n## ${title}`);
  for (const s of samples) {
    const ratio = baseline ? `  ratio to ${baseline.name}: ${(s.medianUs / baseline.medianUs).toFixed(2)}×` : '';
    console.log(`${s.name.padEnd(52)} median ${fmtUs(s.medianUs).padStart(10)}  p99 ${fmtUs(s.p99Us).padStart(10)}  (${s.runs} calls)${ratio}`);
  }
}
