import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBackend } from '../../src/storage/memory.js';
import { Rvps, expirationFrom, RV_NAMESPACE } from '../../src/rvps/index.js';
import { RvpsError } from '../../src/rvps/errors.js';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64');
const msg = (o: unknown, extra: Record<string, unknown> = {}) => JSON.stringify({ version: '0.1.0', type: 'sample', payload: b64(o), ...extra });

test('expiration = now + 12 months, seconds precision', () => {
  assert.equal(expirationFrom(new Date('2026-06-01T12:34:56.789Z')), '2027-06-01T12:34:56Z');
  assert.equal(expirationFrom(new Date('2028-02-29T00:00:00Z')), '2029-02-28T00:00:00Z');
});

test('sample extractor: one reference value per key, stored in Trustee layout', async () => {
  let now = new Date('2026-06-01T00:00:00Z');
  const storage = new MemoryBackend();
  const rvps = await Rvps.open(storage, () => now);
  await rvps.register(msg({ svn: ['1'], launch_digest: ['abcde'], major_version: 1, minimum_minor_version: 1 }));
  assert.deepEqual(await rvps.query('svn'), ['1']);
  assert.equal(await rvps.query('major_version'), 1);
  assert.equal(await rvps.query('absent'), undefined);
  const raw = await (await storage.open(RV_NAMESPACE)).get('launch_digest');
  assert.deepEqual(JSON.parse(Buffer.from(raw!).toString()), { version: '0.1.0', name: 'launch_digest', expiration: '2027-06-01T00:00:00Z', value: ['abcde'] });
  // Overwrite.
  await rvps.register(msg({ svn: ['2'] }));
  assert.deepEqual(await rvps.query('svn'), ['2']);
  // Unlike Trustee, expired values are not returned.
  now = new Date('2027-06-01T00:00:00Z');
  assert.equal(await rvps.query('svn'), undefined);
  assert.deepEqual(await rvps.query('svn', new Date('2027-05-31T23:59:59Z')), ['2']);
});

test('register: version other than 0.1.0, unknown type, bad payload → RvpsError, nothing stored', async () => {
  const storage = new MemoryBackend();
  const rvps = await Rvps.open(storage, () => new Date('2026-06-01T00:00:00Z'));
  const bad = [
    'not json',
    '[]',
    msg({ a: 1 }, { version: '0.2.0' }),
    msg({ a: 1 }, { type: 'in-toto' }),
    JSON.stringify({ version: '0.1.0', type: 'sample', payload: '***' }),
    JSON.stringify({ version: '0.1.0', type: 'sample', payload: b64([1, 2]) }),
    JSON.stringify({ version: '0.1.0', type: 'sample', payload: Buffer.from('nope').toString('base64') }),
    JSON.stringify({ version: '0.1.0', type: 'sample' }),
  ];
  for (const m of bad) await assert.rejects(rvps.register(m), RvpsError, m);
  assert.deepEqual(await rvps.names(), []);
});

test('register: missing version defaults to 0.1.0', async () => {
  const rvps = await Rvps.open(new MemoryBackend());
  await rvps.register(JSON.stringify({ type: 'sample', payload: b64({ x: 'y' }) }));
  assert.equal(await rvps.query('x'), 'y');
});

test('register: one invalid name in a batch → RvpsError naming it, and none of the batch is stored', async () => {
  const storage = new MemoryBackend();
  const rvps = await Rvps.open(storage, () => new Date('2026-06-01T00:00:00Z'));
  // Keys are sorted in the payload so the valid one would be written first by a naive loop.
  await assert.rejects(
    rvps.register(msg({ aaa_valid: ['1'], 'rvps:///example.com/x:tag': ['2'] })),
    (e: unknown) => e instanceof RvpsError && e.code === 'ERR_RVPS_MESSAGE' && /rvps:\/\/\/example\.com\/x:tag/.test(e.message),
  );
  assert.deepEqual(await rvps.names(), []);
});
