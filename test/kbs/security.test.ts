// KBS cases from specs/security-cases.md (numbers in test names).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { SignJWT, flattenedDecrypt, decodeJwt } from 'jose';
import { canonicalize } from '../../src/util/jcs.js';
import { MemoryBackend } from '../../src/storage/memory.js';
import { samplePolicy } from '../../src/kbs/resource-policy.js';
import { startKbs, b64url } from './support/harness.js';
import { attest, attestationBody, auth, call, ecTeeKey, errorType, handshake } from './support/rcar.js';

async function allowAllKbs(t: { after(fn: () => Promise<void>): void }, opts = {}) {
  const k = await startKbs({}, opts);
  t.after(() => k.stop());
  const admin = { authorization: `Bearer ${k.adminToken}` };
  await call(k.url, 'POST', '/kbs/v0/resource/a/b/c', { body: 'secret', headers: admin });
  await call(k.url, 'POST', '/kbs/v0/resource-policy', { body: JSON.stringify({ policy: b64url(samplePolicy('allow_all')) }), headers: admin });
  return { k, admin };
}

test('#10 correct nonce but tee-pubkey swapped for the attacker key: rejected', async (t) => {
  const { k } = await allowAllKbs(t);
  const victim = ecTeeKey();
  const attacker = ecTeeKey();
  const a = await auth(k.url);
  const body = attestationBody(a.nonce, victim); // evidence binds the victim key…
  body['runtime-data']['tee-pubkey'] = attacker.jwk; // …the request names the attacker's
  const r = await attest(k.url, a.cookie, body);
  assert.equal(r.status, 401);
  assert.equal(errorType(r), 'AttestationError');
});

test('#11 runtime data hashed with another algorithm or with reordered/whitespace JSON is rejected', async (t) => {
  const { k } = await allowAllKbs(t);
  const key = ecTeeKey();
  for (const digest of [
    (n: string) => createHash('sha256').update(canonicalize({ 'additional-evidence': '', nonce: n, 'tee-pubkey': key.jwk })).digest(),
    (n: string) => createHash('sha384').update(JSON.stringify({ nonce: n, 'tee-pubkey': key.jwk, 'additional-evidence': '' }, null, 1)).digest(),
  ]) {
    const a = await auth(k.url);
    const body = attestationBody(a.nonce, key);
    body['tee-evidence'].primary_evidence.report_data = digest(a.nonce).toString('base64');
    assert.equal((await attest(k.url, a.cookie, body)).status, 401);
  }
});

test('#12/#13 another client using a stolen cookie or token only gets ciphertext for the original key', async (t) => {
  const { k } = await allowAllKbs(t);
  const victim = ecTeeKey();
  const { cookie, token } = await handshake(k.url, victim);
  const thief = ecTeeKey();
  for (const headers of [{ cookie }, { authorization: `Bearer ${token}` }] as Record<string, string>[]) {
    const r = await call(k.url, 'GET', '/kbs/v0/resource/a/b/c', { headers });
    assert.equal(r.status, 200);
    await assert.rejects(flattenedDecrypt(r.json, thief.privateKey));
    const { plaintext } = await flattenedDecrypt(r.json, victim.privateKey);
    assert.equal(Buffer.from(plaintext).toString(), 'secret');
  }
});

test('#12 a cookie whose token has expired no longer releases anything', async (t) => {
  let now = new Date();
  const { k } = await allowAllKbs(t, { clock: () => now });
  const { cookie, token } = await handshake(k.url);
  now = new Date(((decodeJwt(token).exp as number) + 61) * 1000);
  const r = await call(k.url, 'GET', '/kbs/v0/resource/a/b/c', { headers: { cookie } });
  assert.equal(r.status, 401);
  assert.ok(['TokenVerifierError', 'TokenNotFound'].includes(errorType(r) ?? ''));
});

