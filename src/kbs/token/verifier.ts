/**
 * Attestation-token verification at the KBS (specs/trustee.md §2.9). The signer key comes from exactly one place:
 *  - header `jwk` endorsed by its `x5c` chain to `trusted_certs_paths`, or equal to a directly trusted key (our own
 *    built-in AS), or — only with `insecure_header_jwk` — taken as is;
 *  - else header `kid` looked up in `trusted_jwk_sets`.
 * Only asymmetric algorithms are accepted (no `none`, no HS* — so a public key can never be used as an HMAC secret),
 * the key type must fit the algorithm, and `exp` is required (60 s leeway, as Trustee's jsonwebtoken default).
 * `iss` / `aud` are checked only when `expected_issuer` / `expected_audience` are configured (ours; Trustee has none).
 */
import { createPublicKey, type KeyObject, type X509Certificate } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { decodeJwsHeader, JwtError, verifyJwt } from './jws.js';
import { TokenVerifierError } from '../errors.js';
import { pathValidAt, verifyJwkEndorsement, X5cError } from './x5c.js';
import { BoundedCache, canonicalJson, sha256Hex } from './cache.js';
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
  /** `[attestation_token] expected_issuer`: `iss` must be one of these. Absent: not checked (Trustee parity). */
  expectedIssuers?: readonly string[];
  /** `[attestation_token] expected_audience`: `aud` (string or array) must contain one of these. Absent: not checked. */
  expectedAudiences?: readonly string[];
}

export type TokenClaims = JWTPayload & Record<string, unknown>;

function spkiOf(k: KeyObject): Buffer {
  return k.export({ type: 'spki', format: 'der' });
}

/** The JWK without its certificate members: what node imports, and (canonicalized) the key-cache id. */
function bareJwk(jwk: Record<string, unknown>): Record<string, unknown> {
  if (jwk.kty === 'oct' || 'd' in jwk) throw new TokenVerifierError('token signer JWK must be a public asymmetric key');
  const { x5c: _a, x5u: _b, x5t: _c, 'x5t#S256': _d, ...bare } = jwk;
  return bare;
}

function importBareJwk(bare: Record<string, unknown>): KeyObject {
  try {
    const k = createPublicKey({ key: bare as import('node:crypto').JsonWebKey, format: 'jwk' });
    if (k.type !== 'public') throw new Error('not public');
    return k;
  } catch {
    throw new TokenVerifierError('token signer JWK is not a valid public key');
  }
}

