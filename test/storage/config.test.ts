import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { ConfigError } from '../../src/util/config-error.js';
import { parseStorageBackendConfig, parseStorageType, withStorageType } from '../../src/storage/config.js';
import { createStorageBackend, rebasePath } from '../../src/storage/registry.js';
import { LocalFsBackend } from '../../src/storage/local-fs.js';
import { LocalJsonBackend } from '../../src/storage/local-json.js';
import { testdataPath, testdataSkip } from '../support/testdata.js';

function rejectsKey(fn: () => unknown, key: string, secret?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.key, key);
    assert.ok(e.message.includes(key));
    if (secret) assert.ok(!e.message.includes(secret), `message leaks ${secret}: ${e.message}`);
    return true;
  });
}

test('no [storage_backend]: Trustee defaults (Memory; default paths, postgres and redis settings)', () => {
  const c = parseStorageBackendConfig(undefined);
  assert.equal(c.storageType, 'Memory');
  assert.equal(c.backends.localFs.dirPath, '/opt/confidential-containers/storage/local_fs');
  assert.equal(c.backends.localJson.fileDirPath, '/opt/confidential-containers/storage/local_json');
  assert.deepEqual(c.backends.postgres, { host: 'localhost', port: 5432, db: 'postgres', username: 'postgres' });
  assert.deepEqual(c.backends.redis, { url: 'redis://127.0.0.1:6379' });
  assert.equal(parseStorageBackendConfig({}).storageType, 'Memory');
});

test('storage_type: Trustee names and their snake_case aliases, nothing else', () => {
  const cases: Record<string, string> = {
    Memory: 'Memory', memory: 'Memory', LocalFs: 'LocalFs', local_fs: 'LocalFs', LocalJson: 'LocalJson',
    local_json: 'LocalJson', Postgres: 'Postgres', postgres: 'Postgres', Redis: 'Redis', redis: 'Redis',
    MySql: 'MySql', mysql: 'MySql',
  };
  for (const [name, type] of Object.entries(cases)) assert.equal(parseStorageBackendConfig({ storage_type: name }).storageType, type);
  for (const bad of ['localfs', 'LOCALFS', 'Sqlite', '', 'toString', 1, null]) {
    rejectsKey(() => parseStorageBackendConfig({ storage_type: bad }), 'storage_backend.storage_type');
  }
  rejectsKey(() => parseStorageType('nope', 'session_storage_type'), 'session_storage_type');
});

test('the dotted-key form used by Trustee configs', () => {
  const doc = parseToml(`
[storage_backend]
storage_type = "local_json"
backends.local_json.file_dir_path = "/var/lib/kbs/json"
backends.postgres = { host = "db", port = 6543, db = "kbs", username = "kbs", password = "pw" }
[storage_backend.backends.mysql]
url = "mysql://kbs@db:3307/kbs"
`);
  const c = parseStorageBackendConfig(doc.storage_backend);
  assert.equal(c.storageType, 'LocalJson');
  assert.equal(c.backends.localJson.fileDirPath, '/var/lib/kbs/json');
  assert.deepEqual(c.backends.postgres, { host: 'db', port: 6543, db: 'kbs', username: 'kbs', password: 'pw' });
  assert.equal(c.backends.mysql.url, 'mysql://kbs@db:3307/kbs');
});

test("Trustee's own configs parse", { skip: testdataSkip('kbs/test-config/kbs.toml') }, () => {
  const kbs = parseToml(readFileSync(testdataPath('kbs/test-config/kbs.toml'), 'utf8')) as Record<string, unknown>;
  const c = parseStorageBackendConfig(kbs.storage_backend);
  assert.equal(c.storageType, 'LocalFs');
  assert.equal(c.backends.localFs.dirPath, './work/storage');
  const as = JSON.parse(readFileSync(testdataPath('coco-as/configs/example1.json'), 'utf8')) as Record<string, unknown>;
  const a = parseStorageBackendConfig(as.storage_backend);
  assert.equal(a.storageType, 'LocalFs');
  assert.equal(a.backends.localFs.dirPath, '/opt/confidential-containers/attestation-service');
});

test('unknown keys are rejected, naming the key', () => {
  rejectsKey(() => parseStorageBackendConfig({ storage_typ: 'Memory' }), 'storage_backend.storage_typ');
  rejectsKey(() => parseStorageBackendConfig({ backends: { sqlite: {} } }), 'storage_backend.backends.sqlite');
  rejectsKey(() => parseStorageBackendConfig({ backends: { local_fs: { dir: '/x' } } }), 'storage_backend.backends.local_fs.dir');
  rejectsKey(() => parseStorageBackendConfig({ backends: { postgres: { url: 'postgres://x' } } }), 'storage_backend.backends.postgres.url');
  rejectsKey(() => parseStorageBackendConfig({ backends: { redis: { host: 'x' } } }), 'storage_backend.backends.redis.host');
  rejectsKey(() => parseStorageBackendConfig({ x: 1 }, { key: 'rvps.storage' }), 'rvps.storage.x');
});

