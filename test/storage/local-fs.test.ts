/** local-fs on disk: Trustee's layout (specs/trustee.md §6.4, §8.1 "one\x2Ftwo\x2Fthree") and our TTL/temp files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFsBackend } from '../../src/storage/local-fs.js';
import { StorageInvalidKeyError, StorageUnavailableError } from '../../src/storage/types.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kbt-lfs-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A controllable clock for TTL tests without sleeping. */
function manualClock(start = 1_700_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

test('keys become files named with literal \\x2F, holding the raw bytes (Trustee layout)', () =>
  withDir(async (dir) => {
    const s = await new LocalFsBackend({ dirPath: dir }).open('repository');
    const secret = Uint8Array.from([0, 1, 2, 255, 10, 13]);
    await s.set('one/two/three', secret);
    const file = join(dir, 'repository', 'one\\x2Ftwo\\x2Fthree');
    assert.deepEqual(new Uint8Array(await readFile(file)), secret);
    assert.deepEqual(await readdir(join(dir, 'repository')), ['one\\x2Ftwo\\x2Fthree']);
  }));

test('a data directory written by Trustee is read as it is', () =>
  withDir(async (dir) => {
    await mkdir(join(dir, 'kbs'));
    await writeFile(join(dir, 'kbs', 'resource-policy.rego'), 'package policy\n');
    await writeFile(join(dir, 'kbs', 'default\\x2Fkey\\x2F1'), Buffer.from([1, 2, 3]));
    const s = await new LocalFsBackend({ dirPath: dir }).open('kbs');
    assert.equal(dec(await s.get('resource-policy.rego')), 'package policy\n');
    assert.deepEqual(await s.get('default/key/1'), Uint8Array.from([1, 2, 3]));
    assert.deepEqual(await s.list(), ['default/key/1', 'resource-policy.rego']);
    assert.equal(await s.delete('default/key/1'), true);
    assert.ok(!existsSync(join(dir, 'kbs', 'default\\x2Fkey\\x2F1')));
  }));

test('TTL values live in "<name>+ttl" (magic, expiry, value); a plain set goes back to the raw file', () =>
  withDir(async (dir) => {
    const clock = manualClock();
    const s = await new LocalFsBackend({ dirPath: dir, clock: clock.now }).open('kbs_protocol_session');
    await s.set('abc', enc('authed'), { ttlMs: 300_000 });
    const raw = await readFile(join(dir, 'kbs_protocol_session', 'abc+ttl'));
    assert.equal(raw.subarray(0, 8).toString('latin1'), 'KBTTL1\0\0');
    assert.equal(Number(raw.readBigUInt64BE(8)), clock.now() + 300_000);
    assert.equal(raw.subarray(16).toString(), 'authed');
    assert.ok(!existsSync(join(dir, 'kbs_protocol_session', 'abc')));
    assert.deepEqual(await s.list(), ['abc']);

    clock.advance(299_999);
    assert.equal(dec(await s.get('abc')), 'authed');
    clock.advance(1);
    assert.equal(await s.get('abc'), undefined, 'expires exactly at the deadline');
    assert.deepEqual(await readdir(join(dir, 'kbs_protocol_session')), [], 'expired entry purged on read');

    await s.set('abc', enc('t'), { ttlMs: 10 });
    await s.set('abc', enc('plain'));
    assert.deepEqual(await readdir(join(dir, 'kbs_protocol_session')), ['abc']);
    clock.advance(1000);
    assert.equal(dec(await s.get('abc')), 'plain');
  }));

test('after a crash between the two steps of a write, "+ttl" wins; an expired one hides the raw file', () =>
  withDir(async (dir) => {
    const clock = manualClock();
    const backend = new LocalFsBackend({ dirPath: dir, clock: clock.now });
    const s = await backend.open('ns');
    await s.set('k', enc('ttl-value'), { ttlMs: 1000 });
    await writeFile(join(dir, 'ns', 'k'), 'raw-value'); // as if a plain set died before removing "+ttl"
    assert.equal(dec(await s.get('k')), 'ttl-value');
    assert.deepEqual(await s.list(), ['k']);
    clock.advance(1000);
    assert.deepEqual(await s.list(), []);
    assert.equal(await s.get('k'), undefined);
    assert.deepEqual(await readdir(join(dir, 'ns')), []);
  }));

test('list skips temp files, tombstones, directories and names outside the key alphabet', () =>
  withDir(async (dir) => {
    const s = await new LocalFsBackend({ dirPath: dir }).open('ns');
    await s.set('good', enc('1'));
    await writeFile(join(dir, 'ns', '+tmp.0123'), 'partial');
    await writeFile(join(dir, 'ns', 'has space'), 'x');
    await mkdir(join(dir, 'ns', 'subdir'));
    assert.deepEqual(await s.list(), ['good']);
  }));

test('open() removes temp files a crash left behind, but not fresh ones', () =>
  withDir(async (dir) => {
    await mkdir(join(dir, 'ns'));
    await writeFile(join(dir, 'ns', '+tmp.old'), 'x');
    await writeFile(join(dir, 'ns', '+tmp.new'), 'x');
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(join(dir, 'ns', '+tmp.old'), hourAgo, hourAgo);
    await new LocalFsBackend({ dirPath: dir }).open('ns');
    assert.deepEqual(await readdir(join(dir, 'ns')), ['+tmp.new']);
  }));

test('a corrupt "+ttl" file is an error, not a value', () =>
  withDir(async (dir) => {
    await mkdir(join(dir, 'ns'));
    await writeFile(join(dir, 'ns', 'k+ttl'), 'not a ttl header at all');
    const s = await new LocalFsBackend({ dirPath: dir }).open('ns');
    await assert.rejects(s.get('k'), StorageUnavailableError);
    await assert.rejects(s.take('k'), StorageUnavailableError);
  }));

test('keys whose file name would exceed 255 bytes are invalid keys', () =>
  withDir(async (dir) => {
    const s = await new LocalFsBackend({ dirPath: dir }).open('ns');
    await s.set('a'.repeat(251), enc('fits'));
    await assert.rejects(s.set('a'.repeat(252), enc('too long')), StorageInvalidKeyError);
    await assert.rejects(s.set('a/'.repeat(60), enc('escaped slashes count')), StorageInvalidKeyError);
    assert.deepEqual(await s.list(), ['a'.repeat(251)]);
  }));

test('a namespace with "/" is one directory with \\x2F, so it cannot collide with a key', () =>
  withDir(async (dir) => {
    const b = new LocalFsBackend({ dirPath: dir });
    await (await b.open('a')).set('b', enc('key b of a'));
    await (await b.open('a/b')).set('k', enc('key k of a/b'));
    assert.deepEqual((await readdir(dir)).sort(), ['a', 'a\\x2Fb']);
    assert.equal(dec(await (await b.open('a')).get('b')), 'key b of a');
  }));

test('getMany: a key too long for a file name fails the batch before any file is read (expired entries stay)', () =>
  withDir(async (dir) => {
    const clock = manualClock();
    const s = await new LocalFsBackend({ dirPath: dir, clock: clock.now }).open('ns');
    await s.set('old', enc('x'), { ttlMs: 1000 });
    await s.set('plain', enc('p'));
    clock.advance(2000);
    const tooLong = 'k'.repeat(300); // a valid key (≤ 1024), but 300 bytes is no file name
    await assert.rejects(s.getMany(['old', tooLong]), StorageInvalidKeyError);
    await assert.rejects(s.getMany([tooLong, 'old']), StorageInvalidKeyError);
    assert.ok(existsSync(join(dir, 'ns', 'old+ttl')), 'nothing was read, so the expired entry was not purged yet');
    assert.deepEqual((await s.getMany(['old', 'plain', 'old'])).map(dec), [undefined, 'p', undefined]);
    assert.ok(!existsSync(join(dir, 'ns', 'old+ttl')), 'reading the expired entry purges it, as get does');
  }));

test('getMany: an unreadable entry makes the whole batch StorageUnavailableError (never a partial answer)', () =>
  withDir(async (dir) => {
    const s = await new LocalFsBackend({ dirPath: dir }).open('ns');
    for (let i = 0; i < 40; i++) await s.set(`k${i}`, enc(`v${i}`));
    await writeFile(join(dir, 'ns', 'k7+ttl'), 'not a TTL header');
    await assert.rejects(s.getMany(Array.from({ length: 40 }, (_, i) => `k${i}`)), StorageUnavailableError);
    assert.equal(dec((await s.getMany(['k8']))[0]), 'v8');
  }));
