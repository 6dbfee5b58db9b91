import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { startKbs, b64url } from './support/harness.js';
import { call, errorType } from './support/rcar.js';
import { samplePolicy } from '../../src/kbs/resource-policy.js';
import type { FetchLike } from '../../src/kbs/token/jwks.js';

const dir = mkdtempSync(join(tmpdir(), 'kbs-admin-'));
const good = generateKeyPairSync('ed25519');
const bad = generateKeyPairSync('ed25519');
const goodPem = join(dir, 'admin.pub.pem');
writeFileSync(goodPem, good.publicKey.export({ type: 'spki', format: 'pem' }));

function tok(key: KeyObject, claims: Record<string, unknown> = {}, exp: string | number | null = '2h', alg = 'EdDSA', kid?: string) {
  let j = new SignJWT({ iss: 'issuer', aud: 'audience', role: 'tester', ...claims }).setProtectedHeader({ alg, ...(kid ? { kid } : {}) }).setIssuedAt();
  if (exp !== null) j = j.setExpirationTime(exp);
  return j.sign(key);
}

function authz(acl: string, idp: Record<string, unknown> = { issuer: 'issuer', audience: 'audience', public_key_uri: goodPem }) {
  return {
    admin: {
      authorization_mode: 'AuthenticatedAuthorization',
      authentication: { bearer_jwt: { identity_providers: [idp] } },
      authorization: { regex_acl: { acls: [{ role: 'tester', allowed_endpoints: acl }] } },
    },
  };
}

const ENDPOINTS: Array<[string, string, string, string]> = [
  ['resource policy', 'POST', '/kbs/v0/resource-policy', JSON.stringify({ policy: b64url(samplePolicy('allow_all')) })],
  ['attestation policy', 'POST', '/kbs/v0/attestation-policy', JSON.stringify({ policy_id: 'test_cpu', policy: b64url('package policy\n') })],
  ['secret', 'POST', '/kbs/v0/resource/one/two/three', 'secret'],
];

// Trustee integration-tests admin::{set_policy,set_attestation_policy,set_secret}: only a valid key with a broad ACL works.
test('admin matrix: valid key / invalid key / DenyAll / narrow ACL', async (t) => {
  const cases: Array<[string, Record<string, unknown>, KeyObject, boolean]> = [
    ['valid key', authz('^/kbs/.+$'), good.privateKey, true],
    ['invalid key', authz('^/kbs/.+$'), bad.privateKey, false],
    ['DenyAll', { admin: { authorization_mode: 'DenyAll' } }, good.privateKey, false],
    ['narrow ACL', authz('^/kbs/v0/reference-value/[a-zA-Z0-9]+$'), good.privateKey, false],
  ];
  for (const [name, raw, key, ok] of cases) {
    const k = await startKbs(raw);
    t.after(() => k.stop());
    const token = await tok(key);
    for (const [what, method, path, body] of ENDPOINTS) {
      const r = await call(k.url, method, path, { body, headers: { authorization: `Bearer ${token}` } });
      assert.equal(r.status, ok ? 200 : 401, `${name} / ${what}: ${r.text}`);
      if (!ok) assert.match(errorType(r) ?? '', /^AdminAuth(Access|Initialization)$/);
    }
    assert.deepEqual(await (await k.storage.open('repository')).list(), ok ? ['one/two/three'] : []);
  }
});