test('#14/#15 trusted signer but no tee-pubkey → no release; unknown crit header → refused', async (t) => {
  const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { k } = await allowAllKbs(t, { trustedSignerKeys: [signer.publicKey] });
  const jwk = { ...signer.publicKey.export({ format: 'jwk' }), alg: 'ES256' } as never;
  const claims = { submods: { cpu0: { 'ear.status': 'affirming' } } };
  const noKey = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', jwk }).setExpirationTime('5m').sign(signer.privateKey);
  let r = await call(k.url, 'GET', '/kbs/v0/resource/a/b/c', { headers: { authorization: `Bearer ${noKey}` } });
  assert.equal(r.status, 401);
  assert.equal(errorType(r), 'TokenVerifierError');
  assert.doesNotMatch(r.text, /secret/);
  // With a tee-pubkey at the top level it is released (encrypted) — so the refusal above was about the key.
  const tee = ecTeeKey();
  const withKey = await new SignJWT({ ...claims, 'tee-pubkey': tee.jwk }).setProtectedHeader({ alg: 'ES256', jwk }).setExpirationTime('5m').sign(signer.privateKey);
  r = await call(k.url, 'GET', '/kbs/v0/resource/a/b/c', { headers: { authorization: `Bearer ${withKey}` } });
  assert.equal(r.status, 200);
  const crit = await new SignJWT({ ...claims, 'tee-pubkey': tee.jwk }).setProtectedHeader({ alg: 'ES256', jwk, crit: ['x-unknown'], 'x-unknown': 1 } as never).setExpirationTime('5m').sign(signer.privateKey).catch(() => undefined);
  if (crit) {
    r = await call(k.url, 'GET', '/kbs/v0/resource/a/b/c', { headers: { authorization: `Bearer ${crit}` } });
    assert.equal(errorType(r), 'TokenVerifierError');
  }
});

test('#18 alg none variants, zero signatures, traversal kid, oversized token', async (t) => {
  const { k } = await allowAllKbs(t);
  const { token } = await handshake(k.url);
  const [h, p] = token.split('.') as [string, string, string];
  const header = JSON.parse(Buffer.from(h, 'base64url').toString());
  const get = (tok: string) => call(k.url, 'GET', '/kbs/v0/resource/a/b/c', { headers: { authorization: `Bearer ${tok}` } });
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    const r = await get(`${b64url(JSON.stringify({ ...header, alg }))}.${p}.`);
    assert.equal(errorType(r), 'TokenVerifierError', alg);
  }
  const zero = await get(`${h}.${p}.${b64url(Buffer.alloc(64))}`);
  assert.equal(errorType(zero), 'TokenVerifierError');
  const kid = await get(`${b64url(JSON.stringify({ alg: 'ES256', kid: '../../../../etc/passwd' }))}.${p}.${b64url(Buffer.alloc(64, 1))}`);
  assert.equal(errorType(kid), 'TokenVerifierError');
  const huge = await get(`${h}.${b64url('x'.repeat(64 * 1024))}.${token.split('.')[2]}`);
  assert.ok(huge.status === 401 || huge.status === 431, String(huge.status));
});

test('#22 Unicode confusables and encoded separators in resource paths are refused', async (t) => {
  const { k, admin } = await allowAllKbs(t);
  for (const p of ['\u0430/b/c', 'a/b/c\u2215d', 'a/b/%2e%2e%2f', 'a/b/c%20']) {
    const r = await call(k.url, 'POST', `/kbs/v0/resource/${p}`, { body: 'x', headers: admin });
    assert.equal(r.status, 401, p);
  }
  assert.deepEqual(await (await k.storage.open('repository')).list(), ['a/b/c']);
});

test('#27 deeply nested JSON and oversized evidence are refused without crashing', async (t) => {
  const { k } = await allowAllKbs(t);
  const deep = '['.repeat(500_000) + ']'.repeat(500_000);
  let r = await call(k.url, 'POST', '/kbs/v0/auth', { body: deep });
  assert.equal(r.status, 413);
  r = await call(k.url, 'POST', '/kbs/v0/auth', { body: '['.repeat(30_000) + ']'.repeat(30_000) });
  assert.equal(r.status, 401);
  const a = await auth(k.url);
  const key = ecTeeKey();
  const body = JSON.stringify(attestationBody(a.nonce, key)).replace('"svn":"1"', `"svn":"1","deep":${'['.repeat(200_000)}${']'.repeat(200_000)}`);
  r = await call(k.url, 'POST', '/kbs/v0/attest', { body, headers: { cookie: a.cookie } });
  // The sample verifier ignores members it does not know; what matters is a clean answer.
  assert.ok(r.status === 200 || r.status === 401, String(r.status));
  const deepParams = `{"version":"0.4.0","tee":"sample","extra-params":${'['.repeat(30_000)}${']'.repeat(30_000)}}`;
  r = await call(k.url, 'POST', '/kbs/v0/auth', { body: deepParams });
  assert.equal(r.status, 401, r.text.slice(0, 200));
  assert.equal(errorType(r), 'AttestationError');
  r = await call(k.url, 'POST', '/kbs/v0/attest', { body: Buffer.alloc(3 * 1024 * 1024, 0x20), headers: { cookie: a.cookie } });
  assert.equal(r.status, 413);
  assert.equal((await call(k.url, 'GET', '/healthz')).status, 200);
});

