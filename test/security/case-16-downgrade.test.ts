// security-cases.md #16: protocol version downgrade or mismatch → structured error; no fallback to weaker JWE
// algorithms (trustee#907). RSA1_5 is only ever used when `jwe.allow_rsa1_5` is set in config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { flattenedDecrypt } from 'jose';
import { b64url } from '../kbs/support/harness.js';
import { attest, attestationBody, auth, call, ecTeeKey, errorType, rsaTeeKey, type TeeKey } from '../kbs/support/rcar.js';
import { kbsWithSecret, RESOURCE, SECRET } from './support.js';

test('#16 protocol versions other than 0.4.0 get a structured 401 and no session', async (t) => {
  const { k } = await kbsWithSecret(t);
  for (const version of ['0.1.0', '0.3.0', '0.4.1', '1.0.0', '0.4.0-rc1', '0.4', 'v0.4.0', '', '0.04.0']) {
    const a = await auth(k.url, { version, tee: 'sample', 'extra-params': '' });
    assert.equal(a.reply.status, 401, version);
    assert.equal(errorType(a.reply), 'AttestationError', version);
    assert.match(a.reply.headers.get('content-type') ?? '', /json/);
    assert.equal(typeof a.reply.json.detail, 'string');
    assert.equal(a.setCookie, '', version);
  }
  // Control: 0.4.0 itself works.
  assert.equal((await auth(k.url)).reply.status, 200);
  assert.deepEqual((await (await k.storage.open('kbs_protocol_session')).list()).length, 1);
});

test('#16 weak or unknown tee-pubkey algorithms are refused at /attest (RSA1_5 only when configured)', async (t) => {
  const { k } = await kbsWithSecret(t);
  const ec = ecTeeKey();
  const weak: Array<[string, TeeKey]> = [
    ['RSA1_5', rsaTeeKey('RSA1_5')],
    ['RSA-OAEP (SHA-1)', rsaTeeKey('RSA-OAEP')],
    ['RSA without alg', { ...rsaTeeKey(), jwk: { ...rsaTeeKey().jwk, alg: '' } }],
    ['EC direct ECDH-ES', { ...ec, jwk: { ...ec.jwk, alg: 'ECDH-ES' } }],
    ['EC ECDH-ES+A128KW', { ...ec, jwk: { ...ec.jwk, alg: 'ECDH-ES+A128KW' } }],
    ['dir', { ...ec, jwk: { kty: 'oct', alg: 'dir', k: b64url(Buffer.alloc(32)) } }],
  ];
  for (const [name, key] of weak) {
    const a = await auth(k.url);
    const r = await attest(k.url, a.cookie, attestationBody(a.nonce, key));
    assert.equal(r.status, 401, name);
    assert.equal(errorType(r), 'AttestationError', name);
    assert.equal(r.json?.token, undefined, name);
  }
});

test('#16 RSA1_5 is accepted only with jwe.allow_rsa1_5 (control for the test above)', async (t) => {
  const { k } = await kbsWithSecret(t, {}, undefined, { jwe: { allow_rsa1_5: true } });
  const a = await auth(k.url);
  const r = await attest(k.url, a.cookie, attestationBody(a.nonce, rsaTeeKey('RSA1_5')));
  assert.equal(r.status, 200, r.text);
});

test('#16 a trusted token naming an RSA1_5 or RSA-OAEP tee-pubkey gets no resource, not a weaker wrap', async (t) => {
  const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { k } = await kbsWithSecret(t, { trustedSignerKeys: [signer.publicKey] });
  const jwk = { ...signer.publicKey.export({ format: 'jwk' }), alg: 'ES256' };
  const token = (teePubkey: Record<string, string>) => {
    const input = `${b64url(JSON.stringify({ alg: 'ES256', jwk }))}.${b64url(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + 300, submods: { cpu0: { 'ear.status': 'affirming' } }, 'tee-pubkey': teePubkey }))}`;
    return `${input}.${sign('sha256', Buffer.from(input), { key: signer.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  };
  for (const alg of ['RSA1_5', 'RSA-OAEP']) {
    const r = await call(k.url, 'GET', RESOURCE, { headers: { authorization: `Bearer ${token(rsaTeeKey(alg).jwk)}` } });
    assert.equal(r.status, 401, `${alg}: ${r.text}`);
    assert.ok(!r.text.includes(SECRET));
    assert.equal(r.json?.ciphertext, undefined);
  }
  // Control: the same token shape with an RSA-OAEP-256 key is released, wrapped with exactly RSA-OAEP-256 + A256GCM.
  const good = rsaTeeKey('RSA-OAEP-256');
  const r = await call(k.url, 'GET', RESOURCE, { headers: { authorization: `Bearer ${token(good.jwk)}` } });
  assert.equal(r.status, 200, r.text);
  const { plaintext, protectedHeader } = await flattenedDecrypt(r.json, good.privateKey, { keyManagementAlgorithms: ['RSA-OAEP-256'], contentEncryptionAlgorithms: ['A256GCM'] });
  assert.equal(Buffer.from(plaintext).toString(), SECRET);
  assert.equal(protectedHeader?.alg, 'RSA-OAEP-256');
});
