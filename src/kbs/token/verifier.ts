/**
 * Attestation-token verification at the KBS (specs/trustee.md §2.9). The signer key comes from exactly one place:
 *  - header `jwk` endorsed by its `x5c` chain to `trusted_certs_paths`, or equal to a directly trusted key (our own
 *    built-in AS), or — only with `insecure_header_jwk` — taken as is;
 *  - else header `kid` looked up in `trusted_jwk_sets`.
 * Only asymmetric algorithms are accepted (no `none`, no HS* — so a public key can never be used as an HMAC secret),
 * the key type must fit the algorithm, and `exp` is required (60 s leeway, as Trustee's jsonwebtoken default).
 */
import { createPublicKey, type KeyObject, type X509Certificate } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { TokenVerifierError } from '../errors.js';
import { verifyJwkEndorsement, X5cError } from './x5c.js';
import type { Jwk } from './jwks.js';

export const ASYMMETRIC_ALGS = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA'] as const;
const ALGS: ReadonlySet<string> = new Set(ASYMMETRIC_ALGS);
export const CLOCK_LEEWAY_S = 60;

export interface TokenTrust {
  trustedCerts: X509Certificate[];
  jwks: Jwk[];
  /** Keys trusted directly when they appear as header `jwk` (the built-in AS's signer). */
  trustedKeys: KeyObject[];
  insecureHeaderJwk: boolean;
}

export type TokenClaims = JWTPayload & Record<string, unknown>;

function spkiOf(k: KeyObject): Buffer {
  return k.export({ type: 'spki', format: 'der' });
}

function importJwk(jwk: Record<string, unknown>): KeyObject {
  if (jwk.kty === 'oct' || 'd' in jwk) throw new TokenVerifierError('token signer JWK must be a public asymmetric key');
  const { x5c: _a, x5u: _b, x5t: _c, 'x5t#S256': _d, ...bare } = jwk;
  try {
    const k = createPublicKey({ key: bare as import('node:crypto').JsonWebKey, format: 'jwk' });
    if (k.type !== 'public') throw new Error('not public');
    return k;
  } catch {
    throw new TokenVerifierError('token signer JWK is not a valid public key');
  }
}

export class TokenVerifier {
  private readonly trustedSpki: Buffer[];
  constructor(private readonly trust: TokenTrust) {
    this.trustedSpki = trust.trustedKeys.map(spkiOf);
  }

  get hasTrustMaterial(): boolean {
    return this.trust.trustedCerts.length > 0 || this.trust.jwks.length > 0 || this.trust.trustedKeys.length > 0 || this.trust.insecureHeaderJwk;
  }

  async verify(token: string, now: Date): Promise<TokenClaims> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new TokenVerifierError('token is not a compact JWS');
    }
    const alg = header.alg;
    if (typeof alg !== 'string' || !ALGS.has(alg)) throw new TokenVerifierError(`token algorithm "${String(alg)}" is not accepted`);
    const key = this.signerKey(header as Record<string, unknown>, alg, now);
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: [alg],
        currentDate: now,
        clockTolerance: CLOCK_LEEWAY_S,
        requiredClaims: ['exp'],
      });
      return payload as TokenClaims;
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'ERR_JWT';
      throw new TokenVerifierError(`token verification failed (${code})`);
    }
  }

  private signerKey(header: Record<string, unknown>, alg: string, now: Date): KeyObject {
    const jwk = header.jwk;
    if (jwk !== undefined) {
      if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw new TokenVerifierError('header jwk is not an object');
      const j = jwk as Record<string, unknown>;
      if (j.alg !== undefined && j.alg !== alg) throw new TokenVerifierError('header jwk alg does not match the token alg');
      const key = importJwk(j);
      if (this.trustedSpki.some((s) => s.equals(spkiOf(key)))) return key;
      if (this.trust.insecureHeaderJwk) return key;
      try {
        verifyJwkEndorsement(j, this.trust.trustedCerts, now);
      } catch (e) {
        if (e instanceof X5cError) throw new TokenVerifierError(`token signer is not trusted: ${e.message}`);
        throw e;
      }
      return key;
    }
    const kid = header.kid;
    if (typeof kid !== 'string') throw new TokenVerifierError('token header has neither jwk nor kid');
    const found = this.trust.jwks.find((k) => k.kid === kid);
    if (!found) throw new TokenVerifierError('token kid is not in any trusted JWK set');
    if (found.alg !== undefined && found.alg !== alg) throw new TokenVerifierError('trusted JWK alg does not match the token alg');
    return importJwk(found);
  }
}
