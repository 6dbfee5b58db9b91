/**
 * `tee-pubkey`: the guest's key that resources are wrapped to (specs/trustee.md §2.1, §2.4). Parsed once into a typed
 * JWK subset; unknown members are dropped because the runtime-data hash (§2.2) is over the re-serialized typed key.
 */
import { ECDH, createPublicKey, type KeyObject } from 'node:crypto';
import { Lru } from '../util/lru.js';

export type TeePubKey =
  | { kty: 'RSA'; alg: string; n: string; e: string }
  | { kty: 'EC'; crv: string; alg: string; x: string; y: string };

export class TeePubKeyError extends Error {
  readonly code = 'ERR_TEE_PUBKEY';
}

const B64URL = /^[A-Za-z0-9_-]+$/;
const EC_COORD_BYTES: Record<string, number> = { 'P-256': 32, 'P-521': 66 };
export const RSA_ALGS = ['RSA-OAEP-256', 'RSA1_5'] as const;
export const EC_ALG = 'ECDH-ES+A256KW';

function field(o: Record<string, unknown>, name: string): string {
  const v = o[name];
  if (typeof v !== 'string' || v.length === 0) throw new TeePubKeyError(`tee-pubkey: "${name}" must be a non-empty string`);
  return v;
}

function b64urlBytes(s: string, name: string): Buffer {
  if (!B64URL.test(s)) throw new TeePubKeyError(`tee-pubkey: "${name}" is not base64url`);
  return Buffer.from(s, 'base64url');
}

/**
 * Parse an untrusted JSON value into a TeePubKey we can encrypt to: RSA (RSA-OAEP-256, or RSA1_5 when allowed,
 * modulus ≥ 2048 bits) or EC P-256/P-521 with ECDH-ES+A256KW; the point must be on the curve.
 */
export function parseTeePubKey(v: unknown, opts: { allowRsa15?: boolean } = {}): TeePubKey {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TeePubKeyError('tee-pubkey must be a JSON object');
  const o = v as Record<string, unknown>;
  const kty = field(o, 'kty');
  const alg = field(o, 'alg');
  let key: TeePubKey;
  if (kty === 'RSA') {
    if (alg !== 'RSA-OAEP-256' && !(alg === 'RSA1_5' && opts.allowRsa15)) throw new TeePubKeyError(`tee-pubkey: unsupported RSA alg "${alg}"`);
    key = { kty, alg, n: field(o, 'n'), e: field(o, 'e') };
    const n = b64urlBytes(key.n, 'n');
    b64urlBytes(key.e, 'e');
    const bits = (n.length - (n[0] === 0 ? 1 : 0)) * 8;
    if (bits < 2048) throw new TeePubKeyError('tee-pubkey: RSA modulus shorter than 2048 bits');
  } else if (kty === 'EC') {
    const crv = field(o, 'crv');
    const len = EC_COORD_BYTES[crv];
    if (len === undefined) throw new TeePubKeyError(`tee-pubkey: unsupported curve "${crv}"`);
    if (alg !== EC_ALG) throw new TeePubKeyError(`tee-pubkey: unsupported EC alg "${alg}"`);
    key = { kty, crv, alg, x: field(o, 'x'), y: field(o, 'y') };
    if (b64urlBytes(key.x, 'x').length !== len || b64urlBytes(key.y, 'y').length !== len)
      throw new TeePubKeyError(`tee-pubkey: ${crv} coordinates must be ${len} bytes`);
  } else {
    throw new TeePubKeyError(`tee-pubkey: unsupported kty "${kty}"`);
  }
  checkTeePubKey(key); // rejects points off the curve and malformed RSA keys (cached once accepted)
  return key;
}

/**
 * Validated keys by their typed fields: the same tee-pubkey is parsed at /attest and again for every resource
 * request. Only accepted keys are cached; the caches are bounded (least recently used evicted) because the keys come
 * from guests.
 */
const KEY_CACHE_MAX = 1024;
/** RSA keys: node's JWK import (the JWE path needs the KeyObject for RSA-OAEP). */
const rsaCache = new Lru<string, KeyObject>(KEY_CACHE_MAX);
/** EC keys: points that decoded on their curve. */
const ecCache = new Lru<string, true>(KEY_CACHE_MAX);
const EC_CURVE: Record<string, string> = { 'P-256': 'prime256v1', 'P-521': 'secp521r1' };

function cacheId(key: TeePubKey): string {
  return JSON.stringify(key.kty === 'RSA' ? [key.kty, key.n, key.e] : [key.kty, key.crv, key.x, key.y]);
}

/** 0x04 ‖ X ‖ Y (SEC 1 §2.3.3), the form OpenSSL decodes. */
export function ecPoint(key: TeePubKey & { kty: 'EC' }): Buffer {
  return Buffer.concat([UNCOMPRESSED, Buffer.from(key.x, 'base64url'), Buffer.from(key.y, 'base64url')]);
}
const UNCOMPRESSED = Buffer.from([0x04]);

/**
 * EC: the point must decode on its curve. OpenSSL's point decoding (EC_POINT_oct2point → set_affine_coordinates)
 * refuses coordinates ≥ p and points off the curve; the uncompressed form cannot encode the point at infinity, and
 * P-256 / P-521 have cofactor 1, so this is the whole public-key validation of SEC 1 §3.2.2 — about 4× cheaper than
 * importing a KeyObject from the JWK, which also multiplies the point by the group order. RSA: node's JWK import.
 */
function checkTeePubKey(key: TeePubKey): void {
  const id = cacheId(key);
  if (key.kty === 'RSA') {
    teePubKeyObject(key);
    return;
  }
  if (ecCache.get(id)) return;
  const curve = EC_CURVE[key.crv];
  try {
    if (curve === undefined) throw new Error('curve');
    ECDH.convertKey(ecPoint(key), curve, undefined, undefined, 'uncompressed');
  } catch {
    throw new TeePubKeyError('tee-pubkey: not a valid public key');
  }
  ecCache.set(id, true);
}

/** The KeyObject of an RSA tee-pubkey (imported once, cached). EC keys need none: the JWE uses the raw point. */
export function teePubKeyObject(key: TeePubKey): KeyObject {
  const id = cacheId(key);
  const cached = rsaCache.get(id);
  if (cached) return cached;
  let k: KeyObject;
  try {
    const jwk = key.kty === 'RSA' ? { kty: 'RSA', n: key.n, e: key.e } : { kty: 'EC', crv: key.crv, x: key.x, y: key.y };
    k = createPublicKey({ key: jwk, format: 'jwk' });
  } catch {
    throw new TeePubKeyError('tee-pubkey: not a valid public key');
  }
  if (key.kty === 'RSA') rsaCache.set(id, k);
  return k;
}
