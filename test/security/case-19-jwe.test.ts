// security-cases.md #19: JWE — invalid-curve epk / tee-pubkey, RSA1_5, huge p2c, zip, truncated tag, enc/alg
// mismatch. Server side the KBS only encrypts (its input is the tee-pubkey); client side src/client/jwe.ts decrypts.
// RSA1_5, zip, truncated tag and an off-curve epk at the client are covered in test/client/jwe.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { FlattenedEncrypt, importJWK, type JWK } from 'jose';
import { TeeKeyPair } from '../../src/client/tee-key.js';
import { decryptResponse } from '../../src/client/jwe.js';
import { parseJweResponse } from '../../src/client/wire.js';
import { KbsClientError } from '../../src/client/errors.js';
import { attest, attestationBody, auth, ecTeeKey, errorType, type TeeKey } from '../kbs/support/rcar.js';
import { kbsWithSecret } from './support.js';

/** A P-256 tee-pubkey whose point is not on the curve (y flipped in its last bit). */
function offCurve(): TeeKey {
  const k = ecTeeKey();
  const y = Buffer.from(k.jwk.y!, 'base64url');
  y[31]! ^= 1;
  return { ...k, jwk: { ...k.jwk, y: y.toString('base64url') } };
}

test('#19 an off-curve (invalid-curve) or small tee-pubkey is refused at /attest: the KBS never does ECDH with it', async (t) => {
  const { k } = await kbsWithSecret(t);
  const good = ecTeeKey();
  const bad: Array<[string, TeeKey]> = [
    ['off-curve point', offCurve()],
    ['point at x=0,y=0', { ...good, jwk: { ...good.jwk, x: Buffer.alloc(32).toString('base64url'), y: Buffer.alloc(32).toString('base64url') } }],
    ['P-256 coordinates labelled P-521', { ...good, jwk: { ...good.jwk, crv: 'P-521' } }],
    ['short coordinate', { ...good, jwk: { ...good.jwk, x: good.jwk.x!.slice(0, 40) } }],
  ];
  for (const [name, key] of bad) {
    const a = await auth(k.url);
    const r = await attest(k.url, a.cookie, attestationBody(a.nonce, key));
    assert.equal(r.status, 401, `${name}: ${r.text}`);
    assert.equal(errorType(r), 'AttestationError', name);
  }
  // Control: a valid key with the same evidence shape attests.
  const a = await auth(k.url);
  assert.equal((await attest(k.url, a.cookie, attestationBody(a.nonce, good))).status, 200);
});

const rejected = (e: unknown) => e instanceof KbsClientError && e.code === 'ERR_DECRYPT';

test('#19 client: PBES2 with a huge p2c is refused without running the KDF', async () => {
  const key = TeeKeyPair.generate();
  // Real AES-GCM content so only the header can make the client refuse.
  const header = { alg: 'PBES2-HS512+A256KW', enc: 'A256GCM', p2s: randomBytes(16).toString('base64url'), p2c: 2_000_000_000 };
  const protectedB64 = Buffer.from(JSON.stringify(header)).toString('base64url');
  const cek = randomBytes(32);
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', cek, iv);
  c.setAAD(Buffer.from(protectedB64, 'ascii'));
  const ciphertext = Buffer.concat([c.update('x'), c.final()]);
  const jwe = parseJweResponse({
    protected: protectedB64,
    encrypted_key: randomBytes(40).toString('base64url'),
    iv: iv.toString('base64url'),
    ciphertext: ciphertext.toString('base64url'),
    tag: c.getAuthTag().toString('base64url'),
  });
  // 2e9 PBKDF2-SHA512 rounds would take hours; a refusal proves the header was checked before any KDF work.
  await assert.rejects(decryptResponse(jwe, key), rejected);
});

test('#19 client: enc/alg that do not match the TEE key (A128GCM content, key-wrap alg of another key type)', async () => {
  const ec = TeeKeyPair.generate();
  const rsa = TeeKeyPair.generate('RSA-OAEP-256');
  const pub = async (k: TeeKeyPair) => importJWK(k.publicJwk as JWK, k.alg);
  // EC key, but the JWE says RSA-OAEP-256 (encrypted to the RSA key): the client must not try it with another key.
  const crossed = await new FlattenedEncrypt(Buffer.from('s')).setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM' }).encrypt(await pub(rsa));
  await assert.rejects(decryptResponse(parseJweResponse(JSON.parse(JSON.stringify(crossed))), ec), rejected);
  // Right alg, weaker content encryption.
  for (const enc of ['A128GCM', 'A128CBC-HS256']) {
    const weak = await new FlattenedEncrypt(Buffer.from('s')).setProtectedHeader({ alg: ec.alg, enc }).encrypt(await pub(ec));
    await assert.rejects(decryptResponse(parseJweResponse(JSON.parse(JSON.stringify(weak))), ec), rejected, enc);
  }
  // Control: the matching pair decrypts.
  const ok = await new FlattenedEncrypt(Buffer.from('s')).setProtectedHeader({ alg: ec.alg, enc: 'A256GCM' }).encrypt(await pub(ec));
  assert.equal((await decryptResponse(parseJweResponse(JSON.parse(JSON.stringify(ok))), ec)).toString(), 's');
});
