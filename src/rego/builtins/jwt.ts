/**
 * io.jwt.* — JWS compact tokens parsed by hand and verified with node:crypto's synchronous primitives (built-ins are
 * synchronous; jose's API is async). Algorithm confusion is impossible by construction: HS* only ever uses a secret
 * key, RS/PS/ES/EdDSA only ever a public key of the matching type.
 */
import { createHmac, createPrivateKey, createSecretKey, sign as nodeSign, verify as nodeVerify, timingSafeEqual, constants } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { def, asString, asObject, builtinError, RegoObject, isNumber, typeName } from './util.js';
import type { BuiltinDef, Value, BuiltinContext } from './util.js';
import { parseJson, JsonSyntaxError } from './jsonparse.js';
import { bytesToString, stringToBytes } from './bytes.js';
import { termString } from './format.js';
import { keysFromCertOrJwk, KeyError } from './keys.js';
import type { VerificationKey } from './keys.js';
import { compare, jsonText } from '../value.js';

type Family = 'HS' | 'RS' | 'PS' | 'ES' | 'EdDSA';
interface Alg {
  family: Family;
  hash: string | null;
  /** ES: curve the key must be on. */
  curve?: string;
}

const ALGS: Record<string, Alg> = {
  HS256: { family: 'HS', hash: 'sha256' },
  HS384: { family: 'HS', hash: 'sha384' },
  HS512: { family: 'HS', hash: 'sha512' },
  RS256: { family: 'RS', hash: 'sha256' },
  RS384: { family: 'RS', hash: 'sha384' },
  RS512: { family: 'RS', hash: 'sha512' },
  PS256: { family: 'PS', hash: 'sha256' },
  PS384: { family: 'PS', hash: 'sha384' },
  PS512: { family: 'PS', hash: 'sha512' },
  ES256: { family: 'ES', hash: 'sha256', curve: 'prime256v1' },
  ES384: { family: 'ES', hash: 'sha384', curve: 'secp384r1' },
  ES512: { family: 'ES', hash: 'sha512', curve: 'secp521r1' },
  EdDSA: { family: 'EdDSA', hash: null },
};

// ---- token parsing

interface Token {
  header: string; // base64url as in the token
  payload: string;
  signature: string;
}

function splitToken(name: string, jwt: string): Token {
  if (!jwt.includes('.')) throw builtinError(name, 'encoded JWT had no period separators');
  const parts = jwt.split('.');
  if (parts.length !== 3) throw builtinError(name, `encoded JWT must have 3 sections, found ${parts.length}`);
  return { header: parts[0]!, payload: parts[1]!, signature: parts[2]! };
}

/** Go's RawURLEncoding (padding tolerated, as OPA strips it). */
function b64url(name: string, what: string, s: string): Buffer {
  const t = s.replace(/=+$/, '');
  const bad = [...t].findIndex((c) => !/[A-Za-z0-9_-]/.test(c));
  if (bad >= 0 || t.length % 4 === 1) {
    throw builtinError(name, `JWT ${what} had invalid encoding: illegal base64 data at input byte ${bad >= 0 ? bad : t.length}`);
  }
  return Buffer.from(t, 'base64url');
}

