import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { SignJWT, flattenedDecrypt, decodeJwt, decodeProtectedHeader } from 'jose';
import { startKbs, b64url } from './support/harness.js';
import { call, ecTeeKey, errorType, handshake, rsaTeeKey } from './support/rcar.js';
import { samplePolicy } from '../../src/kbs/resource-policy.js';

async function setup(t: { after(fn: () => Promise<void>): void }, raw: Record<string, unknown> = {}, opts = {}) {
  const k = await startKbs(raw, opts);
  t.after(() => k.stop());
  const admin = { authorization: `Bearer ${k.adminToken}` };
  const put = (path: string, body: string | Buffer) => call(k.url, 'POST', `/kbs/v0/resource/${path}`, { body, headers: { ...admin, 'content-type': 'application/octet-stream' } });
  const setPolicy = (rego: string) => call(k.url, 'POST', '/kbs/v0/resource-policy', { body: JSON.stringify({ policy: b64url(rego) }), headers: { ...admin, 'content-type': 'application/json' } });
  return { k, admin, put, setPolicy };
}

test('resource GET: JWE to the token tee-pubkey (EC P-256, P-521, RSA-OAEP-256), cookie or Bearer', async (t) => {
  const { k, put, setPolicy } = await setup(t);
  assert.equal((await put('repo/key/tag.v1', 'top secret')).status, 200);
  assert.equal((await setPolicy(samplePolicy('allow_all'))).status, 200);
  for (const key of [ecTeeKey('P-256'), ecTeeKey('P-521'), rsaTeeKey()]) {
    const { cookie, token } = await handshake(k.url, key);
    for (const headers of [{ cookie }, { authorization: `Bearer ${token}` }] as Record<string, string>[]) {
      const r = await call(k.url, 'GET', '/kbs/v0/resource/repo/key/tag.v1', { headers });
      assert.equal(r.status, 200, r.text);
      assert.match(r.headers.get('content-type') ?? '', /application\/json/);
      const { plaintext, protectedHeader } = await flattenedDecrypt(r.json, key.privateKey, {
        keyManagementAlgorithms: [key.jwk.alg!],
        contentEncryptionAlgorithms: ['A256GCM'],
      });
      assert.equal(Buffer.from(plaintext).toString(), 'top secret');
      assert.equal(protectedHeader?.alg, key.jwk.alg);
      assert.equal(protectedHeader?.enc, 'A256GCM');
      assert.equal(Buffer.from(r.json.iv, 'base64url').length, 12);
      assert.equal(Buffer.from(r.json.tag, 'base64url').length, 16);
      // Nothing decrypts with another key.
      await assert.rejects(flattenedDecrypt(r.json, ecTeeKey(key.jwk.crv === 'P-521' ? 'P-521' : 'P-256').privateKey));
    }
  }
});

test('resource policy: default denies the sample TEE, deny_all denies, missing resource is 401, and policy sees data', async (t) => {
  const { k, put, setPolicy } = await setup(t);
  await put('a/b/c', 'v');
  const { cookie } = await handshake(k.url);
  let r = await call(k.url, 'GET', '/kbs/v0/resource/a/b/c', { headers: { cookie } });
  assert.equal(r.status, 401);
  assert.equal(errorType(r), 'PolicyDeny');
  assert.equal(r.json.detail, 'request unauthorized');

  // A policy that checks the resource path and the query.
  const rego = 'package policy\nimport rego.v1\ndefault allow := false\nallow if {\n data.plugin == "resource"\n data["resource-path"] == ["a", "b", "c"]\n data.query.v == "1"\n input.submods.cpu0["ear.veraison.annotated-evidence"].sample.svn == "1"\n}\n';
  assert.equal((await setPolicy(rego)).status, 200);
  r = await call(k.url, 'GET', '/kbs/v0/resource/a/b/c?v=1', { headers: { cookie } });
  assert.equal(r.status, 200, r.text);
  r = await call(k.url, 'GET', '/kbs/v0/resource/a/b/c?v=2', { headers: { cookie } });
  assert.equal(errorType(r), 'PolicyDeny');

  await setPolicy(samplePolicy('allow_all'));
  r = await call(k.url, 'GET', '/kbs/v0/resource/a/b/missing', { headers: { cookie } });
  assert.equal(r.status, 401);
  assert.equal(errorType(r), 'PluginInternalError');

  await setPolicy(samplePolicy('deny_all'));
  r = await call(k.url, 'GET', '/kbs/v0/resource/a/b/c', { headers: { cookie } });
  assert.equal(errorType(r), 'PolicyDeny');
});

