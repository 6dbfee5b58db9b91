// security-cases.md #20/#21: no policy or a policy that does not compile → deny; evaluation error or an `allow`
// that is undefined or not exactly `true` → deny; installing an allow-all policy is an explicit, logged choice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { samplePolicy } from '../../src/kbs/resource-policy.js';
import { call, errorType, handshake } from '../kbs/support/rcar.js';
import { kbsWithSecret, RESOURCE, SECRET } from './support.js';

const released = (r: { status: number; text: string }) => r.status === 200 || r.text.includes(SECRET) || r.text.includes('ciphertext');

test('#20 no stored resource policy (deleted behind the KBS) → deny, not default-allow', async (t) => {
  const { k } = await kbsWithSecret(t);
  const { cookie } = await handshake(k.url);
  assert.equal((await call(k.url, 'GET', RESOURCE, { headers: { cookie } })).status, 200, 'control: allow_all releases');
  const kv = await k.storage.open('kbs');
  for (const key of await kv.list()) await kv.delete(key);
  const r = await call(k.url, 'GET', RESOURCE, { headers: { cookie } });
  assert.ok(!released(r), r.text);
  assert.equal(r.status, 401);
});

test('#20 a policy that does not compile is refused and the previous (deny) policy stays in force', async (t) => {
  const { k, setPolicy } = await kbsWithSecret(t, {}, samplePolicy('deny_all'));
  const { cookie } = await handshake(k.url);
  for (const bad of ['package policy\nallow if {', 'package policy\nallow := true\nallow := false if {', 'not rego at all', '']) {
    const status = await setPolicy(bad);
    assert.notEqual(status, 200, JSON.stringify(bad));
    const r = await call(k.url, 'GET', RESOURCE, { headers: { cookie } });
    assert.ok(!released(r), `after ${JSON.stringify(bad)}: ${r.text}`);
    assert.equal(errorType(r), 'PolicyDeny');
  }
});

test('#21 evaluation errors and allow values other than exactly true deny', async (t) => {
  const { k, setPolicy } = await kbsWithSecret(t, {}, null);
  const { cookie } = await handshake(k.url);
  const policies: Record<string, string> = {
    'undefined allow (no default)': 'package policy\nimport rego.v1\nallow if { input.nope == 1 }\n',
    'allow is the string "true"': 'package policy\nallow := "true"\n',
    'allow is 1': 'package policy\nallow := 1\n',
    'allow is [true]': 'package policy\nallow := [true]\n',
    'allow is an object': 'package policy\nallow := {"ok": true}\n',
    'allow in another package': 'package other\nallow := true\n',
    'conflicting complete rule (eval_conflict_error)': 'package policy\nimport rego.v1\nallow := true if { input.submods }\nallow := false if { input.submods }\n',
    'builtin error in the only allow rule (strict)': 'package policy\nimport rego.v1\nallow if { x := to_number("not a number"); x > 0 }\n',
    'division by zero': 'package policy\nimport rego.v1\nallow if { 1 / 0 > 0 }\n',
  };
  for (const [name, rego] of Object.entries(policies)) {
    const status = await setPolicy(rego);
    if (status !== 200) continue; // refused at compile time: also fail-closed
    const r = await call(k.url, 'GET', RESOURCE, { headers: { cookie } });
    assert.ok(!released(r), `${name}: ${r.status} ${r.text}`);
    assert.equal(r.status, 401, name);
    assert.ok(['PolicyDeny', 'PolicyEngineError'].includes(errorType(r) ?? ''), `${name}: ${errorType(r)}`);
  }
  // Control: `allow := true` in the same KBS releases, so the denials above are the policy's doing.
  assert.equal(await setPolicy('package policy\nallow := true\n'), 200);
  assert.equal((await call(k.url, 'GET', RESOURCE, { headers: { cookie } })).status, 200);
});

test('#21 installing allow_all is logged at warn level with the policy digest, never silently', async (t) => {
  let logs = '';
  const sink = new Writable({ write(chunk, _enc, cb) { logs += chunk.toString(); cb(); } });
  const logger = pino({ level: 'info' }, sink);
  const { setPolicy } = await kbsWithSecret(t, { logger: logger as never }, null);
  const allowAll = samplePolicy('allow_all');
  assert.equal(await setPolicy(allowAll), 200);
  const digest = createHash('sha256').update(allowAll).digest('hex');
  const entries = logs.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const hit = entries.find((e) => e.msg === 'resource policy replaced');
  assert.ok(hit, 'no log entry for the policy change');
  assert.ok((hit.level as number) >= 40, `logged at level ${String(hit.level)}, expected warn or above`);
  assert.equal(hit.sha256, digest);
});
