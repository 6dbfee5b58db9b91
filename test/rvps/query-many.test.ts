/**
 * `Rvps.queryMany` gives exactly the answers of one `query` per name (absent, expired and malformed entries read as
 * absent), on every storage backend, and so does the remote (gRPC) client's version.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { StorageBackend } from '../../src/storage/types.js';
import { StorageInvalidKeyError } from '../../src/storage/types.js';
import { MemoryBackend } from '../../src/storage/memory.js';
import { Rvps, RV_NAMESPACE, type ReferenceValueProvider } from '../../src/rvps/index.js';
import { startRvpsGrpcServer } from '../../src/rvps/grpc-server.js';
import { connectRemoteRvps } from '../../src/rvps/grpc-client.js';
import type { Json } from '../../src/verifiers/types.js';
import { harnesses, uniquePrefix } from '../storage/harness.js';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64');
const msg = (o: unknown) => JSON.stringify({ version: '0.1.0', type: 'sample', payload: b64(o) });

const T0 = new Date('2026-06-01T00:00:00Z'); // batch A registered; expires 2027-06-01T00:00:00Z
const T1 = new Date('2026-09-01T00:00:00Z'); // batch B registered; expires 2027-09-01T00:00:00Z

const NAMES = [
  'svn',
  'launch_digest',
  'absent',
  'bad_json',
  'no_value',
  'bad_expiration',
  'null_value',
  'tcb',
  'svn', // duplicate
  'x/y',
  'major_version',
];

/** Every namespace the RVPS opens gets this run's prefix, so shared servers never see another run's values. */
function prefixed(backend: StorageBackend, prefix: string): StorageBackend {
  return { type: backend.type, open: (ns) => backend.open(`${prefix}_${ns}`), ping: () => backend.ping(), close: () => backend.close() };
}

/** Batch A at T0, batch B at T1 (overwrites svn), plus entries written straight into storage that are not valid. */
async function populate(storage: StorageBackend, clock: { now: Date }): Promise<Rvps> {
  const rvps = await Rvps.open(storage, () => clock.now);
  clock.now = T0;
  await rvps.register(msg({ svn: ['1'], launch_digest: ['abcde'], major_version: 1, 'x/y': { nested: [1, 2] } }));
  clock.now = T1;
  await rvps.register(msg({ tcb: 7, svn: ['2'] }));
  const kv = await storage.open(RV_NAMESPACE);
  const raw = (o: unknown) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o));
  await kv.set('bad_json', raw('{"name":"bad_json",'));
  await kv.set('no_value', raw({ version: '0.1.0', name: 'no_value', expiration: '2030-01-01T00:00:00Z' }));
  await kv.set('bad_expiration', raw({ version: '0.1.0', name: 'bad_expiration', expiration: 'soon', value: 1 }));
  await kv.set('null_value', raw({ version: '0.1.0', name: 'null_value', expiration: '2030-01-01T00:00:00Z', value: null }));
  return rvps;
}

/** What N single queries answer, as the map queryMany promises (first occurrence order, absent names left out). */
async function viaSingleQueries(rvps: ReferenceValueProvider, names: readonly string[], now?: Date): Promise<Map<string, Json>> {
  const out = new Map<string, Json>();
  for (const name of names) {
    const v = await rvps.query(name, now);
    if (v !== undefined && !out.has(name)) out.set(name, v);
  }
  return out;
}

const sameAnswers = (many: Map<string, Json>, singles: Map<string, Json>, label: string) =>
  assert.deepEqual([...many.entries()], [...singles.entries()], label);

for (const h of harnesses()) {
  describe(`Rvps.queryMany on ${h.name}`, () => {
    const prefix = uniquePrefix();
    let backend: StorageBackend;
    const clock = { now: T1 };
    let rvps: Rvps;

    before(async () => {
      backend = await h.create();
      rvps = await populate(prefixed(backend, prefix), clock);
    });
    after(async () => {
      await h.cleanup([`${prefix}_${RV_NAMESPACE}`]);
    });

    test('same answers as one query per name: live, absent, malformed, duplicate', async () => {
      const many = await rvps.queryMany(NAMES, T1);
      sameAnswers(many, await viaSingleQueries(rvps, NAMES, T1), 'at T1');
      // Not just "equal to itself": the values are the registered ones and the bad entries are absent.
      assert.deepEqual([...many.keys()], ['svn', 'launch_digest', 'null_value', 'tcb', 'x/y', 'major_version']);
      assert.deepEqual(many.get('svn'), ['2']);
      assert.deepEqual(many.get('x/y'), { nested: [1, 2] });
      assert.equal(many.get('null_value'), null);
      for (const name of ['absent', 'bad_json', 'no_value', 'bad_expiration']) assert.equal(many.has(name), false, name);
    });

    test('expired values are absent, exactly at the expiration second and after', async () => {
      const boundary = new Date('2027-06-01T00:00:00Z'); // batch A's expiration: expired from this instant
      const justBefore = new Date('2027-05-31T23:59:59.999Z');
      const allGone = new Date('2027-09-02T00:00:00Z');
      for (const now of [justBefore, boundary, allGone]) {
        sameAnswers(await rvps.queryMany(NAMES, now), await viaSingleQueries(rvps, NAMES, now), now.toISOString());
      }
      assert.deepEqual([...(await rvps.queryMany(NAMES, justBefore)).keys()], ['svn', 'launch_digest', 'null_value', 'tcb', 'x/y', 'major_version']);
      assert.deepEqual([...(await rvps.queryMany(NAMES, boundary)).keys()], ['svn', 'null_value', 'tcb']);
      assert.deepEqual([...(await rvps.queryMany(NAMES, allGone)).keys()], ['null_value']);
    });

    test('without `now` the injected clock decides, as for query', async () => {
      clock.now = new Date('2027-07-01T00:00:00Z');
      try {
        const many = await rvps.queryMany(NAMES);
        sameAnswers(many, await viaSingleQueries(rvps, NAMES), 'clock');
        assert.deepEqual([...many.keys()], ['svn', 'null_value', 'tcb']);
      } finally {
        clock.now = T1;
      }
    });

    test('empty list; an invalid name fails the whole batch as query fails for it', async () => {
      assert.equal((await rvps.queryMany([])).size, 0);
      const bad = 'rvps:///example.com/x:tag';
      await assert.rejects(rvps.query(bad), StorageInvalidKeyError);
      await assert.rejects(rvps.queryMany(['svn', bad]), StorageInvalidKeyError);
    });
  });
}

test('remote RVPS client: queryMany = one QueryReferenceValue per name, same answers as query', async () => {
  const clock = { now: T1 };
  const rvps = await populate(new MemoryBackend(), clock);
  const server = await startRvpsGrpcServer(rvps, '127.0.0.1:0');
  const remote = connectRemoteRvps(`http://127.0.0.1:${server.port}`);
  try {
    const many = await remote.queryMany(NAMES);
    sameAnswers(many, await viaSingleQueries(remote, NAMES), 'remote');
    sameAnswers(many, await rvps.queryMany(NAMES, T1), 'remote = local');
    assert.deepEqual(many.get('svn'), ['2']);
    assert.equal(many.has('absent'), false);
    assert.equal((await remote.queryMany([])).size, 0);
    clock.now = new Date('2027-06-01T00:00:00Z'); // the server's clock decides expiry for a remote RVPS
    assert.deepEqual([...(await remote.queryMany(NAMES)).keys()], ['svn', 'null_value', 'tcb']);
    await assert.rejects(remote.queryMany(['svn', 'rvps:///example.com/x:tag']));
  } finally {
    remote.close();
    await server.close();
  }
});
