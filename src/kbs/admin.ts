/**
 * Admin authentication and authorization (specs/trustee.md §6.2):
 *  - InsecureAllowAll (warned at start), DenyAll;
 *  - AuthenticatedAuthorization: `Authorization: Bearer <jwt>` verified against identity providers (PEM EC/RSA/
 *    Ed25519 public keys, JWK sets), `exp` required, `iss`/`aud` checked when configured, string `role` required;
 *    then an anchored regex ACL for that role must match the request path including its query string;
 *  - Embedded (our default): the Ed25519 key in the data directory, see `ensureEmbeddedAdmin`.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync, chmodSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT, decodeJwt, jwtVerify } from 'jose';
import { RE2JS } from 're2js';
import type { AclRule, AdminConfig, IdentityProviderConfig } from './config.js';
import { ConfigError } from '../util/config-error.js';
import { loadJwkSet, type FetchLike } from './token/jwks.js';
import { ASYMMETRIC_ALGS } from './token/verifier.js';

export const EMBEDDED_ISSUER = 'keybroker-embedded';
export const EMBEDDED_AUDIENCE = 'keybroker-admin';
export const EMBEDDED_ROLE = 'admin';
const YEAR_S = 365 * 24 * 3600;
const RENEW_BEFORE_S = 30 * 24 * 3600;

/** Why an admin request was refused; the caller turns it into AdminAuthAccess / AdminAuthInitialization. */
export class AdminDenied extends Error {
  readonly code = 'ERR_ADMIN_DENIED';
}

export interface AdminRequest {
  authorization: string | undefined;
  /** Path and query as sent. */
  uri: string;
}

export interface AdminAuthorizer {
  readonly mode: AdminConfig['mode'];
  authorize(req: AdminRequest, now: Date): Promise<void>;
}

interface IdentityProvider {
  issuer?: string;
  audience?: string;
  keys: KeyObject[];
}

interface CompiledAcl {
  role: string;
  re: RE2JS;
}

class AllowAll implements AdminAuthorizer {
  readonly mode = 'InsecureAllowAll' as const;
  async authorize(): Promise<void> {}
}

class DenyAll implements AdminAuthorizer {
  readonly mode = 'DenyAll' as const;
  async authorize(): Promise<void> {
    throw new AdminDenied('admin access is disabled (DenyAll)');
  }
}

export class BearerJwtAuthorizer implements AdminAuthorizer {
  constructor(
    readonly mode: 'AuthenticatedAuthorization' | 'Embedded',
    private readonly idps: IdentityProvider[],
    private readonly acls: CompiledAcl[],
  ) {}

  async authorize(req: AdminRequest, now: Date): Promise<void> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.authorization ?? '');
    if (!m) throw new AdminDenied('missing bearer token');
    const token = m[1]!;
    const role = await this.verify(token, now);
    if (!this.acls.some((a) => a.role === role && a.re.test(req.uri))) throw new AdminDenied('role is not allowed to call this endpoint');
  }

  /** Returns the `role` of a token that one identity provider vouches for. */
  private async verify(token: string, now: Date): Promise<string> {
    for (const idp of this.idps) {
      for (const key of idp.keys) {
        let payload;
        try {
          ({ payload } = await jwtVerify(token, key, {
            algorithms: [...ASYMMETRIC_ALGS],
            currentDate: now,
            clockTolerance: 60,
            requiredClaims: ['exp'],
          }));
        } catch {
          continue;
        }
        if (idp.issuer !== undefined && payload.iss !== idp.issuer) continue;
        if (idp.audience !== undefined) {
          const aud = payload.aud;
          const ok = typeof aud === 'string' ? aud === idp.audience : Array.isArray(aud) && aud.includes(idp.audience);
          if (!ok) continue;
        }
        const role = (payload as Record<string, unknown>).role;
        if (typeof role !== 'string') throw new AdminDenied('admin token has no role');
        return role;
      }
    }
    throw new AdminDenied('admin token is not valid for any identity provider');
  }
}

function compileAcls(acls: AclRule[]): CompiledAcl[] {
  return acls.map((a) => ({ role: a.role, re: RE2JS.compile(a.allowedEndpoints) }));
}

/** PEM public key: EC, RSA or Ed25519 (a certificate's key is accepted too). Private keys are refused. */
export function parsePublicKeyPem(pem: string, where: string): KeyObject {
  if (/PRIVATE KEY/.test(pem)) throw new ConfigError(where, 'expected a public key, found a private key');
  let k: KeyObject;
  try {
    k = createPublicKey(pem);
  } catch {
    throw new ConfigError(where, 'not a PEM public key');
  }
  if (!['ec', 'rsa', 'ed25519'].includes(k.asymmetricKeyType ?? '')) throw new ConfigError(where, `unsupported key type ${k.asymmetricKeyType}`);
  return k;
}

