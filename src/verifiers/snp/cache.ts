/**
 * Per-verifier caches for the pure, content-addressed part of SNP verification:
 *  - parsed endorsement keys (VCEK/VLEK), keyed by SHA-256 of their DER;
 *  - "this VCEK/VLEK is validly signed by this ASK/ASVK", keyed by both DER hashes;
 *  - parsed CRLs whose signature verified under the pinned ARK, keyed by SHA-256 of the CRL DER and the ARK's hash.
 * Nothing time-dependent is cached as a verdict: validity windows, CRL freshness and revocation are re-checked
 * against the caller's `now` on every call, and the report signature is always verified.
 */
import { createHash } from 'node:crypto';
import { parseAmdCert, type AmdCert } from './certs.js';
import type { AmdCrl } from './crl.js';
import { Lru } from '../../util/lru.js';

/** Counters, for tests and metrics: how often the expensive work actually ran. */
export interface SnpCacheStats {
  /** Endorsement-key DER parses (asn1js). */
  certParses: number;
  /** RSASSA-PSS checks of an endorsement key by its ASK/ASVK. */
  chainVerifications: number;
  /** CRL parses + ARK signature checks. */
  crlVerifications: number;
  /** CRL source lookups (trust_anchors_dir file, cache file, KDS). */
  crlLookups: number;
}

export interface SnpCacheOptions {
  /** Entries per cache (LRU). Default 1024. */
  entries?: number;
  /**
   * How long a CRL lookup's outcome (found or unavailable) is reused before the sources are asked again, in ms of
   * the wall clock. Default 60 000. The CRL's own thisUpdate/nextUpdate are still checked against `now` each call.
   */
  crlRecheckMs?: number;
  /** Wall clock for `crlRecheckMs` (tests inject one). Default Date.now. */
  clock?: () => number;
}

export const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export class SnpCaches {
  readonly stats: SnpCacheStats = { certParses: 0, chainVerifications: 0, crlVerifications: 0, crlLookups: 0 };
  readonly crlRecheckMs: number;
  readonly clock: () => number;
  private readonly certs: Lru<string, AmdCert>;
  private readonly chains: Lru<string, true>;
  private readonly crls: Lru<string, AmdCrl>;

  constructor(o: SnpCacheOptions = {}) {
    const n = o.entries ?? 1024;
    this.certs = new Lru(n);
    this.chains = new Lru(n);
    this.crls = new Lru(Math.min(n, 64));
    this.crlRecheckMs = o.crlRecheckMs ?? 60_000;
    this.clock = o.clock ?? Date.now;
  }

  /** The parsed certificate for these exact DER bytes (parsing is pure, so a hit is the same result). */
  cert(der: Uint8Array, label: string): AmdCert {
    const key = sha256Hex(der);
    const hit = this.certs.get(key);
    if (hit) return hit;
    this.stats.certParses++;
    const c = parseAmdCert(der, label);
    this.certs.set(key, c);
    return c;
  }

  /** Whether `child` is signed by `issuer`, computing it with `check` only on a miss; only a positive result is kept. */
  signedBy(child: AmdCert, issuer: AmdCert, check: () => boolean): boolean {
    const key = `${issuer.sha256}>${child.sha256}`;
    if (this.chains.get(key)) return true;
    this.stats.chainVerifications++;
    const ok = check();
    if (ok) this.chains.set(key, true);
    return ok;
  }

  /** A CRL already parsed and signature-checked under the ARK with hash `arkSha256`, or a fresh check via `verify`. */
  verifiedCrl(der: Uint8Array, arkSha256: string, verify: () => AmdCrl): AmdCrl {
    const key = `${arkSha256}:${sha256Hex(der)}`;
    const hit = this.crls.get(key);
    if (hit) return hit;
    this.stats.crlVerifications++;
    const crl = verify();
    this.crls.set(key, crl);
    return crl;
  }
}
