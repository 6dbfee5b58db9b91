/**
 * What the database backends leave on the server is Trustee's layout (specs/trustee.md §6.4), checked with the
 * drivers directly: Postgres table `<ns>` (key TEXT, value BYTEA), also when Trustee's set-up SQL created it without
 * our expires_at column; Redis key `<ns>:<key>` holding the raw bytes with a native TTL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import { PostgresBackend } from '../../src/storage/postgres.js';
import { RedisBackend } from '../../src/storage/redis.js';
import { MySqlBackend } from '../../src/storage/mysql.js';
import { MYSQL_URL, POSTGRES_URL, REDIS_URL, uniquePrefix } from './harness.js';

test('postgres: a table made by Trustee\'s set-up SQL is used as is (expires_at added), rows read back', async () => {
  const ns = uniquePrefix();
  const direct = new pg.Client({ connectionString: POSTGRES_URL });
  await direct.connect();
  const backend = new PostgresBackend({ url: POSTGRES_URL, host: '', port: 0, db: '', username: '' }, { sweepIntervalMs: 0 });
  try {
    await direct.query(`CREATE TABLE "${ns}" (key TEXT PRIMARY KEY, value BYTEA)`);
    await direct.query(`INSERT INTO "${ns}" (key, value) VALUES ($1, $2)`, ['repo/type/tag', Buffer.from([1, 2, 3])]);
    const s = await backend.open(ns);
    assert.deepEqual(await s.get('repo/type/tag'), Uint8Array.from([1, 2, 3]));
    await s.set('new/key', Buffer.from('x'), { ttlMs: 60_000 });
    const cols = await direct.query(`SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY column_name`, [ns]);
    assert.deepEqual(cols.rows.map((r) => r.column_name), ['expires_at', 'key', 'value']);
    const rows = await direct.query(`SELECT key, value, expires_at IS NOT NULL AS ttl FROM "${ns}" ORDER BY key`);
    assert.deepEqual(rows.rows.map((r) => [r.key, Buffer.from(r.value).toString('hex'), r.ttl]), [
      ['new/key', '78', true],
      ['repo/type/tag', '010203', false],
    ]);
  } finally {
    await direct.query(`DROP TABLE IF EXISTS "${ns}"`);
    await direct.end();
    await backend.close();
  }
});

test('redis: key "<ns>:<key>", raw bytes, native expiry', async () => {
  const ns = uniquePrefix();
  const direct = new Redis(REDIS_URL);
  const backend = new RedisBackend({ url: REDIS_URL });
  try {
    const s = await backend.open(ns);
    await s.set('one/two', Uint8Array.from([0, 255]));
    await s.set('sess', Buffer.from('x'), { ttlMs: 60_000 });
    assert.equal((await direct.getBuffer(`${ns}:one/two`))?.toString('hex'), '00ff');
    assert.equal(await direct.pttl(`${ns}:one/two`), -1);
    const pttl = await direct.pttl(`${ns}:sess`);
    assert.ok(pttl > 0 && pttl <= 60_000, String(pttl));
    await direct.set(`${ns}:from-trustee`, 'v'); // written by Trustee
    assert.deepEqual(await s.list(), ['from-trustee', 'one/two', 'sess']);
  } finally {
    await backend.dropNamespace(ns);
    await backend.close();
    direct.disconnect();
  }
});

test('mysql: table `<ns>` with binary keys (case-sensitive) and LONGBLOB values', async () => {
  const ns = uniquePrefix();
  const direct = await mysql.createConnection({ uri: MYSQL_URL });
  const backend = new MySqlBackend({ url: MYSQL_URL, host: '', port: 0, db: '', username: '' }, { sweepIntervalMs: 0 });
  try {
    const s = await backend.open(ns);
    await s.set('Key', Buffer.from('upper'));
    await s.set('key', Buffer.from('lower'));
    const [rows] = await direct.query<mysql.RowDataPacket[]>(`SELECT \`key\`, value FROM \`${ns}\` ORDER BY \`key\``);
    assert.deepEqual(rows.map((r) => [Buffer.from(r.key).toString(), Buffer.from(r.value).toString()]), [
      ['Key', 'upper'],
      ['key', 'lower'],
    ]);
  } finally {
    await backend.dropNamespace(ns);
    await backend.close();
    await direct.end();
  }
});
