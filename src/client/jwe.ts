/**
 * Decrypts the KBS resource response (flattened JWE, specs/trustee.md §2.4) with the TEE private key. Only the
 * key-management algorithm of this key and `A256GCM` are accepted, so a response that tries another algorithm (or a
 * downgrade to RSA1_5) is rejected instead of decrypted, and so is a compressed (`zip`) payload, a `crit` extension,
 * a tag shorter than 128 bits, or an `epk` that is not a public point on the TEE key's curve.
 *
 * Assembled on node:crypto primitives (RFC 7516 §5.2, RFC 7518 §4.3/§4.6/§5.3); jose is the independent referee in
 * test/kbs/jwe-interop.test.ts (jose encrypts, this decrypts).
 */
import { constants, createDecipheriv, createECDH, createHash, privateDecrypt, type ECDH, type KeyObject } from 'node:crypto';
import { KbsClientError } from './errors.js';
import type { TeeKeyPair } from './tee-key.js';
import type { FlattenedJweResponse } from './wire.js';

/** A decryption failure; the message names the rule that failed, never key or plaintext bytes. */
class JweRejected extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const B64URL = /^[A-Za-z0-9_-]*$/;
const AES_KW_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');
const UNCOMPRESSED = Buffer.from([0x04]);
const EC_COORD_BYTES: Record<string, number> = { 'P-256': 32, 'P-521': 66 };
/** Header members this decryptor understands; anything else in a JWE from the KBS is refused. */
const KNOWN_HEADER = new Set(['alg', 'enc', 'epk', 'kid', 'typ', 'cty', 'apu', 'apv']);

function b64(s: string, name: string): Buffer {
  if (!B64URL.test(s)) throw new JweRejected('ERR_JWE_INVALID', `JWE "${name}" is not base64url`);
  return Buffer.from(s, 'base64url');
}

