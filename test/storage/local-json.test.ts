/** local-json on disk: Trustee's one-file-per-namespace `{key: base64url(value)}` map, plus our "@expires" member. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalJsonBackend, encodeB64UrlPadded } from '../../src/storage/local-json.js';
import { StorageUnavailableError } from '../../src/storage/types.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kbt-ljson-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('base64url with padding, as Rust base64 URL_SAFE writes it (RFC 4648 §5 alphabet)', () => {
  // 0xfb 0xff → standard "+/8=" → URL-safe "-_8="
  assert.equal(encodeB64UrlPadded(Uint8Array.from([0xfb, 0xff])), '-_8=');
  assert.equal(encodeB64UrlPadded(enc('a')), 'YQ==');
  assert.equal(encodeB64UrlPadded(enc('abc')), 'YWJj');
  assert.equal(encodeB64UrlPadded(new Uint8Array(0)), '');
});

test('one file per namespace, no extension, {key: b64url(value)}', () =>
  withDir(async (dir) => {
    const s = await new LocalJsonBackend({ fileDirPath: dir }).open('reference_value');
    await s.set('b/c', Uint8Array.from([0xfb, 0xff]));
    await s.set('a', enc('a'));
    assert.deepEqual(await readdir(dir), ['reference_value']);
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'reference_value'), 'utf8')), { a: 'YQ==', 'b/c': '-_8=' });
  }));

test('a file written by Trustee (padded or not) is read as it is', () =>
  withDir(async (dir) => {
    await writeFile(join(dir, 'kbs'), JSON.stringify({ 'resource-policy.rego': encodeB64UrlPadded(enc('package policy')), x: 'YQ' }));
    const s = await new LocalJsonBackend({ fileDirPath: dir }).open('kbs');
    assert.equal(dec(await s.get('resource-policy.rego')), 'package policy');
    assert.equal(dec(await s.get('x')), 'a');
    assert.deepEqual(await s.list(), ['resource-policy.rego', 'x']);
  }));

test('TTLs are kept in an "@expires" member whose value is a string (the file stays a string map)', () =>
  withDir(async (dir) => {
    let now = 1_000_000;
    const s = await new LocalJsonBackend({ fileDirPath: dir, clock: () => now }).open('sessions');
    await s.set('sess', enc('v'), { ttlMs: 500 });
    await s.set('plain', enc('p'));
    const doc = JSON.parse(await readFile(join(dir, 'sessions'), 'utf8')) as Record<string, unknown>;
    for (const v of Object.values(doc)) assert.equal(typeof v, 'string');
    assert.deepEqual(JSON.parse(doc['@expires'] as string), { sess: 1_000_500 });
    assert.deepEqual(await s.list(), ['plain', 'sess']);
    now += 500;
    assert.equal(await s.get('sess'), undefined);
    assert.deepEqual(await s.list(), ['plain']);
    await s.set('plain', enc('q')); // a rewrite drops the expired entry and the now-empty member
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'sessions'), 'utf8')), { plain: 'cQ==' });
  }));

test('a corrupt file is StorageUnavailableError and is left untouched by writes', () =>
  withDir(async (dir) => {
    for (const bad of ['{not json', '[]', '{"k": 5}', '{"k": "not base64!"}', '{"@expires": "[1]"}']) {
      await writeFile(join(dir, 'ns'), bad);
      const s = await new LocalJsonBackend({ fileDirPath: dir }).open('ns');
      await assert.rejects(s.get('k'), StorageUnavailableError, bad);
      await assert.rejects(s.set('k', enc('v')), StorageUnavailableError, bad);
      await assert.rejects(s.take('k'), StorageUnavailableError, bad);
      assert.equal(await readFile(join(dir, 'ns'), 'utf8'), bad);
    }
  }));

test('concurrent writes within the process are serialized: none is lost', () =>
  withDir(async (dir) => {
    const s = await new LocalJsonBackend({ fileDirPath: dir }).open('ns');
    await Promise.all(Array.from({ length: 40 }, (_, i) => s.set(`k${i}`, enc(String(i)))));
    assert.equal((await s.list()).length, 40);
    assert.deepEqual((await readdir(dir)).sort(), ['ns'], 'no temp files left');
  }));
