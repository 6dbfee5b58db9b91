// Three real `bin/kbs` processes sharing PostgreSQL (resources, policies, reference values) and Redis (sessions),
// one token-signing key and one admin identity provider, behind nginx (round-robin):
//  - an RCAR handshake whose /auth, /attest and resource GET land on three different instances works;
//  - a nonce is single-use across instances (the same /attest sent to all three at once: one token, the others 401 or,
//    arriving after it was stored, the same token from the Attested session);
//  - a resource, the resource policy, a reference value and an attestation policy changed through one instance
//    govern the next request on every other instance (no stale per-process state);
//  - many concurrent flows through nginx while one instance is SIGKILLed: every flow gets exactly the right secret
//    or a clear retryable error (connection error / 502 / 503), and every admin write acknowledged with 200 is
//    readable afterwards through the surviving instances.
// PostgreSQL, Redis and nginx are required: without them the test fails (it does not skip).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startCluster, type Cluster } from './support/cluster.js';
import { FanOutAttestTransport, isRetryable, runFlow, runFlows, SpreadTransport, type FlowOutcome } from './support/flows.js';
import { HttpTransport } from '../../src/client/http.js';
import { KbsClient } from '../../src/client/kbs-client.js';
import { KbsClientError } from '../../src/client/errors.js';
import { TeeKeyPair } from '../../src/client/tee-key.js';
import { samplePolicy } from '../../src/kbs/resource-policy.js';
import { readDefaultPolicy } from '../../src/as/policy-store.js';

const FLOWS = 200;
const CONCURRENCY = 16;
const RESOURCES = 8;

const policy = (name: 'allow_all' | 'deny_all') => samplePolicy(name);
const DEFAULT_CPU = await readDefaultPolicy('default_cpu');

/** Allows a resource only when the attestation policy scored the executables as approved (AR4SI 3). */
const EXECUTABLES_APPROVED = `package policy
import rego.v1
default allow := false
allow if {
  data.plugin == "resource"
  input.submods.cpu0["ear.trustworthiness-vector"].executables == 3
}
`;

/** An attestation policy approving the sample TEE's executables without any reference value. */
const LENIENT_CPU = `package policy
import rego.v1
default executables := 33
default hardware := 97
default configuration := 36
executables := 3 if input.sample
trust_claims := {
  "executables": executables, "hardware": hardware, "configuration": configuration, "file-system": 0,
  "instance-identity": 0, "runtime-opaque": 0, "storage-opaque": 0, "sourced-data": 0,
}
`;

function adminAt(c: Cluster, url: string): KbsClient {
  return new KbsClient({ transport: new HttpTransport({ url }), adminToken: c.adminToken });
}

/** A guest whose whole handshake and resource GETs go to one instance. */
function guestAt(url: string): KbsClient {
  return new KbsClient({ transport: new HttpTransport({ url }), teeKey: TeeKeyPair.generate() });
}

async function denied(p: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof KbsClientError, `${what}: ${String(e)}`);
    assert.equal(e.status, 401, `${what}: ${e.message}`);
    assert.equal(e.problemType, 'PolicyDeny', `${what}: ${e.message}`);
    return true;
  });
}

