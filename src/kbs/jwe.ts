/**
 * Resource responses as flattened JWE JSON (specs/trustee.md §2.4): A256GCM content encryption with a random CEK,
 * key management chosen only by the tee-pubkey from the token: RSA-OAEP-256, ECDH-ES+A256KW (P-256, P-521), and
 * RSA1_5 only when `[jwe] allow_rsa1_5` is set. Anything else is a JweError.
 *
 * Assembled on node:crypto primitives (RFC 7516 serialization, RFC 7518 §4.3/§4.6/§4.4/§5.3); jose is the
 * independent referee in test/kbs/jwe-interop.test.ts. Header JSON: `{"alg","enc"}` then `epk` with its members
 * sorted (`crv`, `kty`, `x`, `y`), as Trustee's serde output.
 */
import { constants, createCipheriv, createECDH, createHash, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { JweError } from './errors.js';
import { ecPoint, parseTeePubKey, teePubKeyObject, TeePubKeyError, type TeePubKey } from './tee-pubkey.js';

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

const ENC = 'A256GCM';
/** RFC 3394 §2.2.3.1 default initial value (node's `id-aes256-wrap` checks it on unwrap). */
const AES_KW_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');

function u32be(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/**
 * RFC 7518 §4.6.2 Concat KDF with SHA-256 for keydatalen ≤ 256 (one round): SHA-256(counter=1 ‖ Z ‖
 * len(AlgorithmID) ‖ AlgorithmID ‖ len(apu)=0 ‖ len(apv)=0 ‖ keydatalen), truncated to keydatalen bits.
 */
export function concatKdfSha256(z: Buffer, algorithmId: string, keyDataLenBits: number): Buffer {
  if (!(keyDataLenBits > 0 && keyDataLenBits <= 256 && keyDataLenBits % 8 === 0)) throw new RangeError('Concat KDF: keydatalen must be 8..256 bits');
  const alg = Buffer.from(algorithmId, 'ascii');
  const digest = createHash('sha256')
    .update(Buffer.concat([u32be(1), z, u32be(alg.length), alg, u32be(0), u32be(0), u32be(keyDataLenBits)]))
    .digest();
  return digest.subarray(0, keyDataLenBits / 8);
}

/**
 * CEK and IV bytes are drawn from a 4 KiB block of CSPRNG output (one randomBytes call per ~93 responses instead of
 * two per response). Every byte is used once; the block is replaced, never rewound, and the CEK bytes are zeroed in
 * the block as soon as the cipher has taken its copy.
 */
const RANDOM_POOL_BYTES = 4096;
let randomPool = Buffer.alloc(0);
let randomPoolOffset = 0;

function poolBytes(n: number): Buffer {
  if (randomPoolOffset + n > randomPool.length) {
    randomPool = randomBytes(RANDOM_POOL_BYTES);
    randomPoolOffset = 0;
  }
  const out = randomPool.subarray(randomPoolOffset, randomPoolOffset + n);
  randomPoolOffset += n;
  return out;
}

const CURVE: Record<string, 'prime256v1' | 'secp521r1'> = { 'P-256': 'prime256v1', 'P-521': 'secp521r1' };

/** `rawKey` is the untrusted tee-pubkey JSON from the token claims. */
export async function encryptToTeeKey(rawKey: unknown, plaintext: Uint8Array, opts: JweOptions = {}): Promise<FlattenedJwe> {
  let key: TeePubKey;
  let keyObject: KeyObject | undefined;
  try {
    key = parseTeePubKey(rawKey, opts); // validated (and cached) once per key
    if (key.kty === 'RSA') keyObject = teePubKeyObject(key); // cached by parseTeePubKey: no second import
  } catch (e) {
    if (e instanceof TeePubKeyError) throw new JweError(e.message);
    throw e;
  }
  try {
    return encryptParsed(key, keyObject, plaintext);
  } catch (e) {
    if (e instanceof JweError) throw e;
    throw new JweError(`JWE encryption failed: ${(e as Error).message}`);
  }
}

function encryptParsed(key: TeePubKey, keyObject: KeyObject | undefined, plaintext: Uint8Array): FlattenedJwe {
  const cek = poolBytes(32);
  try {
    return encryptWithCek(key, keyObject, plaintext, cek);
  } finally {
    cek.fill(0);
  }
}

function encryptWithCek(key: TeePubKey, keyObject: KeyObject | undefined, plaintext: Uint8Array, cek: Buffer): FlattenedJwe {
  let header: string;
  let encryptedKey: Buffer;
  if (key.kty === 'RSA') {
    if (keyObject === undefined) throw new JweError('RSA tee-pubkey without its imported key');
    if (key.alg === 'RSA1_5') {
      header = JSON.stringify({ alg: 'RSA1_5', enc: ENC });
      encryptedKey = publicEncrypt({ key: keyObject, padding: constants.RSA_PKCS1_PADDING }, cek);
    } else if (key.alg === 'RSA-OAEP-256') {
      header = JSON.stringify({ alg: 'RSA-OAEP-256', enc: ENC });
      encryptedKey = publicEncrypt({ key: keyObject, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek);
    } else {
      throw new JweError(`unsupported RSA alg "${key.alg}"`);
    }
  } else {
    const namedCurve = CURVE[key.crv];
    if (namedCurve === undefined || key.alg !== 'ECDH-ES+A256KW') throw new JweError(`unsupported EC key ${key.crv}/${key.alg}`);
    // Ephemeral key and ECDH through node's ECDH class: the peer point is decoded with OpenSSL's on-curve check
    // (P-256/P-521 have cofactor 1, so that is the whole public-key validation), without building KeyObjects.
    const eph = createECDH(namedCurve);
    const ephPoint = eph.generateKeys(); // uncompressed: 0x04 ‖ X ‖ Y, coordinates at full field length
    const len = (ephPoint.length - 1) / 2;
    const epk = { crv: key.crv, kty: 'EC', x: ephPoint.subarray(1, 1 + len).toString('base64url'), y: ephPoint.subarray(1 + len).toString('base64url') };
    header = JSON.stringify({ alg: key.alg, enc: ENC, epk });
    const teePoint = ecPoint(key);
    // RFC 7518 §4.6.2: Z from ECDH, Concat KDF (SHA-256, AlgorithmID = alg, empty apu/apv, keydatalen 256).
    const kek = concatKdfSha256(eph.computeSecret(teePoint), key.alg, 256);
    const wrap = createCipheriv('id-aes256-wrap', kek, AES_KW_IV); // RFC 3394 AES key wrap, default IV
    encryptedKey = Buffer.concat([wrap.update(cek), wrap.final()]);
  }
  const protectedB64 = Buffer.from(header, 'utf8').toString('base64url');
  const iv = poolBytes(12);
  const cipher = createCipheriv('aes-256-gcm', cek, iv, { authTagLength: 16 });
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
