/**
 * Per-verifier caches for the pure, content-addressed part of DCAP verification. Keys are the exact bytes that were
 * verified (plus the pinned root); values are what that verification established, together with the facts every
 * time-dependent check needs. Nothing decided at a particular `now` is cached: certificate validity windows, CRL
 * thisUpdate/nextUpdate, collateral issueDate/nextUpdate and revocation are re-checked on every call, and the QE
 * report and quote signatures are always verified.
 */
import { createHash, type KeyObject, type X509Certificate } from 'node:crypto';
import type { PckCaType, PckExtensions } from './pck.js';
import { Lru } from '../../util/lru.js';

export interface DcapCacheStats {
  /** PCK chains split from PEM, chain-verified to the pinned root and their SGX extensions parsed. */
  pckChainVerifications: number;
  /** TCB Info / QE identity signatures and issuer chains verified. */
  collateralVerifications: number;
  /** CRLs parsed and signature-checked (pkijs). */
  crlVerifications: number;
  /** Collateral files decoded (file:// source). */
  collateralParses: number;
}

export interface DcapCacheOptions {
  /** Entries per cache (LRU). Default 1024. */
  entries?: number;
}

/** What the verifier needs of a certificate at every call, read once from the (immutable) certificate. */
export interface CertFacts {
  notBefore: Date;
  notAfter: Date;
  /** Lowercase hex without leading zeros. */
  serial: string;
  /** One-line subject, for messages. */
  subject: string;
  publicKey: KeyObject;
}

const facts = new WeakMap<X509Certificate, CertFacts>();

/**
 * Facts of a certificate object, derived once per object (an X509Certificate cannot be changed after parsing, so
 * this is pure). Certificates served from a verifier's cache are the same objects each call, so this is a lookup.
 */
export function certFacts(c: X509Certificate): CertFacts {
  let f = facts.get(c);
  if (!f) {
    f = {
      notBefore: new Date(c.validFrom),
      notAfter: new Date(c.validTo),
      serial: c.serialNumber.toLowerCase().replace(/^0+(?=.)/, ''),
      subject: c.subject.split('\n').join(', '),
      publicKey: c.publicKey,
    };
    facts.set(c, f);
  }
  return f;
}

export interface VerifiedPckChain {
  pckChain: X509Certificate[];
  pck: PckExtensions;
  caType: PckCaType;
}

/** A parsed CRL whose issuer name and signature checked out; its dates are checked against `now` by the caller. */
export interface VerifiedCrl {
  number?: number;
  thisUpdate: Date;
  nextUpdate: Date;
  revoked: Set<string>;
}

export const sha256Hex = (...parts: (string | Uint8Array)[]): string => {
  const h = createHash('sha256');
  for (const p of parts) {
    const b = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
    // Length-prefixed so that no two different part lists hash the same input.
    h.update(String(b.length)).update(':').update(b);
  }
  return h.digest('hex');
};

/** Freezes plain objects and arrays recursively (typed arrays cannot be frozen and are left as they are). */
function freezeDeep(o: unknown): void {
  if (typeof o !== 'object' || o === null || ArrayBuffer.isView(o) || Object.isFrozen(o)) return;
  for (const v of Object.values(o)) freezeDeep(v);
  Object.freeze(o);
}

export class DcapCache {
  readonly stats: DcapCacheStats = { pckChainVerifications: 0, collateralVerifications: 0, crlVerifications: 0, collateralParses: 0 };
  /** Keyed by pinned root hash + the exact PCK chain PEM text from the quote. */
  private readonly pckChains: Lru<string, VerifiedPckChain>;
  /** Keyed by SHA-256 of (what, pinned root, signed raw text, signature, issuer chain PEM). */
  private readonly collateral: Lru<string, X509Certificate[]>;
  /** Keyed by SHA-256 of (CRL DER, issuer certificate DER). */
  private readonly crls: Lru<string, VerifiedCrl>;
  /** Attestation public keys by their 64 raw bytes. */
  private readonly keys: Lru<string, KeyObject>;

  constructor(o: DcapCacheOptions = {}) {
    const n = o.entries ?? 1024;
    this.pckChains = new Lru(n);
    this.collateral = new Lru(Math.min(n, 256));
    this.crls = new Lru(Math.min(n, 64));
    this.keys = new Lru(n);
  }

  pckChain(pin: string, pem: string, verify: () => VerifiedPckChain): VerifiedPckChain {
    const key = `${pin}\n${pem}`;
    const hit = this.pckChains.get(key);
    if (hit) return hit;
    this.stats.pckChainVerifications++;
    const v = verify();
    // Handed to every later caller: the parsed extensions must not be changeable through one of them.
    freezeDeep(v.pck);
    this.pckChains.set(key, v);
    return v;
  }

  signedCollateral(what: string, pin: string, raw: string, signature: Uint8Array, chainPem: string, verify: () => X509Certificate[]): X509Certificate[] {
    const key = sha256Hex(what, pin, raw, signature, chainPem);
    const hit = this.collateral.get(key);
    if (hit) return hit;
    this.stats.collateralVerifications++;
    const v = verify();
    this.collateral.set(key, v);
    return v;
  }

  async crl(der: Uint8Array, issuer: X509Certificate, verify: () => Promise<VerifiedCrl>): Promise<VerifiedCrl> {
    const key = sha256Hex(der, issuer.raw);
    const hit = this.crls.get(key);
    if (hit) return hit;
    this.stats.crlVerifications++;
    const v = await verify();
    this.crls.set(key, v);
    return v;
  }

  /** P-256 public key from raw x ‖ y (pure; an invalid point throws and is not cached). */
  p256Key(raw64: Uint8Array, make: (raw: Uint8Array) => KeyObject): KeyObject {
    const key = Buffer.from(raw64).toString('hex');
    const hit = this.keys.get(key);
    if (hit) return hit;
    const k = make(raw64);
    this.keys.set(key, k);
    return k;
  }
}
