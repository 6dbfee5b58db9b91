/**
 * Resource responses as flattened JWE JSON (specs/trustee.md §2.4): A256GCM content encryption with a random CEK,
 * key management chosen only by the tee-pubkey from the token: RSA-OAEP-256, ECDH-ES+A256KW (P-256, P-521), and
 * RSA1_5 only when `[jwe] allow_rsa1_5` is set. Anything else is a JweError.
 */
import { createCipheriv, publicEncrypt, randomBytes, constants } from 'node:crypto';
import { FlattenedEncrypt } from 'jose';
import { JweError } from './errors.js';
import { parseTeePubKey, teePubKeyObject, TeePubKeyError, type TeePubKey } from './tee-pubkey.js';

export interface FlattenedJwe {
  protected: string;
  encrypted_key: string;
  iv: string;
  ciphertext: string;
  tag: string;
}

export interface JweOptions {
  allowRsa15?: boolean;
}

/** `rawKey` is the untrusted tee-pubkey JSON from the token claims. */
export async function encryptToTeeKey(rawKey: unknown, plaintext: Uint8Array, opts: JweOptions = {}): Promise<FlattenedJwe> {
  let key: TeePubKey;
  try {
    key = parseTeePubKey(rawKey, opts);
  } catch (e) {
    if (e instanceof TeePubKeyError) throw new JweError(e.message);
    throw e;
  }
  if (key.kty === 'RSA' && key.alg === 'RSA1_5') return rsa15(key, plaintext);
  const alg = key.kty === 'RSA' ? 'RSA-OAEP-256' : 'ECDH-ES+A256KW';
  try {
    const jwe = await new FlattenedEncrypt(plaintext).setProtectedHeader({ alg, enc: 'A256GCM' }).encrypt(teePubKeyObject(key));
    return {
      protected: jwe.protected!,
      encrypted_key: jwe.encrypted_key!,
      iv: jwe.iv!,
      ciphertext: jwe.ciphertext,
      tag: jwe.tag!,
    };
  } catch (e) {
    throw new JweError(`JWE encryption failed: ${(e as Error).message}`);
  }
}

function rsa15(key: TeePubKey, plaintext: Uint8Array): FlattenedJwe {
  const cek = randomBytes(32);
  const iv = randomBytes(12);
  const encryptedKey = publicEncrypt({ key: teePubKeyObject(key), padding: constants.RSA_PKCS1_PADDING }, cek);
  const protectedB64 = Buffer.from(JSON.stringify({ alg: 'RSA1_5', enc: 'A256GCM' })).toString('base64url');
  const cipher = createCipheriv('aes-256-gcm', cek, iv);
  cipher.setAAD(Buffer.from(protectedB64, 'ascii'));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return {
    protected: protectedB64,
    encrypted_key: encryptedKey.toString('base64url'),
    iv: iv.toString('base64url'),
    ciphertext: ct.toString('base64url'),
    tag: cipher.getAuthTag().toString('base64url'),
  };
}
