/**
 * Compact JWS / JWT verification on node:crypto (RFC 7515, RFC 7519, RFC 7518 §3): the same checks as jose's
 * `jwtVerify` with the options the KBS uses (one algorithm, required `exp`, clock leeway), without WebCrypto's
 * per-call key conversion and async job. jose stays the referee in test/kbs/token-cache.test.ts.
 *
 * The caller has already chosen `alg` from the allow-list and a key whose type fits it; this module checks that the
 * token's header says exactly that `alg`, that no extension (`crit`, unencoded payload) is asked for, the signature
 * (ECDSA in its fixed-length JOSE form, RSASSA-PKCS1-v1_5, RSASSA-PSS with salt = hash length, EdDSA), and then the
 * time claims against an explicit `now`.
 */
import { constants, verify, type KeyObject } from 'node:crypto';

/** Failure with a jose-compatible code (ERR_JWS_INVALID, ERR_JWS_SIGNATURE_VERIFICATION_FAILED, ERR_JWT_EXPIRED, …). */
export class JwtError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const B64URL = /^[A-Za-z0-9_-]*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

interface SigParams {
  hash: string | null;
  ecSigBytes?: number;
  padding?: number;
  saltLength?: number;
}

const PARAMS: Record<string, SigParams> = {
  ES256: { hash: 'sha256', ecSigBytes: 64 },
  ES384: { hash: 'sha384', ecSigBytes: 96 },
  ES512: { hash: 'sha512', ecSigBytes: 132 },
  RS256: { hash: 'sha256', padding: constants.RSA_PKCS1_PADDING },
  RS384: { hash: 'sha384', padding: constants.RSA_PKCS1_PADDING },
  RS512: { hash: 'sha512', padding: constants.RSA_PKCS1_PADDING },
  PS256: { hash: 'sha256', padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
  PS384: { hash: 'sha384', padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 },
  PS512: { hash: 'sha512', padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 },
  EdDSA: { hash: null },
};

function b64urlPart(s: string, what: string): Buffer {
  if (!B64URL.test(s)) throw new JwtError('ERR_JWS_INVALID', `JWS ${what} is not base64url`);
  return Buffer.from(s, 'base64url');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Decodes and checks the compact JWS header (the signer lookup needs it before the key is known). */
export function decodeJwsHeader(token: string): Record<string, unknown> {
  const parts = token.split('.');
  if (parts.length !== 3) throw new JwtError('ERR_JWS_INVALID', 'not a compact JWS');
  let header: unknown;
  try {
    header = JSON.parse(utf8.decode(b64urlPart(parts[0]!, 'header')));
  } catch (e) {
    if (e instanceof JwtError) throw e;
    throw new JwtError('ERR_JWS_INVALID', 'JWS protected header is not JSON');
  }
  if (!isObject(header)) throw new JwtError('ERR_JWS_INVALID', 'JWS protected header is not a JSON object');
  return header;
}

export interface JwtCheck {
  alg: string;
  now: Date;
  /** Seconds of leeway on `exp` and `nbf`. */
  clockToleranceS: number;
}

/**
 * Verifies signature and time claims; returns the claims object. `header`: what `decodeJwsHeader(token)` returned for
 * this same token, when the caller already decoded it (to pick the key), so it is not decoded twice.
 */
export function verifyJwt(token: string, key: KeyObject, check: JwtCheck, header: Record<string, unknown> = decodeJwsHeader(token)): Record<string, unknown> {
  const params = PARAMS[check.alg];
  if (params === undefined || header.alg !== check.alg) throw new JwtError('ERR_JOSE_ALG_NOT_ALLOWED', 'JWS "alg" is not the expected algorithm');
  // RFC 7515 §4.1.11: extensions we do not implement must be refused; RFC 7797 unencoded payloads are not JWTs.
  if (header.crit !== undefined) throw new JwtError('ERR_JOSE_NOT_SUPPORTED', 'JWS "crit" extensions are not supported');
  if (header.b64 !== undefined && header.b64 !== true) throw new JwtError('ERR_JWT_INVALID', 'JWTs must use base64url-encoded payloads');
  const [h, p, s] = token.split('.') as [string, string, string];
  const payloadBytes = b64urlPart(p, 'payload');
  const sig = b64urlPart(s, 'signature');
  const input = Buffer.from(`${h}.${p}`, 'ascii');
  let ok = false;
  if (params.ecSigBytes === undefined || sig.length === params.ecSigBytes) {
    try {
      ok =
        params.hash === null
          ? verify(null, input, key, sig)
          : verify(
              params.hash,
              input,
              params.ecSigBytes !== undefined
                ? { key, dsaEncoding: 'ieee-p1363' }
                : { key, padding: params.padding!, ...(params.saltLength !== undefined ? { saltLength: params.saltLength } : {}) },
              sig,
            );
    } catch {
      ok = false;
    }
  }
  if (!ok) throw new JwtError('ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'signature verification failed');

  let claims: unknown;
  try {
    claims = JSON.parse(utf8.decode(payloadBytes));
  } catch {
    throw new JwtError('ERR_JWT_INVALID', 'JWT Claims Set must be a top-level JSON object');
  }
  if (!isObject(claims)) throw new JwtError('ERR_JWT_INVALID', 'JWT Claims Set must be a top-level JSON object');
  const now = Math.floor(check.now.getTime() / 1000);
  const tol = check.clockToleranceS;
  for (const c of ['iat', 'nbf', 'exp'] as const) {
    if (claims[c] !== undefined && typeof claims[c] !== 'number') throw new JwtError('ERR_JWT_CLAIM_VALIDATION_FAILED', `"${c}" claim must be a number`);
  }
  if (claims.exp === undefined) throw new JwtError('ERR_JWT_CLAIM_VALIDATION_FAILED', 'missing required "exp" claim');
  if (claims.nbf !== undefined && (claims.nbf as number) > now + tol) throw new JwtError('ERR_JWT_CLAIM_VALIDATION_FAILED', '"nbf" claim timestamp check failed');
  if ((claims.exp as number) <= now - tol) throw new JwtError('ERR_JWT_EXPIRED', '"exp" claim timestamp check failed');
  return claims;
}
