import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
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
