import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv, type KeyObject } from 'node:crypto';
import { flattenedDecrypt } from 'jose';
import { encryptToTeeKey } from '../../src/kbs/jwe.js';
import { JweError } from '../../src/kbs/errors.js';
import { parseTeePubKey } from '../../src/kbs/tee-pubkey.js';
import { ecTeeKey, rsaTeeKey } from './support/rcar.js';

const MSG = Buffer.from('resource bytes \u00e9\u0000');

for (const [name, key] of [
  ['EC P-256 ECDH-ES+A256KW', ecTeeKey('P-256')],
  ['EC P-521 ECDH-ES+A256KW', ecTeeKey('P-521')],
  ['RSA-OAEP-256', rsaTeeKey()],
] as const) {
  test(`JWE ${name} decrypts with jose and has the flattened shape of §2.4`, async () => {
    const jwe = await encryptToTeeKey(key.jwk, MSG);
    assert.deepEqual(Object.keys(jwe).sort(), ['ciphertext', 'encrypted_key', 'iv', 'protected', 'tag']);
    const header = JSON.parse(Buffer.from(jwe.protected, 'base64url').toString());
    assert.equal(header.alg, key.jwk.alg);
    assert.equal(header.enc, 'A256GCM');
    if (key.jwk.kty === 'EC') assert.equal(header.epk.crv, key.jwk.crv);
    const { plaintext } = await flattenedDecrypt(jwe, key.privateKey, { keyManagementAlgorithms: [key.jwk.alg!] });
    assert.deepEqual(Buffer.from(plaintext), MSG);
    // The protected header is the GCM AAD: changing it breaks decryption.
    const tampered = { ...jwe, protected: Buffer.from(JSON.stringify({ ...header, kid: 'x' })).toString('base64url') };
    await assert.rejects(flattenedDecrypt(tampered, key.privateKey));
  });
}

/** RSAES-PKCS1-v1_5 decryption by hand (node 20 refuses PKCS#1 v1.5 private decryption), independent of the code. */
function rsa15Decrypt(priv: KeyObject, c: Buffer): Buffer {
  const j = priv.export({ format: 'jwk' }) as Record<string, string>;
  const big = (s: string) => BigInt('0x' + Buffer.from(s, 'base64url').toString('hex'));
  const n = big(j.n!);
  const d = big(j.d!);
  let m = 1n;
  let b = BigInt('0x' + c.toString('hex')) % n;
  for (let e = d; e > 0n; e >>= 1n) {
    if (e & 1n) m = (m * b) % n;
    b = (b * b) % n;
  }
  const k = Buffer.from(j.n!, 'base64url').length;
  const em = Buffer.from(m.toString(16).padStart(k * 2, '0'), 'hex');
  assert.equal(em[0], 0);
  assert.equal(em[1], 2);
  const sep = em.indexOf(0, 2);
  assert.ok(sep >= 10);
  return em.subarray(sep + 1);
}

test('RSA1_5 only when enabled; decrypts by hand', async () => {
  const key = rsaTeeKey('RSA1_5');
  await assert.rejects(encryptToTeeKey(key.jwk, MSG), JweError);
  const jwe = await encryptToTeeKey(key.jwk, MSG, { allowRsa15: true });
  assert.equal(JSON.parse(Buffer.from(jwe.protected, 'base64url').toString()).alg, 'RSA1_5');
  const cek = rsa15Decrypt(key.privateKey, Buffer.from(jwe.encrypted_key, 'base64url'));
  assert.equal(cek.length, 32);
  const d = createDecipheriv('aes-256-gcm', cek, Buffer.from(jwe.iv, 'base64url'));
  d.setAAD(Buffer.from(jwe.protected, 'ascii'));
  d.setAuthTag(Buffer.from(jwe.tag, 'base64url'));
  assert.deepEqual(Buffer.concat([d.update(Buffer.from(jwe.ciphertext, 'base64url')), d.final()]), MSG);
});

test('unsupported tee-pubkeys are JweErrors', async () => {
  const ec = ecTeeKey('P-256').jwk;
  const bad: unknown[] = [
    ecTeeKey('P-384').jwk,
    { ...ec, alg: 'ECDH-ES' },
    { ...ec, x: ec.x!.slice(2) },
    { ...ec, y: ecTeeKey('P-256').jwk.y }, // not on the curve
    { ...ec, x: Buffer.alloc(32, 0xff).toString('base64url') }, // x ≥ p: not a field element
    { ...ecTeeKey('P-521').jwk, y: ecTeeKey('P-521').jwk.y }, // P-521, not on the curve
    { ...ec, x: Buffer.alloc(32).toString('base64url'), y: Buffer.alloc(32).toString('base64url') }, // (0, 0)
    { ...rsaTeeKey().jwk, alg: 'RSA-OAEP' },
    { kty: 'oct', alg: 'A256KW', k: 'AAAA' },
    { kty: 'AKP', alg: 'ML-KEM-768+A192KW', pub: 'AAAA' },
    'not an object',
    null,
  ];
  for (const k of bad) await assert.rejects(encryptToTeeKey(k, MSG), JweError, JSON.stringify(k));
});

test('tee-pubkey parsing drops unknown members and keeps the typed fields', () => {
  const ec = ecTeeKey('P-256').jwk;
  assert.deepEqual(parseTeePubKey({ ...ec, kid: 'x', use: 'enc', d: 'secret?' }), ec);
  const small = { kty: 'RSA', alg: 'RSA-OAEP-256', n: Buffer.alloc(128, 0xc5).toString('base64url'), e: 'AQAB' };
  assert.throws(() => parseTeePubKey(small), /2048/);
});