function jsonObject(name: string, text: string, what: string): RegoObject {
  let v: Value;
  try {
    v = parseJson(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw builtinError(name, `JWT ${what} could not be parsed: ${e.message}`);
    throw e;
  }
  if (!(v instanceof RegoObject)) throw builtinError(name, `JWT ${what} must be a JSON object`);
  return v;
}

interface Header {
  obj: RegoObject;
  alg?: string;
  kid?: string;
  cty?: string;
  typ?: string;
  /** OPA's header.valid(): alg present, no unsupported "crit" extensions. */
  valid: boolean;
}

function decodeHeader(name: string, t: Token): Header {
  const obj = jsonObject(name, bytesToString(b64url(name, 'header', t.header)), 'header');
  if (obj.has('enc')) throw builtinError(name, 'JWT is a JWE object, which is not supported');
  const str = (k: string) => {
    const v = obj.getStr(k);
    return typeof v === 'string' ? v : undefined;
  };
  const crit = obj.getStr('crit');
  const alg = str('alg');
  // No "crit" extension is understood, so any listed one makes the header invalid (RFC 7515 §4.1.11).
  const critOk = crit === undefined || (Array.isArray(crit) && crit.length === 0);
  return { obj, alg, kid: str('kid'), cty: str('cty'), typ: str('typ'), valid: alg !== undefined && critOk };
}

function decode(name: string, jwt: string): Value {
  for (let depth = 0; depth < 16; depth++) {
    const t = splitToken(name, jwt);
    const h = decodeHeader(name, t);
    const payloadText = bytesToString(b64url(name, 'payload', t.payload));
    const sig = b64url(name, 'signature', t.signature);
    if (h.cty?.toUpperCase() === 'JWT') {
      const inner = parseNested(name, payloadText);
      jwt = inner;
      continue;
    }
    const payload = jsonObject(name, payloadText, 'payload');
    return [h.obj, payload, sig.toString('hex')];
  }
  throw builtinError(name, 'JWT nesting too deep');
}

/** A nested token's payload is the inner token, either as a JSON string or raw. */
function parseNested(name: string, text: string): string {
  try {
    const v = parseJson(text);
    if (typeof v === 'string') return v;
  } catch {
    /* raw compact token */
  }
  if (!text.includes('.')) throw builtinError(name, 'nested JWT payload is not a token');
  return text;
}

// ---- signatures

function signingInput(t: Token): Buffer {
  return Buffer.from(`${t.header}.${t.payload}`, 'ascii');
}

export function verifySignature(alg: Alg, key: KeyObject, data: Buffer, sig: Buffer): boolean {
  try {
    switch (alg.family) {
      case 'HS': {
        if (key.type !== 'secret') return false;
        const mac = createHmac(alg.hash!, key).update(data).digest();
        return mac.length === sig.length && timingSafeEqual(mac, sig);
      }
      case 'RS':
        if (key.type !== 'public' || key.asymmetricKeyType !== 'rsa') return false;
        return nodeVerify(alg.hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, sig);
      case 'PS':
        if (key.type !== 'public' || (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'rsa-pss')) return false;
        return nodeVerify(alg.hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, sig);
      case 'ES':
        if (key.type !== 'public' || key.asymmetricKeyType !== 'ec') return false;
        if (key.asymmetricKeyDetails?.namedCurve !== alg.curve) return false;
        return nodeVerify(alg.hash, data, { key, dsaEncoding: 'ieee-p1363' }, sig);
      case 'EdDSA':
        if (key.type !== 'public' || (key.asymmetricKeyType !== 'ed25519' && key.asymmetricKeyType !== 'ed448')) return false;
        return nodeVerify(null, data, key, sig);
    }
  } catch {
    return false;
  }
}

function keysOrError(name: string, text: string): VerificationKey[] {
  try {
    return keysFromCertOrJwk(text);
  } catch (e) {
    if (e instanceof KeyError) throw builtinError(name, e.message);
    throw e;
  }
}

/** io.jwt.verify_*: the header's alg is not consulted (as OPA); the function's algorithm decides. */
function verifyFn(algName: string): BuiltinDef {
  const name = `io.jwt.verify_${algName.toLowerCase()}`;
  const alg = ALGS[algName]!;
  return def(name, ['string', 'string'], 'boolean', (args) => {
    const t = splitToken(name, asString(name, args, 0));
    const keyText = asString(name, args, 1);
    const keys: VerificationKey[] = alg.family === 'HS' ? [{ key: createSecretKey(stringToBytes(keyText)) }] : keysOrError(name, keyText);
    const sig = b64url(name, 'signature', t.signature);
    const h = decodeHeader(name, t);
    const data = signingInput(t);
    if (h.kid !== undefined) {
      const k = keys.find((x) => x.kid === h.kid);
      if (k) return verifySignature(alg, k.key, data, sig);
    }
    return keys.some((k) => verifySignature(alg, k.key, data, sig));
  });
}

// ---- decode_verify

interface Constraints {
  keys?: VerificationKey[];
  secret?: string;
  alg?: string;
  iss?: string;
  aud?: string;
  /** Seconds since the epoch (float), as OPA compares exp/nbf. */
  timeSec: number;
}

function parseConstraints(name: string, obj: RegoObject, ctx: BuiltinContext): Constraints {
  let timeNs: number | bigint = ctx.nowNs();
  const c: Constraints = { timeSec: 0 };
  for (const [k, v] of obj.entries()) {
    const str = () => {
      if (typeof v !== 'string') throw builtinError(name, `${jsonText(k)} constraint must be a string but got ${typeName(v)}`);
      return v;
    };
    switch (k) {
      case 'cert':
        c.keys = keysOrError(name, str());
        break;
      case 'secret':
        c.secret = str();
        break;
      case 'alg':
        c.alg = str();
        break;
      case 'iss':
        c.iss = str();
        break;
      case 'aud':
        c.aud = str();
        break;
      case 'time':
        if (!isNumber(v)) throw builtinError(name, `time constraint must be a number but got ${typeName(v)}`);
        timeNs = v;
        break;
      default:
        throw builtinError(name, `unknown token validation constraint: ${typeof k === 'string' ? k : jsonText(k)}`);
    }
  }
  const nkeys = (c.keys ? 1 : 0) + (c.secret !== undefined ? 1 : 0);
  if (nkeys > 1) throw builtinError(name, 'duplicate key constraints');
  if (nkeys < 1) throw builtinError(name, 'no key constraint');
  c.timeSec = Number(timeNs) / 1e9;
  return c;
}

function constraintsVerify(c: Constraints, h: Header, data: Buffer, sig: Buffer): boolean {
  const alg = h.alg !== undefined ? ALGS[h.alg] : undefined;
  if (!alg) return false;
  if (c.keys) {
    if (h.kid !== undefined) {
      const k = c.keys.find((x) => x.kid === h.kid);
      if (k) return verifySignature(alg, k.key, data, sig);
    }
    return c.keys.some((k) => (k.alg === undefined || k.alg === h.alg) && verifySignature(alg, k.key, data, sig));
  }
  // A shared secret only ever verifies HMAC algorithms.
  if (alg.family !== 'HS') return false;
  return verifySignature(alg, createSecretKey(stringToBytes(c.secret!)), data, sig);
}

function decodeVerify(args: Value[], ctx: BuiltinContext): Value {
  const name = 'io.jwt.decode_verify';
  let jwt = asString(name, args, 0);
  const c = parseConstraints(name, asObject(name, args, 1), ctx);
  const unverified: Value = [false, RegoObject.EMPTY, RegoObject.EMPTY];
  let header: Header | undefined;
  let payloadText = '';
  for (let depth = 0; ; depth++) {
    if (depth > 16) throw builtinError(name, 'JWT nesting too deep');
    const t = splitToken(name, jwt);
    const h = decodeHeader(name, t);
    if (!h.valid) return unverified;
    if (c.alg !== undefined && c.alg !== h.alg) return unverified;
    const sig = b64url(name, 'signature', t.signature);
    if (!constraintsVerify(c, h, signingInput(t), sig)) return unverified;
    payloadText = bytesToString(b64url(name, 'payload', t.payload));
    header ??= h;
    if (h.cty?.toUpperCase() === 'JWT') {
      jwt = parseNested(name, payloadText);
      continue;
    }
    header = h;
    break;
  }
  const payload = jsonObject(name, payloadText, 'payload');
  if (c.iss !== undefined) {
    if (payload.getStr('iss') !== c.iss) return unverified;
  }
  const aud = payload.getStr('aud');
  if (aud !== undefined) {
    if (c.aud === undefined) return unverified;
    if (typeof aud === 'string' ? aud !== c.aud : !(Array.isArray(aud) && aud.some((a) => a === c.aud))) return unverified;
  } else if (c.aud !== undefined) return unverified;
  const now = c.timeSec;
  const exp = payload.getStr('exp');
  if (exp !== undefined) {
    if (!isNumber(exp)) throw builtinError(name, 'exp value must be a number');
    if (compare(now, exp) !== -1) return unverified;
  }
  const nbf = payload.getStr('nbf');
  if (nbf !== undefined) {
    if (!isNumber(nbf)) throw builtinError(name, 'nbf value must be a number');
    if (compare(now, nbf) === -1) return unverified;
  }
  return [true, header!.obj, payload];
}

// ---- signing

function signingKey(name: string, jwk: RegoObject, alg: Alg): KeyObject {
  const plain = JSON.parse(jsonText(jwk)) as Record<string, unknown>;
  try {
    if (alg.family === 'HS') {
      if (plain.kty !== 'oct' || typeof plain.k !== 'string') throw new Error();
      return createSecretKey(Buffer.from(plain.k, 'base64url'));
    }
    return createPrivateKey({ key: plain as import('node:crypto').JsonWebKey, format: 'jwk' });
  } catch {
    throw builtinError(name, 'failed to parse the signing key (JWK)');
  }
}

function signBytes(name: string, alg: Alg, key: KeyObject, data: Buffer): Buffer {
  try {
    switch (alg.family) {
      case 'HS':
        return createHmac(alg.hash!, key).update(data).digest();
      case 'RS':
        return nodeSign(alg.hash, data, { key, padding: constants.RSA_PKCS1_PADDING });
      case 'PS':
        return nodeSign(alg.hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
      case 'ES':
        if (key.asymmetricKeyDetails?.namedCurve !== alg.curve) throw new Error('curve');
        return nodeSign(alg.hash, data, { key, dsaEncoding: 'ieee-p1363' });
      case 'EdDSA':
        return nodeSign(null, data, key);
    }
  } catch {
    throw builtinError(name, 'failed to sign the token with the given key');
  }
}

function encodeRaw(name: string, headerText: string, payloadText: string, keyText: string): string {
  let header: Value;
  try {
    header = parseJson(headerText);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw builtinError(name, e.message);
    throw e;
  }
  if (!(header instanceof RegoObject)) throw builtinError(name, 'JWS header must be a JSON object');
  const algV = header.getStr('alg');
  if (algV === undefined) throw builtinError(name, 'unsupported signature algorithm');
  const alg = typeof algV === 'string' ? ALGS[algV] : undefined;
  if (!alg) throw builtinError(name, 'unknown signature algorithm');
  const typ = header.getStr('typ');
  if (typ === undefined || typ === 'JWT') {
    try {
      parseJson(payloadText);
    } catch {
      throw builtinError(name, 'type is JWT but payload is not JSON');
    }
  }
  let jwk: Value;
  try {
    jwk = parseJson(keyText);
  } catch {
    throw builtinError(name, 'failed to parse the signing key (JWK)');
  }
  if (!(jwk instanceof RegoObject)) throw builtinError(name, 'failed to parse the signing key (JWK)');
  const key = signingKey(name, jwk, alg);
  const input = `${stringToBytes(headerText).toString('base64url')}.${stringToBytes(payloadText).toString('base64url')}`;
  return `${input}.${signBytes(name, alg, key, Buffer.from(input, 'ascii')).toString('base64url')}`;
}

export const JWT_BUILTINS: BuiltinDef[] = [
  def('io.jwt.decode', ['string'], 'array', (args) => decode('io.jwt.decode', asString('io.jwt.decode', args, 0))),
  def('io.jwt.decode_verify', ['string', 'object'], 'array', decodeVerify),
  ...Object.keys(ALGS).map(verifyFn),
  def('io.jwt.encode_sign_raw', ['string', 'string', 'string'], 'string', (args) => {
    const n = 'io.jwt.encode_sign_raw';
    return encodeRaw(n, asString(n, args, 0), asString(n, args, 1), asString(n, args, 2));
  }),
  def('io.jwt.encode_sign', ['object', 'object', 'object'], 'string', (args) => {
    const n = 'io.jwt.encode_sign';
    const h = asObject(n, args, 0);
    const p = asObject(n, args, 1);
    const k = asObject(n, args, 2);
    return encodeRaw(n, termString(h), termString(p), jsonText(k));
  }),
];