function u32be(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** RFC 7518 §4.6.2 Concat KDF with SHA-256, one round (keydatalen ≤ 256 bits), with the header's apu/apv if any. */
export function concatKdf(z: Buffer, alg: string, apu: Buffer, apv: Buffer, keyDataLenBits = 256): Buffer {
  if (!(keyDataLenBits > 0 && keyDataLenBits <= 256 && keyDataLenBits % 8 === 0)) throw new RangeError('Concat KDF: keydatalen must be 8..256 bits');
  const a = Buffer.from(alg, 'ascii');
  return createHash('sha256')
    .update(Buffer.concat([u32be(1), z, u32be(a.length), a, u32be(apu.length), apu, u32be(apv.length), apv, u32be(keyDataLenBits)]))
    .digest()
    .subarray(0, keyDataLenBits / 8);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseHeader(protectedB64: string, key: TeeKeyPair): Record<string, unknown> {
  let header: unknown;
  try {
    header = JSON.parse(b64(protectedB64, 'protected').toString('utf8'));
  } catch (e) {
    if (e instanceof JweRejected) throw e;
    throw new JweRejected('ERR_JWE_INVALID', 'JWE protected header is not JSON');
  }
  if (!isObject(header)) throw new JweRejected('ERR_JWE_INVALID', 'JWE protected header is not a JSON object');
  if ('zip' in header) throw new JweRejected('ERR_JOSE_NOT_SUPPORTED', 'JWE "zip" (compression) is refused');
  if ('crit' in header) throw new JweRejected('ERR_JOSE_NOT_SUPPORTED', 'JWE "crit" extensions are not supported');
  for (const name of Object.keys(header)) {
    if (!KNOWN_HEADER.has(name)) throw new JweRejected('ERR_JOSE_NOT_SUPPORTED', `JWE header member "${name}" is not supported`);
  }
  if (header.alg !== key.alg) throw new JweRejected('ERR_JOSE_ALG_NOT_ALLOWED', `JWE "alg" ${JSON.stringify(header.alg)} is not the TEE key's ${key.alg}`);
  if (header.enc !== 'A256GCM') throw new JweRejected('ERR_JOSE_ALG_NOT_ALLOWED', `JWE "enc" ${JSON.stringify(header.enc)} is not A256GCM`);
  return header;
}

function optionalB64(header: Record<string, unknown>, name: string): Buffer {
  const v = header[name];
  if (v === undefined) return Buffer.alloc(0);
  if (typeof v !== 'string') throw new JweRejected('ERR_JWE_INVALID', `JWE "${name}" is not a string`);
  return b64(v, name);
}

/**
 * The TEE private key as a node ECDH object, made once per key: ECDH.computeSecret decodes the peer point with
 * OpenSSL's on-curve check (P-256/P-521 have cofactor 1, so that is the whole validation) without building a
 * KeyObject for every response. The scalar buffer is wiped after it is loaded.
 */
const ecdhOf = new WeakMap<KeyObject, ECDH>();
const NODE_CURVE: Record<string, string> = { 'P-256': 'prime256v1', 'P-521': 'secp521r1' };

function ecdhFor(key: TeeKeyPair, crv: string): ECDH {
  let e = ecdhOf.get(key.privateKey);
  if (!e) {
    e = createECDH(NODE_CURVE[crv]!);
    const d = Buffer.from(String(key.privateKey.export({ format: 'jwk' }).d), 'base64url');
    try {
      e.setPrivateKey(d);
    } finally {
      d.fill(0);
    }
    ecdhOf.set(key.privateKey, e);
  }
  return e;
}

/** Z for the header's ephemeral public key: an EC public JWK on the TEE key's curve, refused if off the curve. */
function sharedSecret(header: Record<string, unknown>, key: TeeKeyPair, crv: string): Buffer {
  const epk = header.epk;
  if (!isObject(epk)) throw new JweRejected('ERR_JWE_INVALID', 'JWE "epk" is missing or not an object');
  if (epk.kty !== 'EC' || epk.crv !== crv) throw new JweRejected('ERR_JWE_INVALID', `JWE "epk" is not an EC ${crv} key`);
  if ('d' in epk) throw new JweRejected('ERR_JWE_INVALID', 'JWE "epk" is not a public key');
  const len = EC_COORD_BYTES[crv]!;
  const { x, y } = epk;
  const xb = typeof x === 'string' ? b64(x, 'epk.x') : undefined;
  const yb = typeof y === 'string' ? b64(y, 'epk.y') : undefined;
  if (xb?.length !== len || yb?.length !== len) throw new JweRejected('ERR_JWE_INVALID', `JWE "epk" coordinates must be ${len} bytes`);
  try {
    return ecdhFor(key, crv).computeSecret(Buffer.concat([UNCOMPRESSED, xb, yb]));
  } catch {
    throw new JweRejected('ERR_JWE_INVALID', 'JWE "epk" is not a valid point on the curve');
  }
}

function unwrapCek(jwe: FlattenedJweResponse, header: Record<string, unknown>, key: TeeKeyPair): Buffer {
  const encryptedKey = b64(jwe.encrypted_key, 'encrypted_key');
  const pub = key.publicJwk;
  if (pub.kty === 'RSA') {
    try {
      return privateDecrypt({ key: key.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, encryptedKey);
    } catch {
      throw new JweRejected('ERR_JWE_DECRYPTION_FAILED', 'JWE key decryption failed');
    }
  }
  const z = sharedSecret(header, key, pub.crv);
  const kek = concatKdf(z, pub.alg, optionalB64(header, 'apu'), optionalB64(header, 'apv'));
  if (encryptedKey.length !== 40) throw new JweRejected('ERR_JWE_INVALID', 'JWE "encrypted_key" must be 40 bytes for A256KW');
  try {
    const d = createDecipheriv('id-aes256-wrap', kek, AES_KW_IV);
    return Buffer.concat([d.update(encryptedKey), d.final()]);
  } catch {
    throw new JweRejected('ERR_JWE_DECRYPTION_FAILED', 'JWE key unwrap failed');
  }
}

function decrypt(jwe: FlattenedJweResponse, key: TeeKeyPair): Buffer {
  const header = parseHeader(jwe.protected, key);
  const iv = b64(jwe.iv, 'iv');
  const tag = b64(jwe.tag, 'tag');
  const ciphertext = b64(jwe.ciphertext, 'ciphertext');
  if (iv.length !== 12) throw new JweRejected('ERR_JWE_INVALID', 'JWE "iv" must be 96 bits for A256GCM');
  if (tag.length !== 16) throw new JweRejected('ERR_JWE_INVALID', 'Invalid Tag length: JWE "tag" must be 128 bits for A256GCM');
  const cek = unwrapCek(jwe, header, key);
  if (cek.length !== 32) throw new JweRejected('ERR_JWE_DECRYPTION_FAILED', 'JWE content key has the wrong length');
  // RFC 7516 §5.2 step 14: AAD = ASCII(protected), or ASCII(protected ‖ '.' ‖ aad) when an aad member is present.
  if (jwe.aad !== undefined) b64(jwe.aad, 'aad');
  const aad = jwe.aad === undefined ? jwe.protected : `${jwe.protected}.${jwe.aad}`;
  try {
    const d = createDecipheriv('aes-256-gcm', cek, iv, { authTagLength: 16 });
    d.setAAD(Buffer.from(aad, 'ascii'));
    d.setAuthTag(tag);
    return Buffer.concat([d.update(ciphertext), d.final()]);
  } catch {
    throw new JweRejected('ERR_JWE_DECRYPTION_FAILED', 'JWE content decryption failed (authentication tag mismatch)');
  }
}

export async function decryptResponse(jwe: FlattenedJweResponse, key: TeeKeyPair): Promise<Buffer> {
  try {
    return decrypt(jwe, key);
  } catch (e) {
    const code = e instanceof JweRejected ? ` (${e.code})` : '';
    const msg = e instanceof Error ? e.message : String(e);
    throw new KbsClientError('resource', 'ERR_DECRYPT', `cannot decrypt the resource JWE${code}: ${msg}`, { cause: e });
  }
}
