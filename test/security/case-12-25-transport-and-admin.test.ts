// security-cases.md #12 (cookie over plain HTTP) and #25 (admin API without a token, with a token signed by an
// unexpected key type or algorithm, expired, or from another key). Every refused admin call must change nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseKbsConfig } from '../../src/kbs/config.js';
import { ConfigError } from '../../src/util/config-error.js';
import { b64url } from '../kbs/support/harness.js';
import { call, errorType } from '../kbs/support/rcar.js';
import { kbsWithSecret } from './support.js';

test('#12 plain HTTP (session cookie in clear) on a non-loopback socket is refused unless insecure_http is named, with a warning', () => {
  for (const socket of ['0.0.0.0:8080', '[::]:8080', '10.0.0.1:8080', '[::ffff:127.0.0.1]:8080']) {
    assert.throws(
      () => parseKbsConfig({ http_server: { sockets: [socket] } }, {}),
      (e: unknown) => e instanceof ConfigError && /insecure_http/.test(e.message),
      socket,
    );
  }
  // Loopback is the only plain-HTTP default.
  assert.deepEqual(parseKbsConfig({ http_server: { sockets: ['127.0.0.1:8080'] } }, {}).warnings.filter((w) => /plain HTTP/.test(w)), []);
  const insecure = parseKbsConfig({ http_server: { sockets: ['0.0.0.0:8080'], insecure_http: true } }, {});
  assert.ok(insecure.warnings.some((w) => /insecure_http/.test(w)), 'insecure_http must be warned about');
});

const EMB = { iss: 'keybroker-embedded', aud: 'keybroker-admin', role: 'admin' };
const nowS = () => Math.floor(Date.now() / 1000);

function jws(header: Record<string, unknown>, payload: Record<string, unknown>, signer: (input: Buffer) => Buffer): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${signer(Buffer.from(input)).toString('base64url')}`;
}

test('#25 admin API: missing, malformed, forged, wrong-type and expired tokens are refused and store nothing', async (t) => {
  const { k } = await kbsWithSecret(t, {}, null);
  const adminKey = createPrivateKey(readFileSync(join(k.dataDir, 'admin-key.pem')));
  const adminPubPem = readFileSync(join(k.dataDir, 'admin-key.pub.pem'));
  assert.equal(adminKey.asymmetricKeyType, 'ed25519');
  const adminPubDer = Buffer.from(adminKey.export({ format: 'jwk' }).x!, 'base64url');
  const claims = { ...EMB, iat: nowS(), exp: nowS() + 3600 };
  const otherEd = generateKeyPairSync('ed25519').privateKey;
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

  const headers: Array<[string, Record<string, string>]> = [
    ['no Authorization', {}],
    ['empty bearer', { authorization: 'Bearer ' }],
    ['Basic auth', { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` }],
    ['garbage', { authorization: 'Bearer a.b.c' }],
    ['alg none', { authorization: `Bearer ${b64url(JSON.stringify({ alg: 'none' }))}.${b64url(JSON.stringify(claims))}.` }],
    ['HS256 keyed with the admin public key PEM', { authorization: `Bearer ${jws({ alg: 'HS256' }, claims, (i) => createHmac('sha256', adminPubPem).update(i).digest())}` }],
    ['HS256 keyed with the raw Ed25519 public key', { authorization: `Bearer ${jws({ alg: 'HS256' }, claims, (i) => createHmac('sha256', adminPubDer).update(i).digest())}` }],
    ['EdDSA by another Ed25519 key', { authorization: `Bearer ${jws({ alg: 'EdDSA' }, claims, (i) => sign(null, i, otherEd))}` }],
    ['ES256 by an EC key', { authorization: `Bearer ${jws({ alg: 'ES256' }, claims, (i) => sign('sha256', i, { key: ec, dsaEncoding: 'ieee-p1363' }))}` }],
    ['RS256 by an RSA key', { authorization: `Bearer ${jws({ alg: 'RS256' }, claims, (i) => sign('sha256', i, rsa))}` }],
    ['EdDSA by the admin key but alg relabelled ES256', { authorization: `Bearer ${jws({ alg: 'ES256' }, claims, (i) => sign(null, i, adminKey))}` }],
    ['admin key, expired beyond leeway', { authorization: `Bearer ${jws({ alg: 'EdDSA' }, { ...claims, exp: nowS() - 120 }, (i) => sign(null, i, adminKey))}` }],
    ['admin key, no exp', { authorization: `Bearer ${jws({ alg: 'EdDSA' }, { ...EMB }, (i) => sign(null, i, adminKey))}` }],
    ['admin key, other role', { authorization: `Bearer ${jws({ alg: 'EdDSA' }, { ...claims, role: 'reader' }, (i) => sign(null, i, adminKey))}` }],
    ['admin key, other issuer', { authorization: `Bearer ${jws({ alg: 'EdDSA' }, { ...claims, iss: 'evil' }, (i) => sign(null, i, adminKey))}` }],
    ['admin token with the signature of another token', { authorization: `Bearer ${k.adminToken.split('.').slice(0, 2).join('.')}.${jws({ alg: 'EdDSA' }, claims, (i) => sign(null, i, adminKey)).split('.')[2]}` }],
  ];
  const before = await (await k.storage.open('repository')).list();
  for (const [name, h] of headers) {
    const r = await call(k.url, 'POST', '/kbs/v0/resource/x/y/z', { body: 'planted', headers: h });
    assert.equal(r.status, 401, `${name}: ${r.status} ${r.text}`);
    assert.match(errorType(r) ?? '', /^AdminAuth(Access|Initialization)$/, name);
    const p = await call(k.url, 'POST', '/kbs/v0/resource-policy', { body: JSON.stringify({ policy: b64url('package policy\nallow := true\n') }), headers: h });
    assert.equal(p.status, 401, `${name} (policy): ${p.status}`);
  }
  assert.deepEqual(await (await k.storage.open('repository')).list(), before);
  const policy = await (await k.storage.open('kbs')).get('resource-policy.rego');
  assert.ok(!Buffer.from(policy!).toString().includes('allow := true'), 'a refused caller replaced the resource policy');

  // Control: a freshly minted token from the admin key with the embedded claims is accepted.
  const ok = jws({ alg: 'EdDSA' }, claims, (i) => sign(null, i, adminKey));
  assert.equal((await call(k.url, 'POST', '/kbs/v0/resource/x/y/z', { body: 'ok', headers: { authorization: `Bearer ${ok}` } })).status, 200);
});