test('three KBS instances on PostgreSQL + Redis behind nginx', { timeout: 120_000 }, async (t) => {
  const c = await startCluster({ instances: 3, storage: 'Postgres', sessions: 'Redis', nginx: true, redisDb: 11 });
  const urls = c.instances.map((s) => s.url);
  const [A, B, C] = urls as [string, string, string];
  try {
    await adminAt(c, A).setResourcePolicy(policy('allow_all'));

    await t.test('an admin token from the shared IdP works on every instance; a foreign token on none', async () => {
      for (const [i, url] of urls.entries()) await adminAt(c, url).setResource(`cluster/probe/${i}`, Buffer.from(`probe ${i}`));
      const { generateAdminCredentials } = await import('../../src/client/admin-token.js');
      const foreign = await generateAdminCredentials({ issuer: 'keybroker-cluster-test', audience: 'kbs', role: 'admin', days: 1, now: new Date() });
      for (const url of urls) {
        await assert.rejects(new KbsClient({ transport: new HttpTransport({ url }), adminToken: foreign.token }).setResource('cluster/probe/x', Buffer.from('x')), (e: unknown) => {
          assert.ok(e instanceof KbsClientError && e.status === 401, String(e));
          return true;
        });
      }
    });

    await t.test('/auth, /attest and the resource on three different instances', async () => {
      const secret = randomBytes(32);
      await adminAt(c, B).setResource('cluster/cross/1', secret);
      for (const order of [[0, 1, 2], [2, 0, 1], [1, 2, 0]]) {
        const tr = new SpreadTransport(urls, (n) => order[Math.min(n, 2)]!);
        const got = await new KbsClient({ transport: tr, teeKey: TeeKeyPair.generate() }).getResource('cluster/cross/1');
        assert.ok(got.equals(secret), 'right secret');
        assert.deepEqual(
          tr.log.map((l) => [l.step, l.url, l.status]),
          [['auth', urls[order[0]!], 200], ['attest', urls[order[1]!], 200], ['resource', urls[order[2]!], 200]],
          'each step served by a different instance, each once',
        );
      }
    });

    await t.test('one nonce, one attestation, across all instances', async () => {
      for (let round = 0; round < 3; round++) {
        const tr = new FanOutAttestTransport([urls[round]!, ...urls.filter((_, i) => i !== round)]);
        const client = new KbsClient({ transport: tr, teeKey: TeeKeyPair.generate() });
        const token = await client.attest(await client.auth());
        // One nonce, one attestation: every copy either lost the race for the challenge (401) or, arriving after the
        // winner stored its token, found the session Attested and got that same token back (§2.6) — never a second one.
        assert.ok(tr.attestTokens.length >= 1, `at least one 200 among ${tr.attestStatuses.join(',')}`);
        assert.deepEqual([...new Set(tr.attestTokens)], [token], `one token for the nonce among ${tr.attestStatuses.join(',')}`);
        assert.ok(tr.attestStatuses.every((s) => s === 200 || s === 401), `others refused with 401: ${tr.attestStatuses.join(',')}`);
        // Repeating /attest on the now attested session, on any instance, returns the same token without a new
        // attestation (specs/trustee.md §2.6): still one token per nonce.
        for (const r of await tr.replayAttest()) {
          assert.equal(r.status, 200);
          assert.equal((JSON.parse(r.body) as { token: string }).token, token, 'the same token, not a new one');
        }
        // A fresh session on another instance cannot be attested with that evidence (its own nonce differs).
        const other = new HttpTransport({ url: urls[(round + 1) % 3]! });
        await new KbsClient({ transport: other }).auth();
        const reused = await other.request('attest', tr.lastAttest!);
        assert.equal(reused.status, 401, 'old evidence refused on a new session');
      }
    });

    await t.test('a resource changed through one instance is what the others serve next', async () => {
      const v1 = randomBytes(32);
      const v2 = randomBytes(32);
      await adminAt(c, A).setResource('cluster/stale/res', v1);
      const guest = guestAt(B);
      assert.ok((await guest.getResource('cluster/stale/res')).equals(v1));
      await adminAt(c, C).setResource('cluster/stale/res', v2);
      assert.ok((await guest.getResource('cluster/stale/res')).equals(v2), 'B serves the value written through C');
      await adminAt(c, A).deleteResource('cluster/stale/res');
      await assert.rejects(guest.getResource('cluster/stale/res'), (e: unknown) => e instanceof KbsClientError && e.status !== 200);
    });

    await t.test('the resource policy changed through one instance governs the others', async () => {
      const secret = randomBytes(16);
      await adminAt(c, A).setResource('cluster/stale/pol', secret);
      const guest = guestAt(B);
      assert.ok((await guest.getResource('cluster/stale/pol')).equals(secret));
      await adminAt(c, C).setResourcePolicy(policy('deny_all'));
      await denied(guest.getResource('cluster/stale/pol'), 'deny_all set through C, asked on B');
      await denied(guestAt(A).getResource('cluster/stale/pol'), 'deny_all set through C, asked on A');
      await adminAt(c, A).setResourcePolicy(policy('allow_all'));
      assert.ok((await guest.getResource('cluster/stale/pol')).equals(secret), 'allow_all set through A, asked on B');
    });

    await t.test('reference values and attestation policies changed through one instance govern the others', async () => {
      const secret = randomBytes(16);
      await adminAt(c, A).setResource('cluster/stale/rv', secret);
      await adminAt(c, B).setResourcePolicy(EXECUTABLES_APPROVED);
      // The sample verifier reports launch_digest "abcde"; default_cpu approves it when it is a reference value.
      await adminAt(c, B).setSampleReferenceValue('launch_digest', ['abcde']);
      assert.ok((await guestAt(C).getResource('cluster/stale/rv')).equals(secret), 'reference value set through B, attested on C');
      await adminAt(c, A).setSampleReferenceValue('launch_digest', ['not-the-digest']);
      await denied(guestAt(C).getResource('cluster/stale/rv'), 'reference value replaced through A, attested on C');
      // A lenient default_cpu set through A approves without reference values on C; restoring it through B denies again.
      await adminAt(c, A).setAttestationPolicy(LENIENT_CPU, { id: 'default_cpu' });
      assert.ok((await guestAt(C).getResource('cluster/stale/rv')).equals(secret), 'attestation policy set through A, attested on C');
      await adminAt(c, B).setAttestationPolicy(DEFAULT_CPU, { id: 'default_cpu' });
      await denied(guestAt(C).getResource('cluster/stale/rv'), 'default attestation policy restored through B, attested on C');
      await adminAt(c, C).setSampleReferenceValue('launch_digest', ['abcde']);
      assert.ok((await guestAt(A).getResource('cluster/stale/rv')).equals(secret), 'reference value restored through C, attested on A');
      await adminAt(c, A).setResourcePolicy(policy('allow_all'));
    });

    await t.test(`${FLOWS} flows through nginx, ${CONCURRENCY} at a time, one instance SIGKILLed mid-run`, async () => {
      const secrets = Array.from({ length: RESOURCES }, () => randomBytes(32));
      for (const [i, s] of secrets.entries()) await adminAt(c, urls[i % 3]!).setResource(`cluster/load/${i}`, s);
      const keys = Array.from({ length: CONCURRENCY * 2 }, () => TeeKeyPair.generate());
      const victim = 1;
      let killed = false;

      // Admin writes through nginx during the run: distinct keys, so an acknowledged write must be readable.
      const acked = new Map<string, Buffer>();
      let adminRetryable = 0;
      let stopWriter = false;
      const admin = new KbsClient({ transport: new HttpTransport({ url: c.url }), adminToken: c.adminToken });
      const writer = (async () => {
        for (let n = 0; !stopWriter && n < 200; n++) {
          const path = `cluster/written/${n}`;
          const value = randomBytes(24);
          try {
            await admin.setResource(path, value);
            acked.set(path, value);
          } catch (e) {
            if (!isRetryable(e)) throw e;
            adminRetryable++;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      })();

      const one = async (i: number): Promise<FlowOutcome> => {
        const r = i % RESOURCES;
        return runFlow(new HttpTransport({ url: c.url }), keys[i % keys.length]!, `cluster/load/${r}`, secrets[r]!);
      };
      const outcomes = await runFlows(FLOWS, CONCURRENCY, one, async (done) => {
        if (!killed && done >= FLOWS / 3) {
          killed = true;
          await c.kill(victim);
        }
      });
      stopWriter = true;
      await writer;

      assert.ok(killed, 'the instance was killed mid-run');
      assert.equal(outcomes.length, FLOWS);
      const wrong = outcomes.filter((o) => o.kind === 'wrong-secret');
      const fatal = outcomes.filter((o) => o.kind === 'fatal');
      const retryable = outcomes.filter((o) => o.kind === 'retryable');
      const ok = outcomes.filter((o) => o.kind === 'ok');
      assert.deepEqual(wrong, [], 'never a wrong secret');
      assert.deepEqual(fatal, [], 'only retryable errors');
      t.diagnostic(`flows: ${ok.length} ok, ${retryable.length} retryable; admin writes: ${acked.size} acknowledged, ${adminRetryable} retryable`);
      assert.ok(ok.length >= FLOWS * 0.75, `most flows succeed (${ok.length}/${FLOWS}); retryable: ${retryable.map((o) => (o as { message: string }).message).slice(0, 3).join(' | ')}`);
      // After the kill nginx stops sending to the dead instance: the last flows all succeed.
      assert.ok(outcomes.slice(-CONCURRENCY).every((o) => o.kind === 'ok'), 'flows after the kill succeed');
      assert.ok(acked.size > 0, 'some admin writes were acknowledged');

      // Every acknowledged write is readable through each surviving instance (one attested guest per instance).
      for (const [i, url] of urls.entries()) {
        if (i === victim) continue;
        const guest = guestAt(url);
        for (const [path, value] of acked) assert.ok((await guest.getResource(path)).equals(value), `${path} through instance ${i}`);
        for (const [r, s] of secrets.entries()) assert.ok((await guest.getResource(`cluster/load/${r}`)).equals(s));
      }
      // A session begun on the dead instance's peers still completes across the survivors.
      const tr = new SpreadTransport([A, C]);
      assert.ok((await new KbsClient({ transport: tr, teeKey: TeeKeyPair.generate() }).getResource('cluster/load/0')).equals(secrets[0]!));
    });
  } finally {
    await c.stop();
  }
});
