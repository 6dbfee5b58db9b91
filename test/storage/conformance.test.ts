/**
 * One suite, every backend: the semantics the KBS, AS and RVPS rely on (types.ts; specs/trustee.md §6.4 plus take()
 * and TTL). Each backend gets fresh namespaces (random prefix) and removes them afterwards.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  StorageAlreadyExistsError,
  StorageInvalidKeyError,
  type KvStore,
  type StorageBackend,
} from '../../src/storage/types.js';
import { harnesses, sleep, uniquePrefix } from './harness.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

const INVALID_KEYS = ['', 'a b', 'a:b', 'ü', 'a\\x2Fb', 'a*', 'k\n', '.', '..', 'x'.repeat(1025)];
const INVALID_NAMESPACES = ['', '/a', 'a/', 'a//b', 'a/./b', 'a/../b', '..', '.', 'a b', 'a:b', 'x'.repeat(64)];

for (const h of harnesses()) {
  describe(`storage conformance: ${h.name}`, () => {
    const prefix = uniquePrefix();
    const used = new Set<string>();
    let backend: StorageBackend;
    let n = 0;
    /** A fresh namespace of this run. */
    const fresh = async (b: StorageBackend = backend, name = `${prefix}_${++n}`): Promise<KvStore> => {
      used.add(name);
      return b.open(name);
    };

    before(async () => {
      backend = await h.create();
      await backend.ping(); // an unreachable server fails the suite here
    });
    after(async () => {
      await h.cleanup([...used]);
    });

    test('set / get / list / delete', async () => {
      const s = await fresh();
      assert.equal(await s.get('missing'), undefined);
      assert.deepEqual(await s.list(), []);
      await s.set('b', enc('two'));
      await s.set('a', enc('one'));
      await s.set('c', enc('three'));
      assert.equal(dec(await s.get('a')), 'one');
      assert.deepEqual(await s.list(), ['a', 'b', 'c']);
      await s.set('a', enc('uno')); // overwrite is the default
      assert.equal(dec(await s.get('a')), 'uno');
      assert.equal(await s.delete('b'), true);
      assert.equal(await s.delete('b'), false);
      assert.equal(await s.get('b'), undefined);
      assert.deepEqual(await s.list(), ['a', 'c']);
      assert.equal(await s.delete('never'), false);
    });

    test('opening a namespace again sees the same data', async () => {
      const s = await fresh();
      await s.set('k', enc('v'));
      const again = await backend.open(s.namespace);
      assert.equal(dec(await again.get('k')), 'v');
    });

    test('overwrite:false refuses an existing key and leaves its value unchanged', async () => {
      const s = await fresh();
      await s.set('k', enc('first'), { overwrite: false });
      await assert.rejects(s.set('k', enc('second'), { overwrite: false }), (e: unknown) => {
        assert.ok(e instanceof StorageAlreadyExistsError);
        assert.equal(e.code, 'ERR_STORAGE_ALREADY_EXISTS');
        return true;
      });
      assert.equal(dec(await s.get('k')), 'first');
      await s.set('k', enc('third'), { overwrite: true });
      assert.equal(dec(await s.get('k')), 'third');
    });

    test('concurrent overwrite:false: exactly one writer wins', async () => {
      const s = await fresh();
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => s.set('once', enc(`w${i}`), { overwrite: false })));
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.equal(won.length, 1);
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof StorageAlreadyExistsError, String(r.reason));
      assert.equal(dec(await s.get('once')), `w${won[0]}`);
    });

    test('keys with "/" and the whole key alphabet are distinct keys', async () => {
      const s = await fresh();
      const keys = ['repo/type/tag', 'repo/type', 'repo', 'a/b/c/d/e', '.hidden', '...', 'A-Z_a-z.0-9', 'Key', 'key', '-', '_/./_'];
      for (const k of keys) await s.set(k, enc(`v:${k}`));
      for (const k of keys) assert.equal(dec(await s.get(k)), `v:${k}`, k);
      assert.deepEqual(await s.list(), [...keys].sort());
      assert.equal(await s.delete('repo/type'), true);
      assert.equal(dec(await s.get('repo/type/tag')), 'v:repo/type/tag');
      assert.equal(dec(await s.get('repo')), 'v:repo');
    });

    test('binary values: all 256 byte values, empty, 1 MiB', async () => {
      const s = await fresh();
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      const big = new Uint8Array(randomBytes(1024 * 1024));
      await s.set('all', all);
      await s.set('empty', new Uint8Array(0));
      await s.set('big', big);
      const gotAll = await s.get('all');
      assert.ok(gotAll instanceof Uint8Array);
      assert.deepEqual(Buffer.from(gotAll), Buffer.from(all));
      const gotEmpty = await s.get('empty');
      assert.ok(gotEmpty instanceof Uint8Array, 'an empty value is present, not absent');
      assert.equal(gotEmpty.length, 0);
      assert.ok(Buffer.from(big).equals(Buffer.from((await s.get('big'))!)));
      assert.deepEqual(await s.list(), ['all', 'big', 'empty']);
      const taken = await s.take('empty');
      assert.ok(taken instanceof Uint8Array && taken.length === 0);
    });

    test('stored values are copies: mutating the input or a result changes nothing', async () => {
      const s = await fresh();
      const v = enc('abc');
      await s.set('k', v);
      v[0] = 0x7a;
      const got = (await s.get('k'))!;
      got[1] = 0x7a;
      assert.equal(dec(await s.get('k')), 'abc');
    });

    test('a Buffer slice is stored as exactly its bytes', async () => {
      const s = await fresh();
      const pool = Buffer.from('xxhelloyy');
      await s.set('k', pool.subarray(2, 7));
      assert.equal(dec(await s.get('k')), 'hello');
    });

    test('TTL: values expire; expired keys are absent for every operation', async () => {
      const s = await fresh();
      const ttlMs = h.shortTtlMs;
      await s.set('short', enc('s'), { ttlMs });
      await s.set('long', enc('l'), { ttlMs: 600_000 });
      await s.set('forever', enc('f'));
      await s.set('ttl-then-plain', enc('1'), { ttlMs });
      await s.set('ttl-then-plain', enc('2')); // a plain set clears the TTL
      await s.set('plain-then-ttl', enc('1'));
      await s.set('plain-then-ttl', enc('2'), { ttlMs });
      for (const k of ['gone-get', 'gone-take', 'gone-delete', 'gone-nx']) await s.set(k, enc('x'), { ttlMs });
      assert.equal(dec(await s.get('short')), 's');
      assert.deepEqual(await s.list(), ['forever', 'gone-delete', 'gone-get', 'gone-nx', 'gone-take', 'long', 'plain-then-ttl', 'short', 'ttl-then-plain']);
      await h.elapse(ttlMs + 300);
      assert.equal(await s.get('short'), undefined);
      assert.equal(await s.get('gone-get'), undefined);
      assert.equal(await s.take('gone-take'), undefined);
      assert.equal(await s.delete('gone-delete'), false);
      await s.set('gone-nx', enc('new'), { overwrite: false }); // an expired key does not block overwrite:false
      assert.equal(dec(await s.get('gone-nx')), 'new');
      assert.equal(dec(await s.get('long')), 'l');
      assert.equal(dec(await s.get('forever')), 'f');
      assert.equal(dec(await s.get('ttl-then-plain')), '2');
      assert.equal(await s.get('plain-then-ttl'), undefined);
      assert.deepEqual(await s.list(), ['forever', 'gone-nx', 'long', 'ttl-then-plain']);
    });

    test('TTL: overwrite:false is refused while a TTL value is still live', async () => {
      const s = await fresh();
      await s.set('k', enc('a'), { ttlMs: 60_000 });
      await assert.rejects(s.set('k', enc('b'), { overwrite: false }), StorageAlreadyExistsError);
      assert.equal(dec(await s.get('k')), 'a');
      assert.equal(dec(await s.take('k')), 'a');
    });

    test('bad TTLs and values are rejected and nothing is stored', async () => {
      const s = await fresh();
      for (const ttlMs of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await assert.rejects(s.set('k', enc('v'), { ttlMs }), RangeError);
      }
      await assert.rejects(s.set('k', 'string' as unknown as Uint8Array), TypeError);
      await assert.rejects(s.set('k', enc('v'), { overwrite: 'no' as unknown as boolean }), TypeError);
      assert.deepEqual(await s.list(), []);
    });

    test('take: returns the value once, then nothing', async () => {
      const s = await fresh();
      await s.set('nonce', enc('n1'));
      assert.equal(dec(await s.take('nonce')), 'n1');
      assert.equal(await s.take('nonce'), undefined);
      assert.equal(await s.get('nonce'), undefined);
      assert.equal(await s.take('never'), undefined);
      assert.deepEqual(await s.list(), []);
    });

    test('take: 50 concurrent takes of one key, exactly one gets the value', async () => {
      const s = await fresh();
      // Half of the takers use a second, independent instance where the backend is shared between instances.
      const other = h.shared ? await (await h.create()).open(s.namespace) : s;
      for (const ttlMs of [undefined, 60_000]) {
        const value = new Uint8Array(randomBytes(64));
        await s.set('nonce', value, ttlMs === undefined ? {} : { ttlMs });
        const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? other : s).take('nonce')));
        const winners = results.filter((r) => r !== undefined);
        assert.equal(winners.length, 1, `ttl ${ttlMs}`);
        assert.deepEqual(Buffer.from(winners[0]!), Buffer.from(value));
        assert.equal(await s.get('nonce'), undefined);
      }
    });

    test('invalid keys are rejected by every operation and nothing is stored', async () => {
      const s = await fresh();
      for (const key of INVALID_KEYS) {
        const label = JSON.stringify(key.slice(0, 20));
        await assert.rejects(s.set(key, enc('v')), StorageInvalidKeyError, label);
        await assert.rejects(s.set(key, enc('v'), { overwrite: false, ttlMs: 1000 }), StorageInvalidKeyError, label);
        await assert.rejects(s.get(key), StorageInvalidKeyError, label);
        await assert.rejects(s.delete(key), StorageInvalidKeyError, label);
        await assert.rejects(s.take(key), StorageInvalidKeyError, label);
      }
      await assert.rejects(s.get(undefined as unknown as string), StorageInvalidKeyError);
      assert.deepEqual(await s.list(), []);
    });

    test('getMany: empty list, order, duplicates, missing keys, "/" keys', async () => {
      const s = await fresh();
      assert.deepEqual(await s.getMany([]), []);
      assert.deepEqual(await s.getMany(['nothing', 'here']), [undefined, undefined]);
      await s.set('b', enc('two'));
      await s.set('a', enc('one'));
      await s.set('repo/type/tag', enc('slash'));
      await s.set('repo', enc('no slash'));
      const keys = ['b', 'missing', 'a', 'repo/type/tag', 'b', 'repo', 'repo/type', 'a', 'missing'];
      const got = await s.getMany(keys);
      assert.equal(got.length, keys.length);
      assert.deepEqual(got.map(dec), ['two', undefined, 'one', 'slash', 'two', 'no slash', undefined, 'one', undefined]);
      // Exactly what get answers, key by key, also after take/delete/overwrite.
      await s.take('a');
      await s.delete('repo');
      await s.set('b', enc('deux'));
      const after = await s.getMany(keys);
      const single = await Promise.all(keys.map((k) => s.get(k)));
      assert.deepEqual(after.map(dec), single.map(dec));
      assert.deepEqual(after.map(dec), ['deux', undefined, undefined, 'slash', 'deux', undefined, undefined, undefined, undefined]);
      // The caller's array is not touched.
      assert.deepEqual(keys, ['b', 'missing', 'a', 'repo/type/tag', 'b', 'repo', 'repo/type', 'a', 'missing']);
    });

    test('getMany: arbitrary bytes, empty values are present, answers are independent copies', async () => {
      const s = await fresh();
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      const edges = new Uint8Array([0x00, 0xff, 0x00, 0x80, 0xff, 0x00]);
      await s.set('all', all);
      await s.set('edges', edges);
      await s.set('empty', new Uint8Array(0));
      await s.set('zero', new Uint8Array([0]));
      const [gotAll, gotEdges, gotEmpty, gotZero, gotAll2] = await s.getMany(['all', 'edges', 'empty', 'zero', 'all']);
      assert.ok(gotAll instanceof Uint8Array && gotAll2 instanceof Uint8Array);
      assert.deepEqual(Buffer.from(gotAll), Buffer.from(all));
      assert.deepEqual(Buffer.from(gotEdges!), Buffer.from(edges));
      assert.ok(gotEmpty instanceof Uint8Array, 'an empty value is present, not absent');
      assert.equal(gotEmpty.length, 0);
      assert.deepEqual(Buffer.from(gotZero!), Buffer.from([0]));
      // Mutating one answer changes neither the duplicate answer nor the store.
      assert.notEqual(gotAll, gotAll2);
      gotAll[0] = 0xaa;
      assert.equal(gotAll2[0], 0);
      assert.deepEqual(Buffer.from((await s.get('all'))!), Buffer.from(all));
    });

    test('getMany: expired keys read as undefined, exactly as get', async () => {
      const s = await fresh();
      const ttlMs = h.shortTtlMs;
      await s.set('short', enc('s'), { ttlMs });
      await s.set('long', enc('l'), { ttlMs: 600_000 });
      await s.set('forever', enc('f'));
      await s.set('plain-then-ttl', enc('1'));
      await s.set('plain-then-ttl', enc('2'), { ttlMs });
      await s.set('ttl-then-plain', enc('1'), { ttlMs });
      await s.set('ttl-then-plain', enc('2'));
      const keys = ['short', 'long', 'forever', 'plain-then-ttl', 'ttl-then-plain', 'short'];
      assert.deepEqual((await s.getMany(keys)).map(dec), ['s', 'l', 'f', '2', '2', 's']);
      await h.elapse(ttlMs + 300);
      const got = await s.getMany(keys);
      assert.deepEqual(got.map(dec), [undefined, 'l', 'f', undefined, '2', undefined]);
      assert.deepEqual((await Promise.all(keys.map((k) => s.get(k)))).map(dec), got.map(dec));
      assert.deepEqual(await s.list(), ['forever', 'long', 'ttl-then-plain']);
      // An expired key is free again, and getMany sees the new value.
      await s.set('short', enc('again'), { overwrite: false });
      assert.deepEqual((await s.getMany(['short'])).map(dec), ['again']);
    });

    test('getMany: one invalid key fails the whole call before any I/O', async () => {
      const s = await fresh();
      await s.set('ok', enc('v'));
      for (const key of INVALID_KEYS) {
        const label = JSON.stringify(key.slice(0, 20));
        await assert.rejects(s.getMany(['ok', key, 'ok']), StorageInvalidKeyError, label);
        await assert.rejects(s.getMany([key]), StorageInvalidKeyError, label);
      }
      await assert.rejects(s.getMany(['ok', undefined as unknown as string]), StorageInvalidKeyError);
      await assert.rejects(s.getMany('ok' as unknown as string[]), TypeError);
      // A closed instance would answer StorageUnavailableError to any I/O: the key check must come first.
      const closed = await h.create();
      const cs = await closed.open(s.namespace);
      await closed.close();
      await assert.rejects(cs.getMany(['ok', 'a b']), StorageInvalidKeyError);
      assert.deepEqual((await s.getMany(['ok'])).map(dec), ['v']);
    });

    test('getMany: 1,200 keys in one call (more than one MySQL chunk), present and absent interleaved', async () => {
      const s = await fresh();
      const keys = Array.from({ length: 1200 }, (_, i) => `rv/${String(i).padStart(4, '0')}`);
      const stored = keys.filter((_, i) => i % 3 === 0);
      for (let i = 0; i < stored.length; i += 50) {
        await Promise.all(stored.slice(i, i + 50).map((k) => s.set(k, enc(`v:${k}`))));
      }
      // The last key repeats the first, so a duplicate spans the chunk boundary.
      const asked = [...keys, keys[0]!];
      const got = await s.getMany(asked);
      assert.equal(got.length, asked.length);
      asked.forEach((k, i) => assert.equal(dec(got[i]), stored.includes(k) ? `v:${k}` : undefined, k));
    });

    test('invalid namespaces are rejected at open', async () => {
      for (const ns of INVALID_NAMESPACES) {
        await assert.rejects(backend.open(ns), StorageInvalidKeyError, JSON.stringify(ns));
      }
    });

    test('namespaces are isolated, including nested ones', async () => {
      const a = await fresh();
      const b = await fresh();
      const nested = await fresh(backend, `${a.namespace}/sub`);
      await a.set('k', enc('in a'));
      await b.set('k', enc('in b'));
      await nested.set('k', enc('in a/sub'));
      await b.set('only-b', enc('x'));
      assert.equal(dec(await a.get('k')), 'in a');
      assert.equal(dec(await b.get('k')), 'in b');
      assert.equal(dec(await nested.get('k')), 'in a/sub');
      assert.deepEqual(await a.list(), ['k']);
      assert.deepEqual(await nested.list(), ['k']);
      assert.deepEqual(await b.list(), ['k', 'only-b']);
      assert.equal(dec(await a.take('k')), 'in a');
      assert.equal(dec(await b.get('k')), 'in b');
      assert.equal(dec(await nested.get('k')), 'in a/sub');
      assert.equal(await a.delete('only-b'), false);
      assert.equal(dec(await b.get('only-b')), 'x');
    });

    test('a second instance sees the data (persistence across instances)', { skip: h.shared ? false : 'in-process only' }, async () => {
      const s = await fresh();
      await s.set('p/q', enc('persisted'));
      await s.set('t', enc('ttl'), { ttlMs: 60_000 });
      const second = await h.create();
      const s2 = await second.open(s.namespace);
      assert.equal(dec(await s2.get('p/q')), 'persisted');
      assert.deepEqual(await s2.list(), ['p/q', 't']);
      assert.equal(dec(await s2.take('t')), 'ttl');
      assert.equal(await s.get('t'), undefined);
    });

    test('backend type is the Trustee storage_type name', () => {
      assert.equal(backend.type, h.name);
    });
  });
}
