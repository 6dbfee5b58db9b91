// security-cases.md #27: flooding /auth must not grow the session store without bound. Oversized evidence (413),
// deeply nested JSON and the 64 KiB /auth body cap are covered in test/kbs/security.test.ts and
// test/kbs/attestation.test.ts; what is not capped today is the NUMBER of live sessions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../kbs/support/rcar.js';
import { kbsWithSecret } from './support.js';

const FLOOD = 400;

test('#27 a flood of /auth calls is capped (429) or bounded in storage', { todo: 'security gap: no cap on live RCAR sessions or /auth rate; each /auth stores a session (up to 64 KiB of extra-params) for its whole lifetime — src/kbs/routes/auth.ts:31, src/kbs/session.ts:85' }, async (t) => {
  const { k } = await kbsWithSecret(t);
  // ~60 KiB of extra-params per call: accepted by the 64 KiB /auth cap and stored with the session.
  const body = JSON.stringify({ version: '0.4.0', tee: 'sample', 'extra-params': { pad: 'x'.repeat(60_000) } });
  const statuses = new Map<number, number>();
  for (let i = 0; i < FLOOD; i++) {
    const r = await call(k.url, 'POST', '/kbs/v0/auth', { body, headers: { 'content-type': 'application/json' } });
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
  }
  const stored = (await (await k.storage.open('kbs_protocol_session')).list()).length;
  // Either some calls were throttled, or storage holds far fewer sessions than were requested.
  assert.ok((statuses.get(429) ?? 0) > 0 || stored < FLOOD / 2, `${FLOOD} /auth calls from one client: ${stored} sessions stored, statuses ${JSON.stringify([...statuses])}`);
});
