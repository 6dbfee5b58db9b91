/**
 * The EAR token-signing key (specs/trustee.md §2.7): a configured P-256 PEM key (non-P-256 rejected), else a key
 * persisted under the data directory (created on first start, mode 0600), else an ephemeral key.
 * The private key never leaves this module except as a KeyObject.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, randomBytes, X509Certificate } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { SignerConfig } from './config.js';
import { ConfigError } from '../util/config-error.js';

export interface EcPublicJwk {
  kty: 'EC';
  crv: 'P-256';
  alg: 'ES256';
  x: string;
  y: string;
  x5u?: string;
  x5c?: string[];
}

export interface TokenSigner {
  privateKey: KeyObject;
  /** Public JWK with `alg: "ES256"` and x5c/x5u when configured. */
  publicJwk: EcPublicJwk;
  /** How the key was obtained (for a start-up log line; never the key itself). */
  source: 'configured' | 'persisted' | 'ephemeral';
}

function assertP256(key: KeyObject, where: string): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new ConfigError(where, 'token signing key must be an EC P-256 key');
  }
}

export function publicJwkOf(key: KeyObject): EcPublicJwk {
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  // Node emits fixed-length (32-byte) coordinates; check, since a short x/y would break strict verifiers.
  if (typeof jwk.x !== 'string' || typeof jwk.y !== 'string' || Buffer.from(jwk.x, 'base64url').length !== 32 || Buffer.from(jwk.y, 'base64url').length !== 32) {
    throw new Error('unexpected P-256 JWK coordinate length');
  }
  return { kty: 'EC', crv: 'P-256', alg: 'ES256', x: jwk.x, y: jwk.y };
}

/** DER certificates of a PEM bundle, as standard base64 (JWK `x5c`). */
export function pemCertsToX5c(pem: string, where: string): string[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new ConfigError(where, 'no PEM certificate found');
  return blocks.map((b) => {
    try {
      return new X509Certificate(b).raw.toString('base64');
    } catch {
      throw new ConfigError(where, 'invalid PEM certificate');
    }
  });
}

export async function loadConfiguredSigner(cfg: SignerConfig, where = 'attestation_token_broker.signer'): Promise<TokenSigner> {
  let keyPem: Buffer;
  try {
    keyPem = await readFile(cfg.keyPath);
  } catch {
    throw new ConfigError(`${where}.key_path`, 'cannot read the key file');
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(keyPem);
  } catch {
    throw new ConfigError(`${where}.key_path`, 'not a PEM private key');
  }
  assertP256(privateKey, `${where}.key_path`);
  const publicJwk = publicJwkOf(privateKey);
  if (cfg.certPath !== undefined) {
    let pem: string;
    try {
      pem = await readFile(cfg.certPath, 'utf8');
    } catch {
      throw new ConfigError(`${where}.cert_path`, 'cannot read the certificate file');
    }
    const x5c = pemCertsToX5c(pem, `${where}.cert_path`);
    const leaf = new X509Certificate(Buffer.from(x5c[0]!, 'base64'));
    const leafJwk = leaf.publicKey.export({ format: 'jwk' });
    if (leafJwk.x !== publicJwk.x || leafJwk.y !== publicJwk.y) {
      throw new ConfigError(`${where}.cert_path`, 'the first certificate does not hold the signing key');
    }
    publicJwk.x5c = x5c;
  }
  if (cfg.certUrl !== undefined) publicJwk.x5u = cfg.certUrl;
  return { privateKey, publicJwk, source: 'configured' };
}

/** `<dataDir>/as/token-signer-key.pem`, created atomically with mode 0600 on first use. */
export async function loadOrCreatePersistedSigner(dataDir: string): Promise<TokenSigner> {
  const path = join(dataDir, 'as', 'token-signer-key.pem');
  let pem: Buffer | undefined;
  try {
    pem = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${path}`);
  }
  let privateKey: KeyObject;
  if (pem !== undefined) {
    try {
      privateKey = createPrivateKey(pem);
    } catch {
      throw new Error(`${path} is not a PEM private key`);
    }
    assertP256(privateKey, path);
  } else {
    privateKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
    try {
      // link() fails when another instance created the key first: then use theirs, so every instance signs
      // with the key that stays on disk.
      await link(tmp, path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      await unlink(tmp);
      return loadOrCreatePersistedSigner(dataDir);
    }
    await unlink(tmp);
  }
  return { privateKey, publicJwk: publicJwkOf(privateKey), source: 'persisted' };
}

export function ephemeralSigner(): TokenSigner {
  const privateKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  return { privateKey, publicJwk: publicJwkOf(privateKey), source: 'ephemeral' };
}

export async function loadTokenSigner(cfg: SignerConfig | undefined, dataDir: string | undefined): Promise<TokenSigner> {
  if (cfg !== undefined) return loadConfiguredSigner(cfg);
  if (dataDir !== undefined) return loadOrCreatePersistedSigner(dataDir);
  return ephemeralSigner();
}