test('bad resource paths are refused and store nothing', async (t) => {
  const { k, admin } = await setup(t);
  // node:http sends the path byte for byte (fetch would normalise "..").
  const put = (path: string, body: string) =>
    new Promise<{ status: number; json: any }>((resolve, reject) => {
      const u = new URL(k.url);
      const req = httpRequest({ host: u.hostname, port: u.port, method: 'POST', path: `/kbs/v0/resource/${path}`, headers: admin }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text || 'null') }));
      });
      req.on('error', reject);
      req.end(body);
    });
  for (const p of ['../b/c', '%2e%2e/b/c', 'a/%2E%2E/c', 'a/b', 'a/b/c/d', '.a/b/c', 'a/b/c%00', 'a//c', 'a/b/c%2Fd', 'a/b/..']) {
    const r = await put(p, 'x');
    assert.ok(r.status === 401 || r.status === 404, `${p}: ${r.status}`);
    assert.ok(['PluginInternalError', 'InvalidRequestPath'].includes(errorType(r as never) ?? ''), `${p}: ${errorType(r as never)}`);
  }
  assert.deepEqual(await (await k.storage.open('repository')).list(), []);
  const r = await call(k.url, 'GET', '/kbs/v0/resource//etc/passwd', {});
  assert.equal(r.status, 401);
});

test('tokens: missing, garbage, alg none, HS256 with the public key, unknown kid, foreign signer, expired', async (t) => {
  let now = new Date();
  const { k, put, setPolicy } = await setup(t, {}, { clock: () => now });
  await put('a/b/c', 'v');
  await setPolicy(samplePolicy('allow_all'));
  const { token, key } = await handshake(k.url);
  const get = (headers: Record<string, string>) => call(k.url, 'GET', '/kbs/v0/resource/a/b/c', { headers });
  assert.equal((await get({ authorization: `Bearer ${token}` })).status, 200);

  let r = await get({});
  assert.equal(r.status, 401);
  assert.equal(errorType(r), 'TokenNotFound');
  r = await get({ authorization: 'Bearer not.a.jwt' });
  assert.equal(errorType(r), 'TokenVerifierError');

  const claims = decodeJwt(token);
  const header = decodeProtectedHeader(token);
  // alg none with the genuine claims.
  const none = `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT', jwk: header.jwk }))}.${token.split('.')[1]}.`;
  r = await get({ authorization: `Bearer ${none}` });
  assert.equal(errorType(r), 'TokenVerifierError');
  // HS256 keyed with the AS public key (algorithm confusion).
  const asPub = createPublicKey({ key: header.jwk as any, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', jwk: header.jwk } as any).sign(Buffer.from(asPub));
  r = await get({ authorization: `Bearer ${hs}` });
  assert.equal(errorType(r), 'TokenVerifierError');
  // Foreign signer: same claims, our own key in the header.
  const foreign = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const fjwk = { ...foreign.publicKey.export({ format: 'jwk' }), alg: 'ES256' };
  const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'JWT', jwk: fjwk as any }).sign(foreign.privateKey);
  r = await get({ authorization: `Bearer ${forged}` });
  assert.equal(errorType(r), 'TokenVerifierError');
  // Unknown kid.
  const kidTok = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'nope' }).sign(foreign.privateKey);
  r = await get({ authorization: `Bearer ${kidTok}` });
  assert.equal(errorType(r), 'TokenVerifierError');
  // One flipped payload bit.
  const parts = token.split('.');
  const tampered = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString());
  tampered.submods.cpu0['ear.status'] = 'affirming';
  r = await get({ authorization: `Bearer ${parts[0]}.${b64url(JSON.stringify(tampered))}.${parts[2]}` });
  assert.equal(errorType(r), 'TokenVerifierError');
  // Expired: past exp + 60 s leeway (the session cookie path re-verifies too).
  now = new Date(((claims.exp as number) + 61) * 1000);
  r = await get({ authorization: `Bearer ${token}` });
  assert.equal(errorType(r), 'TokenVerifierError');
  void key;
});

