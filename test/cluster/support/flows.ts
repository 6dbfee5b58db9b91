/**
 * Guest flows against a cluster, through the client library (src/client): transports that spread one client's
 * requests over several instances with one cookie jar, and the retryable / fatal classification of flow errors.
 */
import { HttpTransport, type HttpRequest, type HttpResponse, type Transport } from '../../../src/client/http.js';
import { KbsClientError, type ClientStep } from '../../../src/client/errors.js';
import { KbsClient } from '../../../src/client/kbs-client.js';
import type { TeeKeyPair } from '../../../src/client/tee-key.js';

function cookieHeader(jar: Map<string, string>): string | undefined {
  return jar.size > 0 ? [...jar].map(([k, v]) => `${k}=${v}`).join('; ') : undefined;
}

function keepCookies(jar: Map<string, string>, res: HttpResponse): void {
  const sc = res.headers['set-cookie'];
  for (const line of Array.isArray(sc) ? sc : sc ? [sc] : []) {
    const pair = line.split(';', 1)[0] ?? '';
    const eq = pair.indexOf('=');
    if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
}

/**
 * Sends the n-th request of a client to `urls[pick(n, step)]`, carrying one cookie jar across instances (what a
 * client behind a load balancer without session affinity sees). `log` records which URL served which step.
 */
export class SpreadTransport implements Transport {
  private n = 0;
  private readonly jar = new Map<string, string>();
  private readonly transports: HttpTransport[];
  readonly log: Array<{ step: ClientStep; url: string; status: number }> = [];

  constructor(
    private readonly urls: string[],
    private readonly pick: (n: number, step: ClientStep) => number = (n) => n,
  ) {
    this.transports = urls.map((url) => new HttpTransport({ url }));
  }

  async request(step: ClientStep, req: HttpRequest): Promise<HttpResponse> {
    const i = this.pick(this.n++, step) % this.urls.length;
    const cookie = cookieHeader(this.jar);
    const res = await this.transports[i]!.request(step, { ...req, headers: { ...req.headers, ...(cookie ? { cookie } : {}) } });
    keepCookies(this.jar, res);
    this.log.push({ step, url: this.urls[i]!, status: res.status });
    return res;
  }
}

/**
 * Sends every `attest` request to all URLs at once (same cookie, same body: one nonce presented to every
 * instance); other steps go to `urls[0]`. Records the status each instance answered.
 */
export class FanOutAttestTransport implements Transport {
  private readonly jar = new Map<string, string>();
  private readonly transports: HttpTransport[];
  attestStatuses: number[] = [];
  /** The token of every 200 among the copies (a late copy may find the session already Attested: same token). */
  attestTokens: string[] = [];
  lastAttest?: HttpRequest;

  constructor(urls: string[]) {
    this.transports = urls.map((url) => new HttpTransport({ url }));
  }

  async request(step: ClientStep, req: HttpRequest): Promise<HttpResponse> {
    const cookie = cookieHeader(this.jar);
    const r = { ...req, headers: { ...req.headers, ...(cookie ? { cookie } : {}) } };
    if (step !== 'attest') {
      const res = await this.transports[0]!.request(step, r);
      keepCookies(this.jar, res);
      return res;
    }
    this.lastAttest = r;
    const all = await Promise.all(this.transports.map((t) => t.request(step, r)));
    this.attestStatuses = all.map((x) => x.status);
    this.attestTokens = all.filter((x) => x.status === 200).map((x) => (JSON.parse(x.body.toString('utf8')) as { token: string }).token);
    const ok = all.find((x) => x.status === 200) ?? all[0]!;
    keepCookies(this.jar, ok);
    return ok;
  }

  /** Sends the last `attest` request (same cookie, same nonce) again to every instance. */
  async replayAttest(): Promise<Array<{ status: number; body: string }>> {
    const r = this.lastAttest;
    if (!r) throw new Error('no attest request to replay');
    return Promise.all(this.transports.map(async (t) => {
      const res = await t.request('attest', r);
      return { status: res.status, body: res.body.toString('utf8') };
    }));
  }
}

/** Connection failures and 502/503/504 are what a client may see while an instance dies: retry them. */
export function isRetryable(e: unknown): boolean {
  if (!(e instanceof KbsClientError)) return false;
  if (e.code === 'ERR_HTTP') return true;
  return e.status === 502 || e.status === 503 || e.status === 504;
}

export type FlowOutcome =
  | { kind: 'ok'; ms: number; stages: { auth: number; attest: number; resource: number } }
  | { kind: 'wrong-secret'; path: string }
  | { kind: 'retryable'; message: string }
  | { kind: 'fatal'; message: string };

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** One complete guest flow with a fresh client: auth → attest → GET resource; the secret must equal `expected`. */
export async function runFlow(transport: Transport, teeKey: TeeKeyPair, path: string, expected: Buffer): Promise<FlowOutcome> {
  const client = new KbsClient({ transport, teeKey });
  const t0 = nowMs();
  try {
    const ch = await client.auth();
    const t1 = nowMs();
    await client.attest(ch);
    const t2 = nowMs();
    const secret = await client.getResource(path);
    const t3 = nowMs();
    if (!secret.equals(expected)) return { kind: 'wrong-secret', path };
    return { kind: 'ok', ms: t3 - t0, stages: { auth: t1 - t0, attest: t2 - t1, resource: t3 - t2 } };
  } catch (e) {
    const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return isRetryable(e) ? { kind: 'retryable', message } : { kind: 'fatal', message };
  }
}

/** Run `total` flows, `concurrency` at a time; `onDone(n)` after each completed flow (n = completed so far). */
export async function runFlows(
  total: number,
  concurrency: number,
  one: (i: number) => Promise<FlowOutcome>,
  onDone?: (n: number) => void | Promise<void>,
  deadlineMs = Infinity,
): Promise<FlowOutcome[]> {
  const out: FlowOutcome[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total && Date.now() < deadlineMs) {
        const i = next++;
        out[i] = await one(i);
        await onDone?.(out.filter(Boolean).length);
      }
    }),
  );
  return out.filter(Boolean);
}
