import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { repoRoot } from '../support/testdata.js';

const BIN = join(repoRoot, 'bin', 'kbs');

test('bin/kbs: a bad config exits 2 naming the key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-bin-'));
  writeFileSync(join(dir, 'bad.toml'), '[http_server]\nsockets = ["127.0.0.1:0"]\nworkers = 3\n');
  const r = spawnSync(process.execPath, [BIN, '-c', join(dir, 'bad.toml')], { encoding: 'utf8', env: { ...process.env, KBS_DATA_DIR: join(dir, 'data') } });
  assert.equal(r.status, 2);
  assert.match(r.stdout + r.stderr, /http_server\.workers/);
  const r2 = spawnSync(process.execPath, [BIN], { encoding: 'utf8', env: { ...process.env, KBS_CONFIG_FILE: join(dir, 'missing.toml') } });
  assert.equal(r2.status, 2);
});

test('bin/kbs: starts from KBS_CONFIG_FILE, creates the embedded admin credentials and logs their path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-bin-'));
  writeFileSync(join(dir, 'kbs.yaml'), `data_dir: ${JSON.stringify(join(dir, 'data'))}\nhttp_server:\n  sockets: ["127.0.0.1:0"]\n`);
  const child = spawn(process.execPath, [BIN], { env: { ...process.env, KBS_CONFIG_FILE: join(dir, 'kbs.yaml') } });
  let out = '';
  const listening = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c) => {
      out += c;
      const m = /KBS listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  try {
    assert.match(out, new RegExp(`admin token: ${join(dir, 'data', 'admin-token').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const res = await fetch(`${listening}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(statSync(join(dir, 'data', 'admin-key.pem')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'data', 'admin-token')).mode & 0o777, 0o600);
    const claims = decodeJwt(readFileSync(join(dir, 'data', 'admin-token'), 'utf8').trim());
    assert.equal(claims.iss, 'keybroker-embedded');
    assert.equal(claims.aud, 'keybroker-admin');
    assert.equal(claims.role, 'admin');
    assert.equal((claims.exp as number) - (claims.iat as number), 365 * 24 * 3600);
    const policies = await fetch(`${listening}/kbs/v0/resource-policy`, { headers: { authorization: `Bearer ${readFileSync(join(dir, 'data', 'admin-token'), 'utf8').trim()}` } });
    assert.equal(policies.status, 200);
  } finally {
    child.removeAllListeners('exit');
    child.kill('SIGTERM');
  }
});