test('bearer JWT checks: iss, aud (string or array), role, exp required and checked; ACL sees the query string', async (t) => {
  const k = await startKbs(authz('^/kbs/v0/resource/one/two/three$'));
  t.after(() => k.stop());
  const post = async (token: string, path = '/kbs/v0/resource/one/two/three') =>
    (await call(k.url, 'POST', path, { body: 'x', headers: { authorization: `Bearer ${token}` } })).status;
  assert.equal(await post(await tok(good.privateKey)), 200);
  assert.equal(await post(await tok(good.privateKey, { aud: ['other', 'audience'] })), 200);
  assert.equal(await post(await tok(good.privateKey, { iss: 'someone' })), 401);
  assert.equal(await post(await tok(good.privateKey, { aud: 'other' })), 401);
  assert.equal(await post(await tok(good.privateKey, { role: 'admin' })), 401);
  assert.equal(await post(await tok(good.privateKey, { role: 7 })), 401);
  assert.equal(await post(await tok(good.privateKey, {}, null)), 401);
  assert.equal(await post(await tok(good.privateKey, {}, Math.floor(Date.now() / 1000) - 3600)), 401);
  assert.equal(await post(await tok(good.privateKey), '/kbs/v0/resource/one/two/three?x=1'), 401);
  assert.equal(await post('garbage'), 401);
});

test('identity provider from an https JWK set through OIDC discovery (injected fetch)', async (t) => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwks = { keys: [{ ...ec.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256' }, { kty: 'oct', k: 'c2VjcmV0', kid: 'sym' }] };
  const seen: string[] = [];
  const fetch: FetchLike = async (url) => {
    seen.push(url);
    const body =
      url === 'https://idp.example/.well-known/openid-configuration'
        ? JSON.stringify({ jwks_uri: 'https://idp.example/keys' })
        : url === 'https://idp.example/keys'
          ? JSON.stringify(jwks)
          : '<html/>';
    return { ok: true, status: 200, text: async () => body };
  };
  const k = await startKbs(authz('^/kbs/.+$', { issuer: 'issuer', jwk_set_uri: 'https://idp.example/' }), { fetch });
  t.after(() => k.stop());
  assert.deepEqual(seen, ['https://idp.example/', 'https://idp.example/.well-known/openid-configuration', 'https://idp.example/keys']);
  const ok = await tok(ec.privateKey, {}, '1h', 'ES256', 'k1');
  let r = await call(k.url, 'GET', '/kbs/v0/resource-policy', { headers: { authorization: `Bearer ${ok}` } });
  assert.equal(r.status, 200);
  // HS256 signed with the symmetric member of the set must not pass.
  const hs = await new SignJWT({ role: 'tester' }).setProtectedHeader({ alg: 'HS256', kid: 'sym' }).setIssuer('issuer').setExpirationTime('1h').sign(Buffer.from('secret'));
  r = await call(k.url, 'GET', '/kbs/v0/resource-policy', { headers: { authorization: `Bearer ${hs}` } });
  assert.equal(r.status, 401);
});

test('embedded admin credentials: created once, token re-issued only when missing or within 30 days of expiry', async () => {
  const { ensureEmbeddedAdmin } = await import('../../src/kbs/admin.js');
  const { readFileSync, rmSync } = await import('node:fs');
  const { decodeJwt } = await import('jose');
  const d = mkdtempSync(join(tmpdir(), 'kbs-emb-'));
  const t0 = new Date('2026-01-01T00:00:00Z');
  const first = ensureEmbeddedAdmin(d, t0);
  assert.equal(first.issued, true);
  const key1 = readFileSync(join(d, 'admin-key.pem'), 'utf8');
  const tok1 = readFileSync(first.tokenPath, 'utf8');
  assert.equal(decodeJwt(tok1).exp, Math.floor(t0.getTime() / 1000) + 365 * 24 * 3600);
  // 300 days later: still more than 30 days left → unchanged.
  const later = ensureEmbeddedAdmin(d, new Date(t0.getTime() + 300 * 86400_000));
  assert.equal(later.issued, false);
  assert.equal(readFileSync(first.tokenPath, 'utf8'), tok1);
  // 340 days later: 25 days left → re-issued with the same key.
  const renew = ensureEmbeddedAdmin(d, new Date(t0.getTime() + 340 * 86400_000));
  assert.equal(renew.issued, true);
  assert.notEqual(readFileSync(first.tokenPath, 'utf8'), tok1);
  assert.equal(readFileSync(join(d, 'admin-key.pem'), 'utf8'), key1);
  rmSync(first.tokenPath);
  assert.equal(ensureEmbeddedAdmin(d, t0).issued, true);
});
