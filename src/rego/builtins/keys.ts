/** PEM blocks and key material for the JWT and X.509 built-ins (node:crypto KeyObjects, synchronous). */
import { createPublicKey, createSecretKey, X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

export interface PemBlock {
  type: string;
  der: Buffer;
}

const PEM_RE = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----(\r?\n)?/;

/** The first PEM block and what follows it (Go's pem.Decode), or undefined when there is none. */
export function pemDecode(text: string): { block: PemBlock; rest: string } | undefined {
  const m = PEM_RE.exec(text);
  if (!m) return undefined;
  const body = m[2]!
    .split(/\r?\n/)
    .filter((l) => !/^[A-Za-z-]+:/.test(l))
    .join('')
    .replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) return undefined;
  return { block: { type: m[1]!, der: Buffer.from(body, 'base64') }, rest: text.slice(m.index + m[0].length) };
}

/** All PEM blocks in a text. */
export function pemDecodeAll(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  let rest = text;
  for (;;) {
    const d = pemDecode(rest);
    if (!d) return out;
    out.push(d.block);
    rest = d.rest;
  }
}

export interface VerificationKey {
  /** `alg` of a JWK, when it names one. */
  alg?: string;
  kid?: string;
  key: KeyObject;
}

export class KeyError extends Error {}

export function certificatePublicKey(der: Buffer): KeyObject {
  return new X509Certificate(der).publicKey;
}

/** A JWK (object) to a KeyObject: public for RSA/EC/OKP, secret for oct. */
export function keyFromJwk(jwk: Record<string, unknown>): KeyObject {
  if (jwk.kty === 'oct') {
    if (typeof jwk.k !== 'string') throw new KeyError('oct JWK without k');
    return createSecretKey(Buffer.from(jwk.k, 'base64url'));
  }
  const pub: Record<string, unknown> = { ...jwk };
  for (const p of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth']) delete pub[p];
  return createPublicKey({ key: pub as import('node:crypto').JsonWebKey, format: 'jwk' });
}

/** OPA's getKeysFromCertOrJWK: a PEM certificate, a PEM public key, a JWK or a JWK Set. */
export function keysFromCertOrJwk(text: string): VerificationKey[] {
  const pem = pemDecode(text);
  if (pem) {
    if (pem.rest.length > 0) throw new KeyError('extra data after a PEM certificate block');
    if (pem.block.type === 'CERTIFICATE') {
      try {
        return [{ key: certificatePublicKey(pem.block.der) }];
      } catch {
        throw new KeyError('failed to parse a PEM certificate');
      }
    }
    if (pem.block.type === 'PUBLIC KEY') {
      try {
        return [{ key: createPublicKey({ key: pem.block.der, format: 'der', type: 'spki' }) }];
      } catch {
        throw new KeyError('failed to parse a PEM public key');
      }
    }
    throw new KeyError('failed to extract a Key from the PEM certificate');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new KeyError('failed to parse a JWK key (set)');
  }
  const list = parsed && typeof parsed === 'object' && Array.isArray((parsed as { keys?: unknown }).keys) ? (parsed as { keys: unknown[] }).keys : [parsed];
  const out: VerificationKey[] = [];
  for (const j of list) {
    if (!j || typeof j !== 'object') throw new KeyError('failed to parse a JWK key (set)');
    const jwk = j as Record<string, unknown>;
    try {
      out.push({
        key: keyFromJwk(jwk),
        ...(typeof jwk.alg === 'string' ? { alg: jwk.alg } : {}),
        ...(typeof jwk.kid === 'string' ? { kid: jwk.kid } : {}),
      });
    } catch {
      throw new KeyError('failed to parse a JWK key (set)');
    }
  }
  return out;
}
