/**
 * The IPC messages between the bin/kbs primary and its workers (node:cluster's channel, JSON). Every message carries
 * `kbs` (its kind); anything else on the channel (node's own, prom-client's) is ignored. Both ends parse what they
 * receive with the guards below rather than trusting the shape.
 */

/** Worker → primary. */
export type WorkerMessage =
  /** Asks for the configuration the primary validated (sent once, first thing). */
  | { kbs: 'config?' }
  /** Listening on every socket; `addrs` as `listenKbs` returned them. */
  | { kbs: 'ready'; addrs: string[] }
  /** A `GET /metrics` arrived here: asks for the sum over every worker. */
  | { kbs: 'metrics?'; id: number }
  /** This worker's registry (`getMetricsAsJSON()`), answering `metrics-collect` `id`. */
  | { kbs: 'metrics-part'; id: number; metrics: unknown[] };

/** Primary → worker. */
export type PrimaryMessage =
  /** The config file's text and name, parsed again by the worker (one config for the primary's lifetime). */
  | { kbs: 'config'; text: string; file: string }
  /** The answer to `metrics?` `id`: the aggregated text, or why there is none. */
  | { kbs: 'metrics'; id: number; text: string }
  | { kbs: 'metrics'; id: number; error: string }
  /** Send your registry for aggregation `id`. */
  | { kbs: 'metrics-collect'; id: number };

function isObject(m: unknown): m is Record<string, unknown> {
  return typeof m === 'object' && m !== null && !Array.isArray(m);
}

const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export function parseWorkerMessage(m: unknown): WorkerMessage | undefined {
  if (!isObject(m)) return undefined;
  switch (m.kbs) {
    case 'config?':
      return { kbs: 'config?' };
    case 'ready':
      return Array.isArray(m.addrs) && m.addrs.every((a) => typeof a === 'string') ? { kbs: 'ready', addrs: m.addrs as string[] } : undefined;
    case 'metrics?':
      return isId(m.id) ? { kbs: 'metrics?', id: m.id } : undefined;
    case 'metrics-part':
      return isId(m.id) && Array.isArray(m.metrics) ? { kbs: 'metrics-part', id: m.id, metrics: m.metrics as unknown[] } : undefined;
    default:
      return undefined;
  }
}

export function parsePrimaryMessage(m: unknown): PrimaryMessage | undefined {
  if (!isObject(m)) return undefined;
  switch (m.kbs) {
    case 'config':
      return typeof m.text === 'string' && typeof m.file === 'string' ? { kbs: 'config', text: m.text, file: m.file } : undefined;
    case 'metrics':
      if (!isId(m.id)) return undefined;
      if (typeof m.text === 'string') return { kbs: 'metrics', id: m.id, text: m.text };
      return typeof m.error === 'string' ? { kbs: 'metrics', id: m.id, error: m.error } : undefined;
    case 'metrics-collect':
      return isId(m.id) ? { kbs: 'metrics-collect', id: m.id } : undefined;
    default:
      return undefined;
  }
}
