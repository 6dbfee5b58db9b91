import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createCipheriv, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { FlattenedEncrypt, importJWK, type JWK } from 'jose';
import { TeeKeyPair, type TeeKeyAlgorithm } from '../../src/client/tee-key.js';
import { decryptResponse } from '../../src/client/jwe.js';
import { parseJweResponse } from '../../src/client/wire.js';
import { KbsClientError } from '../../src/client/errors.js';

/** What the KBS does (§2.4): encrypt to the tee-pubkey with its own alg and A256GCM. */
async function encryptTo(key: TeeKeyPair, plaintext: Uint8Array, alg: string = key.alg, enc = 'A256GCM') {
  const jwe = await new FlattenedEncrypt(plaintext)
    .setProtectedHeader({ alg, enc })
    .encrypt(await importJWK(key.publicJwk as JWK, key.alg));
  // Through JSON and our edge parser, as the client receives it.
  return parseJweResponse(JSON.parse(JSON.stringify(jwe)));
}

const secret = Buffer.from('0123456789abcdef\x00\xffbinary', 'latin1');
const rejected = (e: unknown) => e instanceof KbsClientError && e.step === 'resource' && e.code === 'ERR_DECRYPT';

for (const alg of ['ECDH-ES+A256KW-P256', 'ECDH-ES+A256KW-P521', 'RSA-OAEP-256'] as TeeKeyAlgorithm[]) {
  test(`decrypts a jose FlattenedEncrypt JWE for ${alg}`, async () => {
    const key = TeeKeyPair.generate(alg);
    const jwe = await encryptTo(key, secret);
    const header = JSON.parse(Buffer.from(jwe.protected, 'base64url').toString());
    assert.equal(header.alg, key.alg);
    assert.equal(header.enc, 'A256GCM');
    assert.deepEqual(await decryptResponse(jwe, key), secret);
  });

  test(`rejects tampered ciphertext, tag, protected header and a foreign key (${alg})`, async () => {
    const key = TeeKeyPair.generate(alg);
    const jwe = await encryptTo(key, secret);
    const flip = (s: string) => {
      const b = Buffer.from(s, 'base64url');
      b[0]! ^= 1;
      return b.toString('base64url');
    };
    await assert.rejects(decryptResponse({ ...jwe, ciphertext: flip(jwe.ciphertext) }, key), rejected);
    await assert.rejects(decryptResponse({ ...jwe, tag: flip(jwe.tag) }, key), rejected);
    await assert.rejects(decryptResponse({ ...jwe, encrypted_key: flip(jwe.encrypted_key) }, key), rejected);
    // The protected header is the GCM AAD: any change must break decryption.
    const hdr = JSON.parse(Buffer.from(jwe.protected, 'base64url').toString());
    const reordered = Buffer.from(JSON.stringify({ enc: hdr.enc, ...hdr })).toString('base64url');
    assert.notEqual(reordered, jwe.protected);
    await assert.rejects(decryptResponse({ ...jwe, protected: reordered }, key), rejected);
    await assert.rejects(decryptResponse(jwe, TeeKeyPair.generate(alg)), rejected);
  });
}

test('refuses a content encryption other than A256GCM', async () => {
  const key = TeeKeyPair.generate();
  const jwe = await encryptTo(key, secret, key.alg, 'A128GCM');
  await assert.rejects(decryptResponse(jwe, key), rejected);
});

test('refuses a key-management algorithm other than the TEE key\'s (no RSA-OAEP downgrade)', async () => {
  const key = TeeKeyPair.generate('RSA-OAEP-256');
  const jwe = await new FlattenedEncrypt(secret)
    .setProtectedHeader({ alg: 'RSA-OAEP', enc: 'A256GCM' })
    .encrypt(createPublicKey(key.privateKey));
  await assert.rejects(decryptResponse(parseJweResponse(jwe), key), rejected);
});

test('parseJweResponse requires every member as a string', () => {
  assert.throws(() => parseJweResponse({ protected: 'a', iv: 'b', ciphertext: 'c', tag: 'd' }), /encrypted_key/);
  assert.throws(() => parseJweResponse([]), /not a JSON object/);
});

/** A JWE built by hand with valid cryptography, so only the header decides whether the client accepts it. */
function handMadeRsaJwe(key: TeeKeyPair, header: Record<string, unknown>, plaintext: Buffer, opts: { rsa15?: boolean; tagLength?: number } = {}) {
  const cek = randomBytes(32);
  const iv = randomBytes(12);
  const pub = createPublicKey(key.privateKey);
  const encryptedKey = opts.rsa15
    ? publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_PADDING }, cek)
    : publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek);
  const protectedB64 = Buffer.from(JSON.stringify(header)).toString('base64url');
  const cipher = createCipheriv('aes-256-gcm', cek, iv);
  cipher.setAAD(Buffer.from(protectedB64, 'ascii'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return parseJweResponse({
    protected: protectedB64,
    encrypted_key: encryptedKey.toString('base64url'),
    iv: iv.toString('base64url'),
    ciphertext: ciphertext.toString('base64url'),
    tag: cipher.getAuthTag().subarray(0, opts.tagLength ?? 16).toString('base64url'),
  });
}

test('the hand-made RSA-OAEP-256 JWE decrypts (control for the cases below)', async () => {
  const key = TeeKeyPair.generate('RSA-OAEP-256');
  assert.deepEqual(await decryptResponse(handMadeRsaJwe(key, { alg: 'RSA-OAEP-256', enc: 'A256GCM' }, secret), key), secret);
});

test('security-cases §19: RSA1_5, zip, truncated tag and an epk off the curve are all rejected', async () => {
  const rsa = TeeKeyPair.generate('RSA-OAEP-256');
  await assert.rejects(decryptResponse(handMadeRsaJwe(rsa, { alg: 'RSA1_5', enc: 'A256GCM' }, secret, { rsa15: true }), rsa), rejected);
  await assert.rejects(
    decryptResponse(handMadeRsaJwe(rsa, { alg: 'RSA-OAEP-256', enc: 'A256GCM', zip: 'DEF' }, secret), rsa),
    (e: unknown) => rejected(e) && /"zip"/.test((e as Error).message),
  );
  await assert.rejects(
    decryptResponse(handMadeRsaJwe(rsa, { alg: 'RSA-OAEP-256', enc: 'A256GCM' }, secret, { tagLength: 8 }), rsa),
    (e: unknown) => rejected(e) && /Tag length/i.test((e as Error).message),
  );

  const ec = TeeKeyPair.generate();
  const good = await encryptTo(ec, secret);
  const hdr = JSON.parse(Buffer.from(good.protected, 'base64url').toString());
  const y = Buffer.from(hdr.epk.y, 'base64url');
  y[31]! ^= 1; // (x, y') is not on P-256
  const offCurve = Buffer.from(JSON.stringify({ ...hdr, epk: { ...hdr.epk, y: y.toString('base64url') } })).toString('base64url');
  await assert.rejects(decryptResponse({ ...good, protected: offCurve }, ec), rejected);
});
