import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { startKbs } from './support/harness.js';
import { attest, attestationBody, auth, call, ecTeeKey, errorType, handshake } from './support/rcar.js';
import { SESSION_NAMESPACE } from '../../src/kbs/session.js';

test('/auth: challenge, cookie shape, and every malformed request is a 401 AttestationError', async (t) => {
  const k = await startKbs();
  t.after(() => k.stop());
  const a = await auth(k.url);
  assert.equal(a.reply.status, 200);
  assert.equal(a.nonce.length, 44);
  assert.equal(Buffer.from(a.nonce, 'base64').length, 32);
  assert.equal(a.reply.json['extra-params'], '');
  // Only Expires (specs/trustee.md §2.6).
  assert.match(a.setCookie, /^kbs-session-id=[0-9a-f]{32}; Expires=[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$/);

  const bad: Array<[string, unknown]> = [
    ['old protocol version', { version: '0.1.1', tee: 'sample', 'extra-params': '' }],
    ['newer protocol version', { version: '0.5.0', tee: 'sample', 'extra-params': '' }],
    ['pre-release', { version: '0.4.0-rc1', tee: 'sample', 'extra-params': '' }],
    ['not semver', { version: 'four', tee: 'sample', 'extra-params': '' }],
    ['version of wrong type', { version: 4, tee: 'sample', 'extra-params': '' }],
    ['unknown TEE', { version: '0.4.0', tee: 'abacus', 'extra-params': '' }],
    ['missing extra-params', { version: '0.4.0', tee: 'sample' }],
    ['array body', []],
  ];
  for (const [what, body] of bad) {
    const r = await auth(k.url, body);
    assert.equal(r.reply.status, 401, what);
    assert.equal(errorType(r.reply), 'AttestationError', what);
    assert.equal(r.setCookie, '', `${what}: no session cookie`);
  }
  const mismatch = await auth(k.url, { version: '0.1.1', tee: 'sample', 'extra-params': '' });
  assert.match(mismatch.reply.json.detail, /KBS Client Protocol Version Mismatch: expect =0\.4\.0 while the request is 0\.1\.1/);
  const notJson = await call(k.url, 'POST', '/kbs/v0/auth', { body: '{"version":', headers: { 'content-type': 'application/json' } });
  assert.equal(notJson.status, 401);
  assert.equal(errorType(notJson), 'AttestationError');
  // Only the one good /auth created a session.
  assert.equal((await (await k.storage.open(SESSION_NAMESPACE)).list()).length, 1);
});

test('/attest: binding, single-use nonce, repeated attest, and rejected inputs', async (t) => {
  let now = new Date();
  const k = await startKbs({}, { clock: () => now });
  t.after(() => k.stop());
  const key = ecTeeKey();

  // No cookie / unknown cookie.
  let r = await attest(k.url, '', attestationBody('x', key));
  assert.equal(r.status, 401);
  assert.equal(errorType(r), 'AttestationError');
  r = await attest(k.url, 'kbs-session-id=' + 'a'.repeat(32), attestationBody('x', key));
  assert.equal(r.status, 401);

  // Nonce of another session.
  const a1 = await auth(k.url);
  const a2 = await auth(k.url);
  r = await attest(k.url, a1.cookie, attestationBody(a2.nonce, key));
  assert.equal(r.status, 401);
  assert.match(r.json.detail, /nonce does not match/);

  // Report data over another nonce than the one claimed: the AS must refuse.
  r = await attest(k.url, a2.cookie, attestationBody(a2.nonce, key, { reportNonce: a1.nonce }));
  assert.equal(r.status, 401);
  assert.equal(errorType(r), 'AttestationError');
  // …and the challenge is gone: the same session cannot try again.
  r = await attest(k.url, a2.cookie, attestationBody(a2.nonce, key));
  assert.equal(r.status, 401);

  // Unsupported tee-pubkey curve, wrong init-data format, wrong types: 401 and the session stays usable.
  const p384 = ecTeeKey('P-384');
  r = await attest(k.url, a1.cookie, attestationBody(a1.nonce, p384));
  assert.equal(r.status, 401);
  assert.match(r.json.detail, /unsupported curve/);
  r = await attest(k.url, a1.cookie, attestationBody(a1.nonce, key, { initData: { format: 'json', body: '{}' } }));
  assert.equal(r.status, 401);
  assert.match(r.json.detail, /Unsupported initdata format/);
  r = await attest(k.url, a1.cookie, { 'runtime-data': { nonce: 5 }, 'tee-evidence': {} });
  assert.equal(r.status, 401);
  r = await call(k.url, 'POST', '/kbs/v0/attest', { body: 'not json', headers: { cookie: a1.cookie, 'content-type': 'application/json' } });
  assert.equal(r.status, 401);

  // The good attestation.
  r = await attest(k.url, a1.cookie, attestationBody(a1.nonce, key));
  assert.equal(r.status, 200, r.text);
  const token = r.json.token as string;
  const claims = decodeJwt(token) as any;
  const rdc = claims.submods.cpu0['ear.veraison.annotated-evidence'].runtime_data_claims;
  assert.deepEqual(rdc['tee-pubkey'], key.jwk);
  assert.equal(rdc.nonce, a1.nonce);
  // Repeating /attest on an attested session returns the same token without re-verifying.
  r = await attest(k.url, a1.cookie, attestationBody(a1.nonce, key));
  assert.equal(r.status, 200);
  assert.equal(r.json.token, token);

  // Sessions expire after 5 minutes.
  const a3 = await auth(k.url);
  now = new Date(now.getTime() + 5 * 60_000 + 1000);
  r = await attest(k.url, a3.cookie, attestationBody(a3.nonce, key));
  assert.equal(r.status, 401);
  assert.match(r.json.detail, /unknown or expired session/);
});

test('/attest: init-data TOML is bound and unknown tee-pubkey members are dropped', async (t) => {
  const k = await startKbs();
  t.after(() => k.stop());
  const key = ecTeeKey();
  const a = await auth(k.url);
  const toml = 'version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"cdh.toml" = "x = 1"\n';
  const body = attestationBody(a.nonce, key, { initData: { format: 'toml', body: toml } });
  (body['runtime-data']['tee-pubkey'] as Record<string, string>).extra = 'dropped';
  const r = await attest(k.url, a.cookie, body);
  assert.equal(r.status, 200, r.text);
  const ae = (decodeJwt(r.json.token) as any).submods.cpu0['ear.veraison.annotated-evidence'];
  assert.equal(ae.runtime_data_claims['tee-pubkey'].extra, undefined);
  assert.equal(ae.init_data_claims['cdh.toml'].x, 1);
});

test('bodies over payload_request_size are refused with 413 before parsing', async (t) => {
  const k = await startKbs({ http_server: { payload_request_size: 1 } });
  t.after(() => k.stop());
  const big = Buffer.alloc(1024 * 1024 + 1, 0x20);
  const r = await call(k.url, 'POST', '/kbs/v0/auth', { body: big, headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 413);
  assert.equal(errorType(r), 'PayloadTooLarge');
  const r2 = await call(k.url, 'POST', '/kbs/v0/resource/a/b/c', { body: big, headers: { authorization: `Bearer ${k.adminToken}` } });
  assert.equal(r2.status, 413);
  assert.deepEqual(await (await k.storage.open('repository')).list(), []);
});

test('handshake helper yields a token usable for resources', async (t) => {
  const k = await startKbs();
  t.after(() => k.stop());
  const { token } = await handshake(k.url);
  assert.equal(typeof decodeJwt(token).exp, 'number');
});

test('a storage outage is 503 StorageUnavailable and leaks no backend detail', async (t) => {
  const { MemoryBackend } = await import('../../src/storage/memory.js');
  const { StorageUnavailableError } = await import('../../src/storage/types.js');
  const base = new MemoryBackend();
  let down = false;
  const flaky = {
    type: 'Memory',
    async open(ns: string) {
      const kv = await base.open(ns);
      const guard = <A extends unknown[], R>(f: (...a: A) => Promise<R>) => async (...a: A) => {
        if (down) throw new StorageUnavailableError('connect ECONNREFUSED 10.0.0.7:5432 password=hunter2');
        return f(...a);
      };
      return { namespace: ns, get: guard(kv.get.bind(kv)), getMany: guard(kv.getMany.bind(kv)), set: guard(kv.set.bind(kv)), delete: guard(kv.delete.bind(kv)), list: guard(kv.list.bind(kv)), take: guard(kv.take.bind(kv)) };
    },
    ping: async () => {},
    close: async () => {},
  };
  const k = await startKbs({}, { storage: flaky });
  t.after(() => k.stop());
  down = true;
  const a = await auth(k.url);
  assert.equal(a.reply.status, 503);
  assert.equal(errorType(a.reply), 'StorageUnavailable');
  assert.doesNotMatch(a.reply.text, /hunter2|10\.0\.0\.7/);
  down = false;
  assert.equal((await auth(k.url)).reply.status, 200);
});

test('requests without a body are clean 401s', async (t) => {
  const k = await startKbs();
  t.after(() => k.stop());
  for (const p of ['/kbs/v0/auth', '/kbs/v0/attest']) {
    const r = await call(k.url, 'POST', p);
    assert.equal(r.status, 401, p);
    assert.equal(errorType(r), 'AttestationError');
  }
  const r = await call(k.url, 'POST', '/kbs/v0/resource-policy', { headers: { authorization: `Bearer ${k.adminToken}` } });
  assert.equal(errorType(r), 'ParsePolicyError');
});

test('/auth bodies are capped at 64 KiB whatever payload_request_size says', async (t) => {
  const k = await startKbs();
  t.after(() => k.stop());
  const body = JSON.stringify({ version: '0.4.0', tee: 'sample', 'extra-params': { pad: 'x'.repeat(70 * 1024) } });
  const r = await call(k.url, 'POST', '/kbs/v0/auth', { body, headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 413);
  assert.deepEqual(await (await k.storage.open(SESSION_NAMESPACE)).list(), []);
});
