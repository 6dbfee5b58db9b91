/**
 * End to end with the KBS's embedded admin credentials (no `[admin]` section): kbs-client finds
 * `$KBS_DATA_DIR/admin-token` by itself (admin-token resolution, docs/kbs-client.md).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kbsSkip as skip, runClient, startKbs, type KbsProcess } from './support/kbs-process.js';

const work = mkdtempSync(join(tmpdir(), 'kbs-client-e2e-embedded-'));
const dataDir = join(work, 'data');
let kbs: KbsProcess | undefined;
const client = (args: string[], env: Record<string, string> = {}) => runClient(work, ['--url', kbs?.url ?? 'http://127.0.0.1:1', ...args], env);

before(async () => {
  if (skip) return;
  kbs = await startKbs(
    work,
    [
      `data_dir = ${JSON.stringify(dataDir)}`,
      '[http_server]',
      'sockets = ["127.0.0.1:{{PORT}}"]',
      '[storage_backend]',
      'storage_type = "LocalFs"',
      '[storage_backend.backends.local_fs]',
      `dir_path = ${JSON.stringify(join(work, 'storage'))}`,
      '[[plugins]]',
      'name = "resource"',
      'storage_backend_type = "kvstorage"',
      '',
    ].join('\n'),
    { KBS_DATA_DIR: dataDir },
  );
});

after(() => {
  kbs?.stop();
  rmSync(work, { recursive: true, force: true });
});

test('the embedded admin token in $KBS_DATA_DIR is used without --admin-token-file', { skip }, async () => {
  assert.ok(existsSync(join(dataDir, 'admin-token')), 'the KBS wrote its embedded admin token');
  writeFileSync(join(work, 'secret.bin'), 'embedded');
  const anonymous = await client(['config', 'set-resource', '--path', 'a/b/c', '--resource-file', join(work, 'secret.bin')]);
  assert.equal(anonymous.code, 1, 'no token found → anonymous → refused');
  assert.match(anonymous.err, /HTTP 401/);

  const env = { KBS_DATA_DIR: dataDir };
  let r = await client(['config', 'set-resource', '--path', 'a/b/c', '--resource-file', join(work, 'secret.bin')], env);
  assert.equal(r.code, 0, r.err);
  r = await client(['config', 'set-resource-policy', '--allow-all'], env);
  assert.equal(r.code, 0, r.err);
  r = await client(['get-resource', '--path', 'a/b/c']);
  assert.equal(r.code, 0, r.err);
  assert.equal(Buffer.from(r.out.trim(), 'base64').toString(), 'embedded');
});

test('--default sends the KBS default policy: the sample TEE gets nothing', { skip }, async () => {
  const env = { KBS_DATA_DIR: dataDir };
  let r = await client(['config', 'set-resource-policy', '--default'], env);
  assert.equal(r.code, 0, r.err);
  r = await client(['get-resource', '--path', 'a/b/c']);
  assert.equal(r.code, 1);
  assert.match(r.err, /PolicyDeny/);
});