/** The key types each accepted algorithm may be verified with (RFC 7518 §3.1, RFC 8037). */
function keyFitsAlg(k: KeyObject, alg: string): boolean {
  const curve = k.asymmetricKeyDetails?.namedCurve;
  switch (alg) {
    case 'ES256':
      return k.asymmetricKeyType === 'ec' && curve === 'prime256v1';
    case 'ES384':
      return k.asymmetricKeyType === 'ec' && curve === 'secp384r1';
    case 'ES512':
      return k.asymmetricKeyType === 'ec' && curve === 'secp521r1';
    case 'RS256':
    case 'RS384':
    case 'RS512':
    case 'PS256':
    case 'PS384':
    case 'PS512':
      return k.asymmetricKeyType === 'rsa' && (k.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048;
    case 'EdDSA':
      return k.asymmetricKeyType === 'ed25519' || k.asymmetricKeyType === 'ed448';
    default:
      return false;
  }
}

/** An imported header/JWKS key and whether it is one of the directly trusted keys (both time-independent). */
interface KeyEntry {
  key: KeyObject;
  directlyTrusted: boolean;
}

/** Cache sizes: distinct signer keys / x5c chains seen recently. Entries are small; keys come from tokens. */
export const KEY_CACHE_SIZE = 256;
export const CHAIN_CACHE_SIZE = 256;

export class TokenVerifier {
  private readonly trustedSpki: Buffer[];
  /** Set only when `iss` or `aud` is checked, so the common case costs one branch per token. */
  private readonly claimChecks: { issuers?: ReadonlySet<string>; audiences?: ReadonlySet<string> } | undefined;
  /** canonical JWK text → imported key (header `jwk` and JWKS entries alike). */
  private readonly keys = new BoundedCache<string, KeyEntry>(KEY_CACHE_SIZE);
  /**
   * SHA-256 of (canonical JWK, exact x5c array) → the certificate path verifyJwkEndorsement found. Signatures, CA
   * flags, leaf-key match and anchor are time-independent and the trust store is fixed for this verifier; validity
   * at `now` is re-checked on every call, and a cached path that is no longer valid is verified again from scratch.
   */
  private readonly chains = new BoundedCache<string, X509Certificate[]>(CHAIN_CACHE_SIZE);

  constructor(private readonly trust: TokenTrust) {
    this.trustedSpki = trust.trustedKeys.map(spkiOf);
    const { expectedIssuers: iss, expectedAudiences: aud } = trust;
    this.claimChecks =
      iss === undefined && aud === undefined
        ? undefined
        : { ...(iss !== undefined ? { issuers: new Set(iss) } : {}), ...(aud !== undefined ? { audiences: new Set(aud) } : {}) };
  }

  private keyEntry(jwk: Record<string, unknown>): { entry: KeyEntry; id: string } {
    const bare = bareJwk(jwk);
    const id = canonicalJson(bare);
    let entry = this.keys.get(id);
    if (!entry) {
      const key = importBareJwk(bare);
      const spki = spkiOf(key);
      entry = { key, directlyTrusted: this.trustedSpki.some((s) => s.equals(spki)) };
      this.keys.set(id, entry);
    }
    return { entry, id };
  }

  private endorse(jwk: Record<string, unknown>, id: string, now: Date): void {
    const chainId = Array.isArray(jwk.x5c) ? sha256Hex(`${id}\n${canonicalJson(jwk.x5c)}`) : undefined;
    if (chainId !== undefined) {
      const path = this.chains.get(chainId);
      if (path && pathValidAt(path, now)) return;
    }
    const path = verifyJwkEndorsement(jwk, this.trust.trustedCerts, now);
    if (chainId !== undefined) this.chains.set(chainId, path);
  }

  get hasTrustMaterial(): boolean {
    return this.trust.trustedCerts.length > 0 || this.trust.jwks.length > 0 || this.trust.trustedKeys.length > 0 || this.trust.insecureHeaderJwk;
  }

  async verify(token: string, now: Date): Promise<TokenClaims> {
    let header: Record<string, unknown>;
    try {
      header = decodeJwsHeader(token);
    } catch {
      throw new TokenVerifierError('token is not a compact JWS');
    }
    const alg = header.alg;
    if (typeof alg !== 'string' || !ALGS.has(alg)) throw new TokenVerifierError(`token algorithm "${String(alg)}" is not accepted`);
    const key = this.signerKey(header, alg, now);
    let claims: TokenClaims;
    try {
      claims = verifyJwt(token, key, { alg, now, clockToleranceS: CLOCK_LEEWAY_S }, header) as TokenClaims;
    } catch (e) {
      const code = e instanceof JwtError ? e.code : 'ERR_JWT';
      throw new TokenVerifierError(`token verification failed (${code})`);
    }
    if (this.claimChecks !== undefined) checkIssuerAudience(claims, this.claimChecks);
    return claims;
  }

  private signerKey(header: Record<string, unknown>, alg: string, now: Date): KeyObject {
    const jwk = header.jwk;
    if (jwk !== undefined) {
      if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw new TokenVerifierError('header jwk is not an object');
      const j = jwk as Record<string, unknown>;
      if (j.alg !== undefined && j.alg !== alg) throw new TokenVerifierError('header jwk alg does not match the token alg');
      const { entry, id } = this.keyEntry(j);
      if (!keyFitsAlg(entry.key, alg)) throw new TokenVerifierError(`token signer key type does not fit algorithm ${alg}`);
      if (entry.directlyTrusted) return entry.key;
      if (this.trust.insecureHeaderJwk) return entry.key;
      try {
        this.endorse(j, id, now);
      } catch (e) {
        if (e instanceof X5cError) throw new TokenVerifierError(`token signer is not trusted: ${e.message}`);
        throw e;
      }
      return entry.key;
    }
    const kid = header.kid;
    if (typeof kid !== 'string') throw new TokenVerifierError('token header has neither jwk nor kid');
    const found = this.trust.jwks.find((k) => k.kid === kid);
    if (!found) throw new TokenVerifierError('token kid is not in any trusted JWK set');
    if (found.alg !== undefined && found.alg !== alg) throw new TokenVerifierError('trusted JWK alg does not match the token alg');
    const { entry } = this.keyEntry(found);
    if (!keyFitsAlg(entry.key, alg)) throw new TokenVerifierError(`token signer key type does not fit algorithm ${alg}`);
    return entry.key;
  }
}

/**
 * Opt-in `iss` / `aud` checks (RFC 7519 §4.1.1, §4.1.3), after signature and time: a token from a trusted signer can
 * still be meant for another relying party. The messages name the claim and the config key, never the token's value.
 */
function checkIssuerAudience(claims: TokenClaims, c: { issuers?: ReadonlySet<string>; audiences?: ReadonlySet<string> }): void {
  if (c.issuers !== undefined) {
    const iss = claims.iss;
    if (typeof iss !== 'string' || !c.issuers.has(iss)) throw new TokenVerifierError('token "iss" claim is missing or not one of attestation_token.expected_issuer');
  }
  if (c.audiences !== undefined) {
    const aud: unknown = claims.aud;
    const ok = typeof aud === 'string' ? c.audiences.has(aud) : Array.isArray(aud) && aud.some((a) => typeof a === 'string' && c.audiences!.has(a));
    if (!ok) throw new TokenVerifierError('token "aud" claim is missing or does not contain any of attestation_token.expected_audience');
  }
}
