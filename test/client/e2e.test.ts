/**
 * End to end: starts `bin/kbs` (built-in AS, local storage, admin through a key made by `kbs-client keygen`) on a free
 * loopback port and drives it with `bin/kbs-client` as a subprocess, as Trustee's kbs/test Makefile does with its
 * sample attester (specs/trustee.md §8.1).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes, generateKeyPairSync } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { kbsSkip as skip, runClient, startKbs, type KbsProcess } from './support/kbs-process.js';

const work = mkdtempSync(join(tmpdir(), 'kbs-client-e2e-'));
let kbs: KbsProcess | undefined;

const client = (args: string[], env: Record<string, string> = {}) => runClient(work, ['--url', kbs?.url ?? 'http://127.0.0.1:1', ...args], env);
const adminDir = join(work, 'admin');
const adminToken = join(adminDir, 'admin-token');
const config = (...args: string[]) => client(['config', '--admin-token-file', adminToken, ...args]);
const serverLog = () => kbs?.log().slice(-1000) ?? '';

before(async () => {
  if (skip) return;
  mkdirSync(adminDir);
  // The [admin] section comes from keygen's own output (keygen makes no request).
  const kg = await runClient(work, ['keygen', '--out-dir', adminDir, '--issuer', 'e2e', '--audience', 'kbs']);
  assert.equal(kg.code, 0, kg.err);
  const dataDir = join(work, 'data');
  kbs = await startKbs(
    work,
    [
      `data_dir = ${JSON.stringify(dataDir)}`,
      '',
      '[http_server]',
      'sockets = ["127.0.0.1:{{PORT}}"]',
      'insecure_http = true',
      '',
      '[attestation_service]',
      'type = "coco_as_builtin"',
      '',
      '[storage_backend]',
      'storage_type = "LocalFs"',
      '',
      '[storage_backend.backends.local_fs]',
      `dir_path = ${JSON.stringify(join(work, 'storage'))}`,
      '',
      kg.out,
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

const secret = randomBytes(16);

test('set-resource with the keygen admin token, allow-all policy, get-resource returns the bytes as base64', { skip }, async () => {
  writeFileSync(join(work, 'secret.bin'), secret);
  let r = await config('set-resource', '--path', 'one/two/three', '--resource-file', join(work, 'secret.bin'));
  assert.equal(r.code, 0, r.err + serverLog());
  r = await config('set-resource-policy', '--allow-all');
  assert.equal(r.code, 0, r.err);
  r = await client(['get-resource', '--path', 'one/two/three']);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, secret.toString('base64') + '\n');
});

test('admin calls without the token are refused', { skip }, async () => {
  const r = await client(['config', 'set-resource-policy', '--allow-all']);
  assert.equal(r.code, 1);
  assert.match(r.err, /^error: admin: set resource policy failed: HTTP 401/);
});

test('attest prints an ES256 JWT whose claims carry the sample evidence and our tee-pubkey', { skip }, async () => {
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' });
  writeFileSync(join(work, 'tee-ec.pem'), pem);
  const r = await client(['attest', '--tee-key-file', join(work, 'tee-ec.pem')]);
  assert.equal(r.code, 0, r.err);
  const token = r.out.trim();
  assert.equal(decodeProtectedHeader(token).alg, 'ES256');
  const claims = decodeJwt(token) as Record<string, any>;
  const ae = claims.submods?.cpu0?.['ear.veraison.annotated-evidence'];
  assert.ok(ae?.sample, 'sample claims present');
  assert.equal(ae.runtime_data_claims['tee-pubkey'].kty, 'EC');
});

test('passport: attest with an RSA key, then get-resource with the token file', { skip }, async () => {
  const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs1' });
  writeFileSync(join(work, 'tee-rsa.pem'), pem);
  const a = await client(['attest', '--tee-key-file', join(work, 'tee-rsa.pem')]);
  assert.equal(a.code, 0, a.err);
  writeFileSync(join(work, 'token'), a.out);
  const g = await client(['get-resource', '--path', 'one/two/three', '--tee-key-file', join(work, 'tee-rsa.pem'), '--attestation-token', join(work, 'token')]);
  assert.equal(g.code, 0, g.err);
  assert.equal(g.out, secret.toString('base64') + '\n');
});

test('sample device evidence is accepted (gpu0 submodule) with ENABLE_SAMPLE_DEVICE', { skip }, async () => {
  const r = await client(['attest'], { ENABLE_SAMPLE_DEVICE: '1' });
  assert.equal(r.code, 0, r.err);
  const claims = decodeJwt(r.out.trim()) as Record<string, any>;
  assert.ok(claims.submods?.gpu0, 'gpu0 submodule');
});

test('deny-all: get-resource fails with exit 1 and the policy detail', { skip }, async () => {
  let r = await config('set-resource-policy', '--deny-all');
  assert.equal(r.code, 0, r.err);
  r = await client(['get-resource', '--path', 'one/two/three']);
  assert.equal(r.code, 1);
  assert.equal(r.out, '');
  assert.match(r.err, /^error: resource: get resource one\/two\/three still unauthorized after 3 attempts: .*HTTP 401 PolicyDeny/);
});

test('delete-resource, then the resource is gone', { skip }, async () => {
  let r = await config('set-resource-policy', '--allow-all');
  assert.equal(r.code, 0, r.err);
  r = await config('delete-resource', '--path', 'one/two/three');
  assert.equal(r.code, 0, r.err);
  r = await client(['get-resource', '--path', 'one/two/three']);
  assert.equal(r.code, 1);
});

test('init-data: the token carries its digest and the data claims', { skip }, async () => {
  const text = 'algorithm = "sha384"\nversion = "0.1.0"\n\n[data]\n"note" = "hello from e2e"\n';
  writeFileSync(join(work, 'initdata.toml'), text);
  const r = await client(['attest', `@${join(work, 'initdata.toml')}`]);
  assert.equal(r.code, 0, r.err);
  const ae = (decodeJwt(r.out.trim()) as Record<string, any>).submods.cpu0['ear.veraison.annotated-evidence'];
  assert.deepEqual(ae.init_data_claims, { note: 'hello from e2e' });
  // §2.3: for the sample TEE the digest over the raw body is echoed as base64 in `init_data`.
  assert.equal(ae.init_data, createHash('sha384').update(text).digest('base64'));
});

test('reference values: set-sample-reference-value, then get-reference-value prints it Debug-quoted', { skip }, async () => {
  let r = await config('set-sample-reference-value', 'e2e_svn', '7');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'Reference Values Updated\n');
  r = await config('get-reference-value', '--id', 'e2e_svn');
  assert.equal(r.code, 0, r.err);
  // Trustee prints the body with Rust's {:?}: a quoted string whose content is the stored JSON value.
  assert.equal(r.out, '"[\\"7\\"]"\n');
});

test('attestation policy: a valid policy is stored, a broken one fails with the AS detail', { skip }, async () => {
  writeFileSync(join(work, 'ok.rego'), 'package policy\n\nimport rego.v1\n\ndefault hardware := 2\n');
  let r = await config('set-attestation-policy', '--policy-file', join(work, 'ok.rego'), '--id', 'e2e_policy');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^Set attestation policy success \n policy: /);
  writeFileSync(join(work, 'bad.rego'), 'package policy\n\nallow if {{{\n');
  r = await config('set-attestation-policy', '--policy-file', join(work, 'bad.rego'), '--id', 'e2e_policy');
  assert.equal(r.code, 1);
  assert.match(r.err, /^error: admin: set attestation policy failed: HTTP 401 AttestationError/);
});
