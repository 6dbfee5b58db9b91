// security-cases.md #22: policy ids and resource / reference-value paths with `../`, `%2e%2e%2f`, absolute paths,
// NUL and Unicode confusables are refused and store nothing. Resource paths are covered in test/kbs/resource.test.ts
// ("bad resource paths…") and test/kbs/security.test.ts (#22); this file covers attestation-policy ids and
// reference-value ids through the admin API, and the storage directory of the data dir.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { readdirSync } from 'node:fs';
import { b64url } from '../kbs/support/harness.js';
import { call, errorType } from '../kbs/support/rcar.js';
import { kbsWithSecret } from './support.js';

const HOSTILE_IDS = [
  '../default_cpu', '..', '.', '%2e%2e%2fx', '/etc/passwd', 'C:\\x', 'a\u0000b', 'def\u0430ult_cpu', 'default\u2215cpu',
  'default_cpu\u200b', 'default cpu', 'x'.repeat(129), '', 'a/b', '\uff0e\uff0e',
];

test('#22 hostile attestation-policy ids are refused and no policy is stored under them', async (t) => {
  const { k, admin } = await kbsWithSecret(t);
  const before = await k.kbs.ctx.as!.listPolicies();
  for (const id of HOSTILE_IDS) {
    const r = await call(k.url, 'POST', '/kbs/v0/attestation-policy', { body: JSON.stringify({ policy_id: id, policy: b64url('package policy\n') }), headers: admin });
    assert.equal(r.status, 401, JSON.stringify(id));
    assert.equal(errorType(r), 'AttestationError', JSON.stringify(id));
  }
  assert.deepEqual(await k.kbs.ctx.as!.listPolicies(), before);
  // Control: an ASCII id is accepted, so the refusals above are about the ids.
  const ok = await call(k.url, 'POST', '/kbs/v0/attestation-policy', { body: JSON.stringify({ policy_id: 'my-policy_1', policy: b64url('package policy\n') }), headers: admin });
  assert.equal(ok.status, 200, ok.text);
  // Nothing escaped the data directory's layout either.
  assert.ok(!readdirSync(k.dataDir, { recursive: true }).some((p) => String(p).includes('passwd')));
});

test('#22 hostile reference-value ids are refused on read (raw bytes on the wire, not normalised by fetch)', async (t) => {
  const { k, admin } = await kbsWithSecret(t);
  const get = (path: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const u = new URL(k.url);
      const req = httpRequest({ host: u.hostname, port: u.port, method: 'GET', path: `/kbs/v0/reference-value/${path}`, headers: admin }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end();
    });
  // Control: a registered id is readable through the same raw request helper.
  const reg = await call(k.url, 'POST', '/kbs/v0/reference-value', {
    body: JSON.stringify({ version: '0.1.0', type: 'sample', payload: Buffer.from(JSON.stringify({ svn: ['1'] })).toString('base64') }),
    headers: { ...admin, 'content-type': 'application/json' },
  });
  assert.equal(reg.status, 200, reg.text);
  assert.equal((await get('svn')).status, 200);
  for (const p of ['../kbs/resource-policy.rego', '%2e%2e/kbs/resource-policy.rego', '%2e%2e%2fkbs%2fresource-policy.rego', 'a/../../x', 'a%00b', '/etc/passwd', 'a//b', '.']) {
    const r = await get(p);
    // 401 (InvalidRequestPath / RvpsError) or 404 (no route matches): either way a refusal, never content.
    assert.ok(r.status === 401 || r.status === 404, `${p}: ${r.status}`);
    assert.doesNotMatch(r.text, /package policy/, p);
  }
});