test('#32 replicas on one store: a policy change on A is enforced by B at once', async (t) => {
  const storage = new MemoryBackend();
  const a = await startKbs({}, { storage });
  t.after(() => a.stop());
  const b = await startKbs({}, { storage });
  t.after(() => b.stop());
  const adminA = { authorization: `Bearer ${a.adminToken}` };
  await call(a.url, 'POST', '/kbs/v0/resource/a/b/c', { body: 'shared', headers: adminA });
  await call(a.url, 'POST', '/kbs/v0/resource-policy', { body: JSON.stringify({ policy: b64url(samplePolicy('allow_all')) }), headers: adminA });
  const { cookie } = await handshake(b.url);
  assert.equal((await call(b.url, 'GET', '/kbs/v0/resource/a/b/c', { headers: { cookie } })).status, 200);
  await call(a.url, 'POST', '/kbs/v0/resource-policy', { body: JSON.stringify({ policy: b64url(samplePolicy('deny_all')) }), headers: adminA });
  const r = await call(b.url, 'GET', '/kbs/v0/resource/a/b/c', { headers: { cookie } });
  assert.equal(errorType(r), 'PolicyDeny');
  // Sessions are shared too: B's challenge cannot be answered twice through A and B.
  const ch = await auth(b.url);
  const key = ecTeeKey();
  const body = attestationBody(ch.nonce, key);
  const [r1, r2] = await Promise.all([attest(a.url, ch.cookie, body), attest(b.url, ch.cookie, body)]);
  const ok = [r1, r2].filter((x) => x.status === 200);
  assert.ok(ok.length >= 1);
  if (ok.length === 2) assert.equal(ok[0]!.json.token, ok[1]!.json.token, 'a second 200 can only be the stored token');
});

test('#30 logs and error bodies never carry secrets, tokens or keys', async (t) => {
  const { pino } = await import('pino');
  const { Writable } = await import('node:stream');
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  let logs = '';
  const sink = new Writable({ write(chunk, _enc, cb) { logs += chunk.toString(); cb(); } });
  const logger = pino({ level: 'trace' }, sink);
  const log = { info: (m: string) => logger.info(m), warn: (m: string) => logger.warn(m) };
  const k = await startKbs({}, { logger: logger as never, log });
  t.after(() => k.stop());
  const admin = { authorization: `Bearer ${k.adminToken}` };
  const secret = 'S3CRET-' + 'x'.repeat(20);
  await call(k.url, 'POST', '/kbs/v0/resource/a/b/c', { body: secret, headers: admin });
  await call(k.url, 'POST', '/kbs/v0/resource-policy', { body: JSON.stringify({ policy: b64url(samplePolicy('allow_all')) }), headers: admin });
  const { token, cookie } = await handshake(k.url);
  const bodies: string[] = [];
  bodies.push((await call(k.url, 'GET', '/kbs/v0/resource/a/b/c', { headers: { cookie } })).text);
  bodies.push((await call(k.url, 'GET', '/kbs/v0/resource/a/b/c', { headers: { authorization: `Bearer ${token}x` } })).text);
  bodies.push((await call(k.url, 'GET', '/kbs/v0/resource-policy', { headers: { authorization: `Bearer ${k.adminToken}x` } })).text);
  bodies.push((await call(k.url, 'GET', '/kbs/v0/resource/a/b/c?token=' + token.slice(0, 10), { headers: { authorization: `Bearer ${token}` } })).text);
  const adminKeyPem = readFileSync(join(k.dataDir, 'admin-key.pem'), 'utf8').split('\n')[1]!;
  const signerPem = readFileSync(join(k.dataDir, 'as', 'token-signer-key.pem'), 'utf8').split('\n')[1]!;
  assert.ok(logs.length > 0 && logs.includes('resource policy replaced'));
  for (const needle of [secret, k.adminToken, token, token.split('.')[2]!, adminKeyPem, signerPem]) {
    assert.ok(!logs.includes(needle), `log leaks ${needle.slice(0, 12)}…`);
    for (const b of bodies) assert.ok(!b.includes(needle), `body leaks ${needle.slice(0, 12)}…`);
  }
});
