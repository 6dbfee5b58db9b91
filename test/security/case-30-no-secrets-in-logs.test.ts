// security-cases.md #30: secrets, tokens, private keys — and session ids, which are bearer credentials — never
// appear in logs or error bodies. Complements test/kbs/security.test.ts (#30), which covers resource values, the
// admin token, attestation tokens and the signing keys on the success path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startKbs } from '../kbs/support/harness.js';
import { attest, attestationBody, auth, call, ecTeeKey, handshake } from '../kbs/support/rcar.js';
import { kbsWithSecret, RESOURCE } from './support.js';

test('#30 session ids (cookies) and failed-attestation inputs are not logged or echoed', async (t) => {
  let logs = '';
  const sink = new Writable({ write(chunk, _enc, cb) { logs += chunk.toString(); cb(); } });
  const logger = pino({ level: 'trace' }, sink);
  const { k } = await kbsWithSecret(t, { logger: logger as never, log: { info: (m: string) => logger.info(m), warn: (m: string) => logger.warn(m) } });
  const { cookie } = await handshake(k.url);
  const sessionId = cookie.split('=')[1]!;
  const bodies: string[] = [];
  bodies.push((await call(k.url, 'GET', RESOURCE, { headers: { cookie } })).text);
  // A failed attestation whose evidence carries a recognisable marker.
  const a = await auth(k.url);
  const failedId = a.cookie.split('=')[1]!;
  const body = attestationBody(a.nonce, ecTeeKey()) as any;
  const marker = 'EVIDENCE-MARKER-' + 'q'.repeat(24);
  body['tee-evidence'].primary_evidence.report_data = Buffer.from(marker.padEnd(48, '.')).toString('base64');
  const r = await attest(k.url, a.cookie, body);
  assert.equal(r.status, 401);
  bodies.push(r.text);
  // An unknown session id in a cookie.
  const forged = 'f'.repeat(32);
  bodies.push((await call(k.url, 'GET', RESOURCE, { headers: { cookie: `kbs-session-id=${forged}` } })).text);
  assert.ok(logs.length > 0, 'the logger saw nothing: the test would prove nothing');
  for (const needle of [sessionId, failedId, forged, body['tee-evidence'].primary_evidence.report_data, marker]) {
    assert.ok(!logs.includes(needle), `log leaks ${needle.slice(0, 12)}…`);
    for (const b of bodies) assert.ok(!b.includes(needle), `error body leaks ${needle.slice(0, 12)}…`);
  }
});

test('#30 a private key given where a public key belongs is refused without quoting it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-sec30-'));
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const path = join(dir, 'oops.pem');
  writeFileSync(path, pem);
  const raw = {
    admin: {
      authorization_mode: 'AuthenticatedAuthorization',
      authentication: { bearer_jwt: { identity_providers: [{ public_key_uri: path }] } },
      authorization: { regex_acl: { acls: [{ role: 'r', allowed_endpoints: '^/kbs/.+$' }] } },
    },
  };
  let err: unknown;
  try {
    const k = await startKbs(raw);
    await k.stop();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof Error, 'a private key as identity-provider key must be refused');
  const body = pem.split('\n').slice(1, -2).join('');
  for (const line of pem.split('\n').slice(1, -2)) assert.ok(!(err as Error).message.includes(line), 'error quotes the private key');
  assert.ok(!String((err as Error).stack).includes(body.slice(0, 40)));
});
