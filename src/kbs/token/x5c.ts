/**
 * JWK endorsement by an `x5c` chain (specs/trustee.md §2.9): the leaf's public key must equal the JWK, and the chain
 * (x5c[1..] as untrusted intermediates, in any order) must lead to a certificate in the trust store, every
 * certificate valid at `now`, every issuer a CA whose key verifies the signature below it.
 */
import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

export class X5cError extends Error {
  readonly code = 'ERR_X5C';
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;

export function parsePemCertificates(pem: string, where: string): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const m of pem.matchAll(PEM_CERT)) {
    try {
      out.push(new X509Certificate(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));
    } catch {
      throw new X5cError(`${where}: malformed certificate`);
    }
  }
  return out;
}

export function loadTrustedCerts(paths: string[]): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const p of paths) {
    const certs = parsePemCertificates(readFileSync(p, 'utf8'), p);
    if (certs.length === 0) throw new X5cError(`${p}: no certificate found`);
    out.push(...certs);
  }
  return out;
}

function decodeX5cEntry(s: unknown, i: number): X509Certificate {
  if (typeof s !== 'string' || !/^[A-Za-z0-9+/_-]+=*$/.test(s)) throw new X5cError(`x5c[${i}] is not base64`);
  const der = Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  try {
    return new X509Certificate(der);
  } catch {
    throw new X5cError(`x5c[${i}] is not a DER certificate`);
  }
}

function validAt(c: X509Certificate, now: Date): boolean {
  const t = now.getTime();
  return new Date(c.validFrom).getTime() <= t && t <= new Date(c.validTo).getTime();
}

function spki(k: KeyObject): Buffer {
  return k.export({ type: 'spki', format: 'der' });
}

/**
 * True when every certificate of a path found by verifyJwkEndorsement is valid at `now`: with the signatures, CA
 * flags and trust anchor already checked (time-independent), this is all that must be re-checked for a cached path.
 */
export function pathValidAt(path: readonly X509Certificate[], now: Date): boolean {
  return path.length > 0 && path.every((c) => validAt(c, now));
}

/**
 * Verify that `jwk` (untrusted JSON with x5c) is endorsed by `trusted`. Throws X5cError otherwise. Returns the
 * certificate path it found, leaf first, ending at a certificate of the trust store.
 */
export function verifyJwkEndorsement(jwk: Record<string, unknown>, trusted: X509Certificate[], now: Date): X509Certificate[] {
  const x5c = jwk.x5c;
  if (!Array.isArray(x5c) || x5c.length === 0) throw new X5cError('JWK has no x5c chain');
  if (trusted.length === 0) throw new X5cError('no trusted certificates configured');
  if (x5c.length > 10) throw new X5cError('x5c chain too long');
  const chain = x5c.map(decodeX5cEntry);
  const leaf = chain[0]!;
  let jwkKey: KeyObject;
  try {
    const { x5c: _x, x5u: _u, x5t: _t, 'x5t#S256': _t2, ...bare } = jwk;
    jwkKey = createPublicKey({ key: bare as import('node:crypto').JsonWebKey, format: 'jwk' });
  } catch {
    throw new X5cError('JWK is not a valid public key');
  }
  if (jwkKey.asymmetricKeyType !== 'rsa' && !(jwkKey.asymmetricKeyType === 'ec' && jwkKey.asymmetricKeyDetails?.namedCurve === 'prime256v1'))
    throw new X5cError('only RSA and EC P-256 keys can be endorsed by x5c');
  if (!spki(leaf.publicKey).equals(spki(jwkKey))) throw new X5cError('x5c leaf key does not match the JWK');

  const intermediates = chain.slice(1);
  const isTrusted = (c: X509Certificate) => trusted.some((t) => t.raw.equals(c.raw));
  let current = leaf;
  const used = new Set<X509Certificate>([leaf]);
  const path: X509Certificate[] = [];
  for (let depth = 0; depth <= chain.length + trusted.length; depth++) {
    if (!validAt(current, now)) throw new X5cError(`certificate "${current.subject.replace(/\n/g, ', ')}" is not valid at ${now.toISOString()}`);
    path.push(current);
    if (isTrusted(current)) return path;
    // Prefer an issuer from the trust store (ends the path), then an untrusted intermediate.
    const candidates = [...trusted, ...intermediates.filter((c) => !used.has(c))];
    const issuer = candidates.find((c) => c.ca && current.checkIssued(c) && current.verify(c.publicKey) && validAt(c, now));
    if (!issuer) throw new X5cError('x5c chain does not lead to a trusted certificate');
    used.add(issuer);
    current = issuer;
  }
  throw new X5cError('x5c chain too long');
}
