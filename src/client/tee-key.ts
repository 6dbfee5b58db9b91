/**
 * The TEE key pair: the ephemeral key whose public half travels as `runtime-data.tee-pubkey` and to which the KBS
 * encrypts resources (specs/trustee.md §2.1, §2.4). Three kinds, as the reference client (guest-components
 * `kbs_protocol/src/keypair.rs`): EC P-256 with ECDH-ES+A256KW (the default), EC P-521 with ECDH-ES+A256KW, and
 * RSA-OAEP-256 with a 2048-bit modulus. `--tee-key-file` takes RSA PKCS#1 or EC PKCS#8 PEM (PKCS#8 RSA and SEC1 EC
 * are accepted as well; node reads them all).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { KbsClientError, reason } from './errors.js';

export type TeeKeyAlgorithm = 'ECDH-ES+A256KW-P256' | 'ECDH-ES+A256KW-P521' | 'RSA-OAEP-256';

export const TEE_KEY_ALGORITHMS: readonly TeeKeyAlgorithm[] = ['ECDH-ES+A256KW-P256', 'ECDH-ES+A256KW-P521', 'RSA-OAEP-256'];

/** The JWK subset kbs-types serializes, members in its serde order (RSA: kty, alg, n, e; EC: kty, crv, alg, x, y). */
export type TeePubKey = RsaTeePubKey | EcTeePubKey;
export interface RsaTeePubKey {
  kty: 'RSA';
  alg: 'RSA-OAEP-256';
  n: string;
  e: string;
}
export interface EcTeePubKey {
  kty: 'EC';
  crv: 'P-256' | 'P-521';
  alg: 'ECDH-ES+A256KW';
  x: string;
  y: string;
}

/** The JWE key-management algorithm the KBS will use for this key (the `alg` member of the tee-pubkey). */
export type KeyManagementAlgorithm = TeePubKey['alg'];

const MIN_RSA_BITS = 2048;

export class TeeKeyPair {
  private constructor(
    readonly publicJwk: TeePubKey,
    /** Never logged; `util.inspect` and JSON.stringify show only the public half. */
    readonly privateKey: KeyObject,
  ) {}

  get alg(): KeyManagementAlgorithm {
    return this.publicJwk.alg;
  }

  static generate(algorithm: TeeKeyAlgorithm = 'ECDH-ES+A256KW-P256'): TeeKeyPair {
    try {
      switch (algorithm) {
        case 'ECDH-ES+A256KW-P256':
          return TeeKeyPair.fromPrivateKey(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
        case 'ECDH-ES+A256KW-P521':
          return TeeKeyPair.fromPrivateKey(generateKeyPairSync('ec', { namedCurve: 'secp521r1' }).privateKey);
        case 'RSA-OAEP-256':
          return TeeKeyPair.fromPrivateKey(
            generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 }).privateKey,
          );
      }
    } catch (e) {
      if (e instanceof KbsClientError) throw e;
      throw new KbsClientError('key', 'ERR_TEE_KEY', `cannot generate ${algorithm} TEE key: ${reason(e)}`);
    }
    throw new KbsClientError('key', 'ERR_TEE_KEY', `unknown TEE key algorithm ${JSON.stringify(algorithm)}`);
  }

  /** Loads a PEM private key (the content of `--tee-key-file`). */
  static fromPem(pem: string | Buffer): TeeKeyPair {
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: pem, format: 'pem' });
    } catch (e) {
      // node's message names the format problem, never the key bytes.
      throw new KbsClientError(
        'key',
        'ERR_TEE_KEY',
        `TEE key file is not an RSA (PKCS#1) or EC P-256/P-521 (PKCS#8) private key in PEM: ${reason(e)}`,
      );
    }
    return TeeKeyPair.fromPrivateKey(key);
  }

  static fromPrivateKey(key: KeyObject): TeeKeyPair {
    if (key.type !== 'private') throw new KbsClientError('key', 'ERR_TEE_KEY', 'TEE key must be a private key');
    const pub = createPublicKey(key).export({ format: 'jwk' });
    if (key.asymmetricKeyType === 'rsa') {
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < MIN_RSA_BITS) {
        throw new KbsClientError('key', 'ERR_TEE_KEY', `RSA TEE key has ${bits} bits; at least ${MIN_RSA_BITS} required`);
      }
      if (typeof pub.n !== 'string' || typeof pub.e !== 'string') {
        throw new KbsClientError('key', 'ERR_TEE_KEY', 'cannot export the RSA public key');
      }
      return new TeeKeyPair({ kty: 'RSA', alg: 'RSA-OAEP-256', n: pub.n, e: pub.e }, key);
    }
    if (key.asymmetricKeyType === 'ec') {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      const crv = curve === 'prime256v1' ? 'P-256' : curve === 'secp521r1' ? 'P-521' : undefined;
      if (!crv) {
        // The KBS answers JweError for any other curve (§2.4), so fail here with a clearer message.
        throw new KbsClientError('key', 'ERR_TEE_KEY', `EC TEE key on curve ${curve ?? 'unknown'}; only P-256 and P-521 are supported`);
      }
      if (typeof pub.x !== 'string' || typeof pub.y !== 'string') {
        throw new KbsClientError('key', 'ERR_TEE_KEY', 'cannot export the EC public key');
      }
      return new TeeKeyPair({ kty: 'EC', crv, alg: 'ECDH-ES+A256KW', x: pub.x, y: pub.y }, key);
    }
    throw new KbsClientError(
      'key',
      'ERR_TEE_KEY',
      `TEE key type ${key.asymmetricKeyType ?? 'unknown'} is not supported (RSA or EC P-256/P-521)`,
    );
  }

  /** PEM in the form the reference client writes: RSA as PKCS#1, EC as PKCS#8. */
  toPem(): string {
    const type = this.publicJwk.kty === 'RSA' ? 'pkcs1' : 'pkcs8';
    return this.privateKey.export({ format: 'pem', type }).toString();
  }

  toJSON(): TeePubKey {
    return this.publicJwk;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `TeeKeyPair(${JSON.stringify(this.publicJwk)})`;
  }
}

/** Parses a `--tee-key-algorithm`-style name. */
export function parseTeeKeyAlgorithm(name: string): TeeKeyAlgorithm {
  const found = TEE_KEY_ALGORITHMS.find((a) => a === name);
  if (!found) {
    throw new KbsClientError('input', 'ERR_INPUT', `unknown TEE key algorithm ${JSON.stringify(name)} (one of ${TEE_KEY_ALGORITHMS.join(', ')})`);
  }
  return found;
}
