/**
 * End to end over HTTPS, as Trustee's `test-bgcheck` runs it: bin/kbs with a self-signed certificate made by the test,
 * kbs-client trusting it through `--cert-file`, and refusing the connection without it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kbsSkip as skip, runClient, startKbs, type KbsProcess } from './support/kbs-process.js';
import { selfSignedServerCert } from './support/tls.js';

const work = mkdtempSync(join(tmpdir(), 'kbs-client-e2e-https-'));
const dataDir = join(work, 'data');
const certFile = join(work, 'https.crt');
let kbs: KbsProcess | undefined;
const client = (args: string[], env: Record<string, string> = {}) =>
  runClient(work, ['--url', kbs?.url ?? 'https://127.0.0.1:1', ...args], env);

before(async () => {
  if (skip) return;
  const { certPem, keyPem } = await selfSignedServerCert();
  writeFileSync(certFile, certPem);
  writeFileSync(join(work, 'https.key'), keyPem, { mode: 0o600 });
  kbs = await startKbs(
    work,
    [
      `data_dir = ${JSON.stringify(dataDir)}`,
      '[http_server]',
      'sockets = ["127.0.0.1:{{PORT}}"]',
      `private_key = ${JSON.stringify(join(work, 'https.key'))}`,
      `certificate = ${JSON.stringify(certFile)}`,
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
    { caPem: certPem },
  );
});

after(() => {
  kbs?.stop();
  rmSync(work, { recursive: true, force: true });
});

test('HTTPS with --cert-file: set-resource, allow-all, get-resource', { skip }, async () => {
  const env = { KBS_DATA_DIR: dataDir };
  writeFileSync(join(work, 'secret.bin'), 'over tls');
  let r = await client(['--cert-file', certFile, 'config', 'set-resource', '--path', 'x/y/z', '--resource-file', join(work, 'secret.bin')], env);
  assert.equal(r.code, 0, r.err);
  r = await client(['--cert-file', certFile, 'config', 'set-resource-policy', '--allow-all'], env);
  assert.equal(r.code, 0, r.err);
  r = await client(['--cert-file', certFile, 'get-resource', '--path', 'x/y/z']);
  assert.equal(r.code, 0, r.err);
  assert.equal(Buffer.from(r.out.trim(), 'base64').toString(), 'over tls');
});

test('HTTPS without --cert-file: the untrusted certificate is refused at the first step', { skip }, async () => {
  const r = await client(['get-resource', '--path', 'x/y/z']);
  assert.equal(r.code, 1);
  assert.match(r.err, /^error: auth: POST \/kbs\/v0\/auth failed: .*(self.signed|certificate)/i);
});