async function readUri(uri: string, fetch: FetchLike, where: string): Promise<string> {
  if (uri.startsWith('https://')) {
    const res = await fetch(uri, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new ConfigError(where, `HTTP ${res.status}`);
    return res.text();
  }
  const path = uri.startsWith('file://') ? fileURLToPath(uri) : uri;
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError(where, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

async function loadIdp(c: IdentityProviderConfig, i: number, fetch: FetchLike): Promise<IdentityProvider> {
  const where = `admin.authentication.bearer_jwt.identity_providers[${i}]`;
  const keys: KeyObject[] = [];
  if (c.publicKeyUri) keys.push(parsePublicKeyPem(await readUri(c.publicKeyUri, fetch, `${where}.public_key_uri`), `${where}.public_key_uri`));
  if (c.jwkSetUri) {
    let jwks;
    try {
      jwks = await loadJwkSet(c.jwkSetUri, fetch);
    } catch (e) {
      throw new ConfigError(`${where}.jwk_set_uri`, (e as Error).message);
    }
    for (const j of jwks) {
      if (j.kty === 'oct' || 'd' in j) continue; // never symmetric or private material
      try {
        keys.push(createPublicKey({ key: j as import('node:crypto').JsonWebKey, format: 'jwk' }));
      } catch {
        /* skip keys we cannot use */
      }
    }
  }
  if (keys.length === 0) throw new ConfigError(where, 'no usable public key');
  const idp: IdentityProvider = { keys };
  if (c.issuer !== undefined) idp.issuer = c.issuer;
  if (c.audience !== undefined) idp.audience = c.audience;
  return idp;
}

export interface AdminSetupOptions {
  dataDir: string;
  fetch: FetchLike;
  now: Date;
  log?: { info(m: string): void; warn(m: string): void };
}

export async function createAdminAuthorizer(cfg: AdminConfig, opts: AdminSetupOptions): Promise<AdminAuthorizer> {
  switch (cfg.mode) {
    case 'InsecureAllowAll':
      return new AllowAll(); // warned through config.warnings
    case 'DenyAll':
      return new DenyAll();
    case 'AuthenticatedAuthorization': {
      const idps = await Promise.all(cfg.identityProviders.map((c, i) => loadIdp(c, i, opts.fetch)));
      return new BearerJwtAuthorizer(cfg.mode, idps, compileAcls(cfg.acls));
    }
    case 'Embedded': {
      const emb = ensureEmbeddedAdmin(opts.dataDir, opts.now, opts.log);
      return new BearerJwtAuthorizer(
        'Embedded',
        [{ issuer: EMBEDDED_ISSUER, audience: EMBEDDED_AUDIENCE, keys: [emb.publicKey] }],
        compileAcls([{ role: EMBEDDED_ROLE, allowedEndpoints: '^/kbs/.+$' }]),
      );
    }
  }
}

function writeSecretFile(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

export interface EmbeddedAdmin {
  publicKey: KeyObject;
  tokenPath: string;
  /** True when the token was (re-)issued during this call. */
  issued: boolean;
}

/**
 * The embedded admin credentials in the data dir (contract with the client engineer): `admin-key.pem` (Ed25519,
 * 0600), `admin-key.pub.pem`, `admin-token` (EdDSA JWT, 0600, iss/aud/role/iat/exp one year), re-issued when missing
 * or expiring within 30 days.
 */
export function ensureEmbeddedAdmin(dataDir: string, now: Date, log?: { info(m: string): void }): EmbeddedAdmin {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const keyPath = join(dataDir, 'admin-key.pem');
  const pubPath = join(dataDir, 'admin-key.pub.pem');
  const tokenPath = join(dataDir, 'admin-token');
  let privateKey: KeyObject;
  if (existsSync(keyPath)) {
    privateKey = createPrivateKey(readFileSync(keyPath));
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new ConfigError('data_dir', `${keyPath} is not an Ed25519 key`);
  } else {
    privateKey = generateKeyPairSync('ed25519').privateKey;
    writeSecretFile(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    log?.info(`created embedded admin key ${keyPath}`);
  }
  const publicKey = createPublicKey(privateKey);
  writeFileSync(pubPath, publicKey.export({ type: 'spki', format: 'pem' }) as string, { mode: 0o644 });

  const nowS = Math.floor(now.getTime() / 1000);
  let needToken = true;
  if (existsSync(tokenPath)) {
    try {
      const claims = decodeJwt(readFileSync(tokenPath, 'utf8').trim());
      needToken = typeof claims.exp !== 'number' || claims.exp - nowS < RENEW_BEFORE_S || claims.iss !== EMBEDDED_ISSUER;
    } catch {
      needToken = true;
    }
  }
  if (needToken) {
    // SignJWT is async; Ed25519 signing through node:crypto is synchronous, so build the JWS by hand.
    const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(
      JSON.stringify({ iss: EMBEDDED_ISSUER, aud: EMBEDDED_AUDIENCE, role: EMBEDDED_ROLE, iat: nowS, exp: nowS + YEAR_S }),
    ).toString('base64url');
    const signingInput = `${header}.${payload}`;
    const sig = nodeSign(null, Buffer.from(signingInput), privateKey).toString('base64url');
    writeSecretFile(tokenPath, `${signingInput}.${sig}\n`);
    log?.info(`issued embedded admin token ${tokenPath}`);
  }
  return { publicKey, tokenPath, issued: needToken };
}

/** Mint an admin token with the embedded key (tests, tooling). */
export async function signAdminToken(privateKey: KeyObject, claims: Record<string, unknown>, expS: number): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA' }).setExpirationTime(expS).sign(privateKey);
}