test('bad values are rejected, naming the key and never echoing a URL or password', () => {
  const pg = 'storage_backend.backends.postgres';
  rejectsKey(() => parseStorageBackendConfig('LocalFs'), 'storage_backend');
  rejectsKey(() => parseStorageBackendConfig({ backends: [] }), 'storage_backend.backends');
  rejectsKey(() => parseStorageBackendConfig({ backends: { postgres: { port: '5432' } } }), `${pg}.port`);
  rejectsKey(() => parseStorageBackendConfig({ backends: { postgres: { port: 70000 } } }), `${pg}.port`);
  rejectsKey(() => parseStorageBackendConfig({ backends: { postgres: { port: 1.5 } } }), `${pg}.port`);
  rejectsKey(() => parseStorageBackendConfig({ backends: { postgres: { host: '' } } }), `${pg}.host`);
  rejectsKey(() => parseStorageBackendConfig({ backends: { postgres: { password: 42 } } }), `${pg}.password`);
  rejectsKey(() => parseStorageBackendConfig({ backends: { local_fs: { dir_path: 5 } } }), 'storage_backend.backends.local_fs.dir_path');
  rejectsKey(() => parseStorageBackendConfig({ backends: { local_json: { file_dir_path: '' } } }), 'storage_backend.backends.local_json.file_dir_path');
  rejectsKey(
    () => parseStorageBackendConfig({ backends: { redis: { url: 'http://u:hunter2@h:1' } } }),
    'storage_backend.backends.redis.url',
    'hunter2',
  );
  rejectsKey(
    () => parseStorageBackendConfig({ backends: { mysql: { url: 'mysql://root:hunter2@[broken' } } }),
    'storage_backend.backends.mysql.url',
    'hunter2',
  );
  assert.equal(parseStorageBackendConfig({ backends: { postgres: { port: 5433n } } }).backends.postgres.port, 5433);
});

test('env POSTGRES_URL, REDIS_URL, MYSQL_URL override the file', () => {
  const env = { POSTGRES_URL: 'postgres://a:b@pg:5/db', REDIS_URL: 'rediss://r:6380', MYSQL_URL: 'mariadb://m/db' };
  const c = parseStorageBackendConfig({ backends: { redis: { url: 'redis://file:6379' }, postgres: { host: 'filehost' } } }, { env });
  assert.equal(c.backends.postgres.url, env.POSTGRES_URL);
  assert.equal(c.backends.redis.url, env.REDIS_URL);
  assert.equal(c.backends.mysql.url, env.MYSQL_URL);
  assert.equal(parseStorageBackendConfig(undefined, { env: { REDIS_URL: '' } }).backends.redis.url, 'redis://127.0.0.1:6379');
  rejectsKey(() => parseStorageBackendConfig(undefined, { env: { POSTGRES_URL: 'mysql://x:hunter2@h/d' } }), 'env POSTGRES_URL', 'hunter2');
  // without an env argument, process.env is not consulted
  assert.equal(parseStorageBackendConfig(undefined).backends.postgres.url, undefined);
});

test('createStorageBackend picks the backend by type; withStorageType overrides it', async () => {
  const base = parseStorageBackendConfig({ storage_type: 'local_fs', backends: { local_fs: { dir_path: '/tmp/kbt-never-created' } } });
  for (const type of ['Memory', 'LocalFs', 'LocalJson', 'Postgres', 'Redis', 'MySql'] as const) {
    const b = createStorageBackend(withStorageType(base, type));
    assert.equal(b.type, type);
    await b.close(); // database backends connect lazily: nothing to wait for
  }
});

test('dataDir rebases on-disk paths as Trustee replace_base_dir does', () => {
  assert.equal(rebasePath('/opt/confidential-containers/storage/local_fs', '/home/u/.trustee'), '/home/u/.trustee/storage/local_fs');
  assert.equal(rebasePath('./work/storage', '/srv/kbs'), '/srv/kbs/work/storage');
  assert.equal(rebasePath('/var/lib/kbs', '/srv/kbs'), '/var/lib/kbs');
  assert.equal(rebasePath('/opt/confidential-containers/x', undefined), '/opt/confidential-containers/x');
  const c = parseStorageBackendConfig({ storage_type: 'LocalFs' });
  const fs = createStorageBackend(c, { dataDir: '/srv/kbs' });
  assert.ok(fs instanceof LocalFsBackend);
  assert.equal(fs.dirPath, '/srv/kbs/storage/local_fs');
  const json = createStorageBackend(withStorageType(c, 'LocalJson'), { dataDir: '/srv/kbs' });
  assert.ok(json instanceof LocalJsonBackend);
  assert.equal(json.fileDirPath, '/srv/kbs/storage/local_json');
});
