import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBackend } from '../../src/storage/memory.js';
import { SessionStore, SESSION_NAMESPACE, newNonce } from '../../src/kbs/session.js';
import { DirectoryResourceSource, ResourcePlugin } from '../../src/kbs/plugins/resource.js';
import { PluginInternalError } from '../../src/kbs/errors.js';
import { sessionIdFromCookieHeader } from '../../src/kbs/cookie.js';

const req = { version: '0.4.0', tee: 'sample', 'extra-params': '' };

test('a challenge is consumed once, even by two KBS instances on one store', async () => {
  let now = Date.parse('2026-06-01T00:00:00Z');
  const backend = new MemoryBackend(() => now);
  const clock = () => new Date(now);
  const a = new SessionStore(await backend.open(SESSION_NAMESPACE), 300_000, clock);
  const b = new SessionStore(await backend.open(SESSION_NAMESPACE), 300_000, clock);
  const nonce = newNonce();
  const s = await a.create(req, { nonce, 'extra-params': '' });
  assert.match(s.id, /^[0-9a-f]{32}$/);
  // Stored in Trustee's externally tagged form.
  const stored = JSON.parse(Buffer.from((await (await backend.open(SESSION_NAMESPACE)).get(s.id))!).toString());
  assert.deepEqual(Object.keys(stored), ['Authed']);
  assert.equal(stored.Authed.challenge.nonce, nonce);
  assert.equal(stored.Authed.timeout, '2026-06-01T00:05:00.000Z');

  assert.equal(await b.consumeChallenge(s.id, 'wrong nonce'), undefined);
  const results = await Promise.all([a.consumeChallenge(s.id, nonce), b.consumeChallenge(s.id, nonce)]);
  assert.equal(results.filter((r) => r !== undefined).length, 0, 'the wrong-nonce attempt already took it');

  const s2 = await a.create(req, { nonce, 'extra-params': '' });
  const both = await Promise.all([a.consumeChallenge(s2.id, nonce), b.consumeChallenge(s2.id, nonce)]);
  assert.equal(both.filter((r) => r !== undefined).length, 1);
  await a.markAttested(both.find((r) => r)!, 'tok');
  const got = await b.get(s2.id);
  assert.equal(got?.state, 'Attested');
  now += 300_001;
  assert.equal(await b.get(s2.id), undefined);
  assert.equal(await a.get('../../etc'), undefined);
});

test('cookie header parsing', () => {
  assert.equal(sessionIdFromCookieHeader('a=b; kbs-session-id=abc; c=d'), 'abc');
  assert.equal(sessionIdFromCookieHeader('kbs-session-idx=1'), undefined);
  assert.equal(sessionIdFromCookieHeader(undefined), undefined);
});

test('directory resource source: reads <dir>/<repo>/<type>/<tag>, follows in-tree symlinks only, read-only', async () => {
  const root = mkdtempSync(join(tmpdir(), 'kbs-dir-'));
  const dir = join(root, 'secrets');
  mkdirSync(join(dir, 'repo', 'type', '..data'), { recursive: true });
  writeFileSync(join(dir, 'repo', 'type', '..data', 'tag'), 'mounted');
  symlinkSync('..data/tag', join(dir, 'repo', 'type', 'tag'));
  writeFileSync(join(root, 'outside'), 'outside');
  symlinkSync(join(root, 'outside'), join(dir, 'repo', 'type', 'escape'));
  const plugin = new ResourcePlugin(new DirectoryResourceSource(dir));
  const get = (path: string[]) => plugin.handle({ method: 'GET', path, query: {}, body: Buffer.alloc(0) });
  assert.equal(Buffer.from(await get(['repo', 'type', 'tag'])).toString(), 'mounted');
  await assert.rejects(get(['repo', 'type', 'escape']), /not found/);
  await assert.rejects(get(['repo', 'type', 'missing']), /not found/);
  await assert.rejects(get(['repo', 'type', '..data']), PluginInternalError);
  await assert.rejects(plugin.handle({ method: 'POST', path: ['repo', 'type', 'new'], query: {}, body: Buffer.from('x') }), /read-only/);
});

test('challenge nonces: 32 bytes as 44-char padded base64, no repeats across several pool refills', () => {
  const seen = new Set<string>();
  // 4 KiB pool = 128 nonces; 1,000 nonces cross 7 refills.
  for (let i = 0; i < 1000; i++) {
    const n = newNonce();
    assert.equal(n.length, 44);
    assert.match(n, /^[A-Za-z0-9+/]{43}=$/);
    assert.equal(Buffer.from(n, 'base64').length, 32);
    assert.ok(!seen.has(n), `nonce ${i} repeats an earlier one`);
    seen.add(n);
  }
});
