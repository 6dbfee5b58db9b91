// Several KBS replicas built from the Kubernetes ConfigMap, sharing one store (standing in for PostgreSQL and
// Redis), behind a round-robin "load balancer": an RCAR handshake whose /auth, /attest and /resource land on
// three different replicas must work, because the replicas share the token-signing key and the admin key from
// the Secret. Without the shared signing key (each replica making its own) it must fail — the reason
// docs/deploy.md insists on it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { parseKbsConfig } from '../../src/kbs/config.js';
import { createKbs, type Kbs } from '../../src/kbs/bootstrap.js';
import { MemoryBackend } from '../../src/storage/memory.js';
import { KbsClient } from '../../src/client/kbs-client.js';
import type { HttpRequest, HttpResponse, Transport } from '../../src/client/http.js';
import { generateAdminCredentials } from '../../src/client/admin-token.js';
import { samplePolicy } from '../../src/kbs/resource-policy.js';
import { at, find, K8S_DIR, loadManifests } from './support.js';

const objects = loadManifests(K8S_DIR);
const CONFIG_TOML = at<Record<string, string>>(find(objects, 'ConfigMap', 'keybroker-kbs-config'), 'data')['kbs-config.toml']!;
const SECRET_DIR = '/etc/kbs/secrets/';
const SECRET = Buffer.from('shared across replicas');

/** Sends each request to the next replica in turn, with one cookie jar (what a client behind a load balancer sees). */
class RoundRobin implements Transport {
  private next = 0;
  private readonly cookies = new Map<string, string>();
  readonly hits: number[];

  constructor(private readonly replicas: Kbs[]) {
    this.hits = replicas.map(() => 0);
  }

  async request(_step: unknown, req: HttpRequest): Promise<HttpResponse> {
    const i = this.next++ % this.replicas.length;
    this.hits[i]!++;
    const headers: Record<string, string> = { ...req.headers };
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await this.replicas[i]!.app.inject({ method: req.method, url: req.path, headers, ...(req.body !== undefined ? { payload: req.body } : {}) });
    const setCookie = res.headers['set-cookie'];
    for (const line of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
      const pair = line.split(';', 1)[0]!;
      const eq = pair.indexOf('=');
      if (eq > 0) this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return { status: res.statusCode, headers: res.headers as HttpResponse['headers'], body: res.rawPayload };
  }
}

interface Cluster {
  replicas: Kbs[];
  adminToken: string;
  stop(): Promise<void>;
}

/**
 * Writes the Secret's files (fresh keys made here) to a temp dir, points the ConfigMap's paths at it, and starts
 * `n` replicas, each with its own data dir (the pod's emptyDir) and one shared store.
 */
async function startCluster(n: number, opts: { sharedSigner: boolean }): Promise<Cluster> {
  const root = mkdtempSync(join(tmpdir(), 'kbs-replicas-'));
  const secrets = join(root, 'secrets');
  mkdirSync(secrets);
  const admin = await generateAdminCredentials({ issuer: 'kbs-client-keygen', audience: 'keybroker-admin', role: 'admin', days: 1, now: new Date() });
  writeFileSync(join(secrets, 'admin-public-key.pem'), admin.publicKeyPem);
  const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  writeFileSync(join(secrets, 'token-signer-key.pem'), signer);

  const raw = parseToml(CONFIG_TOML.replaceAll(SECRET_DIR, `${secrets}/`)) as Record<string, unknown>;
  if (!opts.sharedSigner) {
    const broker = at<Record<string, unknown>>(raw, 'attestation_service', 'attestation_token_broker');
    assert.ok(broker.signer, 'the ConfigMap configures a signer');
    delete broker.signer;
  }
  const store = new MemoryBackend();
  const replicas: Kbs[] = [];
  for (let i = 0; i < n; i++) {
    const env = {
      KBS_DATA_DIR: join(root, `pod-${i}`),
      POSTGRES_URL: 'postgres://keybroker:pw@keybroker-postgres:5432/keybroker',
      REDIS_URL: 'redis://:pw@keybroker-redis:6379',
    };
    replicas.push(await createKbs(parseKbsConfig(structuredClone(raw), env), { storage: store }));
  }
  return {
    replicas,
    adminToken: admin.token,
    async stop() {
      for (const r of replicas) await r.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

test('three replicas from the ConfigMap: admin on any replica, RCAR across replicas, secret released', async (t) => {
  const c = await startCluster(3, { sharedSigner: true });
  t.after(() => c.stop());
  for (const r of c.replicas) assert.equal((await r.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);

  const adminLb = new RoundRobin(c.replicas);
  const admin = new KbsClient({ transport: adminLb, adminToken: c.adminToken });
  await admin.setResource('default/key/1', SECRET);
  await admin.setResourcePolicy(samplePolicy('allow_all'));
  assert.ok(adminLb.hits.filter((h) => h > 0).length === 2, 'the two admin calls reached two replicas');

  const guestLb = new RoundRobin(c.replicas);
  const guest = new KbsClient({ transport: guestLb });
  assert.deepEqual(await guest.getResource('default/key/1'), SECRET);
  // auth → replica 0, attest → replica 1, resource → replica 2: one request each, no retry needed.
  assert.deepEqual(guestLb.hits, [1, 1, 1]);
});

test('the admin key from the Secret is the only one accepted, on every replica', async (t) => {
  const c = await startCluster(2, { sharedSigner: true });
  t.after(() => c.stop());
  const other = await generateAdminCredentials({ issuer: 'kbs-client-keygen', audience: 'keybroker-admin', role: 'admin', days: 1, now: new Date() });
  for (const r of c.replicas) {
    for (const [token, status] of [[c.adminToken, 200], [other.token, 401]] as const) {
      const res = await r.app.inject({
        method: 'POST',
        url: '/kbs/v0/resource/default/key/2',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
        payload: Buffer.from('x'),
      });
      assert.equal(res.statusCode, status, `${token === c.adminToken ? 'Secret' : 'foreign'} admin key`);
    }
  }
});

test('without the shared token-signing key, a token issued by one replica is refused by another', async (t) => {
  const c = await startCluster(3, { sharedSigner: false });
  t.after(() => c.stop());
  const admin = new KbsClient({ transport: new RoundRobin(c.replicas), adminToken: c.adminToken });
  await admin.setResource('default/key/1', SECRET);
  await admin.setResourcePolicy(samplePolicy('allow_all'));
  // Same round-robin as above: the token made by replica 1's AS is presented to replica 2, every attempt.
  const guestLb = new RoundRobin(c.replicas);
  await assert.rejects(new KbsClient({ transport: guestLb }).getResource('default/key/1'));
  assert.ok(guestLb.hits[2]! >= 1, 'the resource requests reached replica 2');
  // Each replica made its own signing key.
  const keys = new Set(c.replicas.map((r) => JSON.stringify((r.ctx.as as unknown as { signerPublicJwk(): unknown }).signerPublicJwk())));
  assert.equal(keys.size, 3);
});
