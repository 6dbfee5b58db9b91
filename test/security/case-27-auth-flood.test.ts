// security-cases.md #27: flooding /auth must not grow the session store without bound. Oversized evidence (413),
// deeply nested JSON and the 64 KiB /auth body cap are covered in test/kbs/security.test.ts and
// test/kbs/attestation.test.ts; this case covers the NUMBER of live sessions: `[attestation_service]
// max_sessions` caps them per instance, and calls beyond the cap answer 429 and store nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, errorType } from '../kbs/support/rcar.js';
import { kbsWithSecret } from './support.js';

const FLOOD = 400;
const CAP = 100;

test('#27 a flood of /auth calls is capped (429) and bounded in storage', async (t) => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const { k } = await kbsWithSecret(t, { clock: () => new Date(now) }, undefined, { attestation_service: { max_sessions: CAP } });
  // ~60 KiB of extra-params per call: accepted by the 64 KiB /auth cap and stored with the session.
  const body = JSON.stringify({ version: '0.4.0', tee: 'sample', 'extra-params': { pad: 'x'.repeat(60_000) } });
  const auth = () => call(k.url, 'POST', '/kbs/v0/auth', { body, headers: { 'content-type': 'application/json' } });
  const statuses = new Map<number, number>();
  let refused: Awaited<ReturnType<typeof auth>> | undefined;
  for (let i = 0; i < FLOOD; i++) {
    const r = await auth();
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    if (r.status === 429) refused ??= r;
  }
  const sessions = await k.storage.open('kbs_protocol_session');
  assert.deepEqual([...statuses].sort(), [[200, CAP], [429, FLOOD - CAP]], `statuses ${JSON.stringify([...statuses])}`);
  assert.equal((await sessions.list()).length, CAP, 'refused calls stored nothing');
  assert.ok(refused);
  assert.equal(refused.headers.get('set-cookie'), null, 'no session cookie on a refused call');
  assert.equal(errorType(refused), 'TooManySessions');
  assert.equal(refused.json.status, 429);

  // Once the sessions' lifetime (5 min) has passed, /auth is served again.
  now += 5 * 60_000 + 1;
  assert.equal((await auth()).status, 200);
});

test('#27 with the default session count cap, the byte cap bounds what big /auth bodies can park in storage', async (t) => {
  const MIB = 1024 * 1024;
  const { k } = await kbsWithSecret(t, {}, undefined, { attestation_service: { max_session_bytes: MIB } });
  const body = JSON.stringify({ version: '0.4.0', tee: 'sample', 'extra-params': { pad: 'x'.repeat(60_000) } });
  let ok = 0;
  let refused = 0;
  for (let i = 0; i < 40; i++) {
    const r = await call(k.url, 'POST', '/kbs/v0/auth', { body, headers: { 'content-type': 'application/json' } });
    if (r.status === 200) ok++;
    else if (r.status === 429 && errorType(r) === 'TooManySessions') refused++;
    else assert.fail(`unexpected ${r.status} ${r.text}`);
  }
  assert.ok(ok > 0 && ok < 40, `${ok} accepted`);
  assert.equal(refused, 40 - ok);
  const sessions = await k.storage.open('kbs_protocol_session');
  let bytes = 0;
  for (const key of await sessions.list()) bytes += (await sessions.get(key))!.length;
  assert.equal((await sessions.list()).length, ok);
  assert.ok(bytes <= MIB, `${bytes} bytes of sessions stored`);
  // Refused only because one more same-sized session would not have fitted.
  assert.ok(bytes + bytes / ok > MIB, `${bytes} bytes for ${ok} sessions: one more would fit`);
});