test('admin: embedded token required; plugin and built-in endpoints name their variants; policy ids validated', async (t) => {
  const { k, admin } = await setup(t);
  let r = await call(k.url, 'POST', '/kbs/v0/resource/a/b/c', { body: 'x' });
  assert.equal(r.status, 401);
  assert.equal(errorType(r), 'AdminAuthInitialization');
  r = await call(k.url, 'GET', '/kbs/v0/resource-policy', {});
  assert.equal(errorType(r), 'AdminAuthAccess');
  // A token signed by another Ed25519 key with the right claims.
  const other = generateKeyPairSync('ed25519');
  const fake = await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'EdDSA' }).setIssuer('keybroker-embedded').setAudience('keybroker-admin').setExpirationTime('1h').sign(other.privateKey);
  r = await call(k.url, 'GET', '/kbs/v0/resource-policy', { headers: { authorization: `Bearer ${fake}` } });
  assert.equal(errorType(r), 'AdminAuthAccess');
  assert.deepEqual(await (await k.storage.open('repository')).list(), []);

  r = await call(k.url, 'GET', '/kbs/v0/resource-policy', { headers: admin });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, ['resource-policy']);

  // Resource policy: not JSON, no policy, not b64url, not UTF-8, does not compile → nothing changes.
  const before = await (await k.storage.open('kbs')).get('resource-policy.rego');
  for (const [body, variant] of [
    ['nope', 'ParsePolicyError'],
    ['{}', 'ParsePolicyError'],
    ['{"policy":"a+b/"}', 'ParsePolicyError'],
    [JSON.stringify({ policy: b64url(Buffer.from([0xff, 0xfe])) }), 'ParsePolicyError'],
    [JSON.stringify({ policy: b64url('package policy\nallow if {') }), 'PolicyEngineError'],
  ] as const) {
    r = await call(k.url, 'POST', '/kbs/v0/resource-policy', { body, headers: { ...admin, 'content-type': 'application/json' } });
    assert.equal(r.status, 401, body);
    assert.equal(errorType(r), variant, body);
  }
  assert.deepEqual(await (await k.storage.open('kbs')).get('resource-policy.rego'), before);

  // Attestation policy ids with "/" or "..".
  for (const id of ['../x', 'a/b', '..', '']) {
    r = await call(k.url, 'POST', '/kbs/v0/attestation-policy', { body: JSON.stringify({ policy_id: id, policy: b64url('package policy\n') }), headers: admin });
    assert.equal(r.status, 401, id);
    assert.equal(errorType(r), 'AttestationError');
  }
  assert.ok(!(await k.kbs.ctx.as!.listPolicies()).some((p) => p.includes('/') || p.includes('..')));

  // Unknown plugin, built-in name with the wrong method.
  r = await call(k.url, 'GET', '/kbs/v0/nothing/here', {});
  assert.equal(r.status, 404);
  assert.equal(errorType(r), 'PluginNotFound');
  r = await call(k.url, 'GET', '/kbs/v0/auth', {});
  assert.equal(r.status, 404);
});

test('metrics and healthz', async (t) => {
  const { k } = await setup(t);
  const bad = await call(k.url, 'POST', '/kbs/v0/auth', { body: '{}' });
  assert.equal((await call(k.url, 'GET', '/healthz')).status, 200);
  const m = await call(k.url, 'GET', '/metrics');
  assert.equal(m.status, 200);
  for (const name of ['kbs_http_requests_total', 'kbs_http_request_duration_seconds', 'kbs_http_response_size_bytes_count 1', 'kbs_auth_errors_total 1', 'kbs_build_info']) {
    assert.ok(m.text.includes(name), name);
  }
  // The response-size histogram holds the size of the body actually sent (Trustee put it into the request histogram).
  const sum = /^kbs_http_response_size_bytes_sum (\d+)$/m.exec(m.text)?.[1];
  assert.equal(Number(sum), Buffer.byteLength(bad.text), 'response size sum = bytes of the one /kbs response');
  assert.match(m.text, new RegExp(`^kbs_http_requests_total\\{method="POST",status="${bad.status}"\\} 1$`, 'm'));
});

test('sample plugin (admin only, fixed answer); no resource plugin configured → 404', async (t) => {
  const k = await startKbs({ plugins: [{ name: 'sample', item: 'value1' }] });
  t.after(() => k.stop());
  const admin = { authorization: `Bearer ${k.adminToken}` };
  let r = await call(k.url, 'POST', '/kbs/v0/sample/anything?x=1', { body: 'hi', headers: admin });
  assert.equal(r.status, 200);
  assert.equal(r.text, 'sample plugin response');
  assert.match(r.headers.get('content-type') ?? '', /text\/xml/);
  r = await call(k.url, 'GET', '/kbs/v0/sample/anything');
  assert.equal(r.status, 401);
  assert.equal(errorType(r), 'AdminAuthInitialization');
  r = await call(k.url, 'GET', '/kbs/v0/resource/a/b/c', { headers: admin });
  assert.equal(r.status, 404);
  assert.equal(errorType(r), 'PluginNotFound');
});

test('directory resource backend through the HTTP API: GET works, POST is refused', async (t) => {
  const { mkdtempSync, mkdirSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'kbs-secrets-'));
  mkdirSync(join(dir, 'repo', 'type'), { recursive: true });
  writeFileSync(join(dir, 'repo', 'type', 'tag'), 'from a mount');
  const { k, setPolicy } = await setup(t, { plugins: [{ name: 'resource', storage_backend_type: 'directory', dir_path: dir }] });
  await setPolicy(samplePolicy('allow_all'));
  const key = ecTeeKey();
  const { cookie } = await handshake(k.url, key);
  const r = await call(k.url, 'GET', '/kbs/v0/resource/repo/type/tag', { headers: { cookie } });
  assert.equal(r.status, 200, r.text);
  const { plaintext } = await flattenedDecrypt(r.json, key.privateKey);
  assert.equal(Buffer.from(plaintext).toString(), 'from a mount');
  const w = await call(k.url, 'POST', '/kbs/v0/resource/repo/type/new', { body: 'x', headers: { authorization: `Bearer ${k.adminToken}` } });
  assert.equal(w.status, 401);
  assert.equal(errorType(w), 'PluginInternalError');
});
