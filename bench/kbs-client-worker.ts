/**
 * Guest-side load for bench/kbs.ts, run in a separate child process (forked with IPC) so that the KBS process holds
 * only the server: evidence, ECDH, JWE decryption and the HTTP client cost CPU here, not in the server's event loop.
 *
 * Protocol (IPC messages): the parent forks this file with a `LoadRequest` as JSON in env KBS_BENCH_LOAD; the child
 * generates its TEE keys, warms up (one flow per slot), sends `{ type: 'ready' }`, waits for `{ type: 'go' }`, runs
 * flows for `seconds` and sends `{ type: 'done', times, seconds }`, then exits. Loopback only; bounded: it exits by
 * itself when the parent disconnects or after `seconds + 60` s, whatever happens.
 */
import { KbsClient } from '../src/client/kbs-client.js';
import { HttpTransport } from '../src/client/http.js';
import { TeeKeyPair } from '../src/client/tee-key.js';

export interface LoadRequest {
  url: string;
  /**
   * `fresh` (default): every flow uses a TEE key generated for it (before its timing starts), as a fleet of guests
   * does — the KBS then validates a key it has never seen at every /attest. `pool`: keys reused from a pool of
   * max(64, concurrency), which the KBS's key caches hit (the measurement before 2026-11-23 16:45 UTC).
   */
  keys?: 'fresh' | 'pool';
  resource: string;
  /** Expected secret, hex. */
  secretHex: string;
  concurrency: number;
  seconds: number;
}

export interface FlowTimes {
  total: number;
  auth: number;
  attest: number;
  resource: number;
}

export type ChildMessage = { type: 'ready' } | { type: 'done'; times: FlowTimes[]; seconds: number } | { type: 'error'; message: string };

const nowUs = () => Number(process.hrtime.bigint()) / 1000;

/** One complete guest flow with a fresh client (new cookie jar, no token): auth → attest → resource. */
export async function flow(url: string, resource: string, secret: Buffer, teeKey: TeeKeyPair): Promise<FlowTimes> {
  const client = new KbsClient({ transport: new HttpTransport({ url }), teeKey });
  const t0 = nowUs();
  const challenge = await client.auth();
  const t1 = nowUs();
  await client.attest(challenge);
  const t2 = nowUs();
  const got = await client.getResource(resource); // the token is set: exactly one GET
  const t3 = nowUs();
  if (!got.equals(secret)) throw new Error('flow returned the wrong secret');
  return { total: t3 - t0, auth: t1 - t0, attest: t2 - t1, resource: t3 - t2 };
}

function send(m: ChildMessage): Promise<void> {
  return new Promise((resolve) => process.send!(m, undefined, {}, () => resolve()));
}

async function child(req: LoadRequest): Promise<void> {
  const url = new URL(req.url);
  if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') throw new Error('load child: loopback URLs only');
  const secret = Buffer.from(req.secretHex, 'hex');
  const keys = Array.from({ length: Math.max(64, req.concurrency) }, () => TeeKeyPair.generate());
  // Warm-up: JIT, keep-alive sockets, policy caches.
  await Promise.all(Array.from({ length: req.concurrency }, (_, i) => flow(req.url, req.resource, secret, keys[i % keys.length]!)));
  const go = new Promise<void>((resolve) => process.on('message', (m: { type?: string }) => m?.type === 'go' && resolve()));
  await send({ type: 'ready' });
  await go;
  const times: FlowTimes[] = [];
  const start = nowUs();
  const deadline = start + req.seconds * 1e6;
  let next = 0;
  const fresh = req.keys !== 'pool';
  await Promise.all(
    Array.from({ length: req.concurrency }, async () => {
      while (nowUs() < deadline) times.push(await flow(req.url, req.resource, secret, fresh ? TeeKeyPair.generate() : keys[next++ % keys.length]!));
    }),
  );
  await send({ type: 'done', times, seconds: (nowUs() - start) / 1e6 });
}

if (process.send && process.env.KBS_BENCH_LOAD) {
  const req = JSON.parse(process.env.KBS_BENCH_LOAD) as LoadRequest;
  const bound = setTimeout(() => process.exit(3), (req.seconds + 60) * 1000);
  bound.unref();
  process.on('disconnect', () => process.exit(0));
  child(req).then(
    () => process.exit(0),
    async (e: unknown) => {
      await send({ type: 'error', message: (e as Error).message });
      process.exit(1);
    },
  );
}
