/**
 * AMD CRLs: signed by the ARK, listing revoked ASKs (`/vcek/v1/{Gen}/crl`) or ASVKs (`/vlek/v1/{Gen}/crl`).
 * A CRL counts only if its signature verifies under the pinned ARK and `thisUpdate <= now <= nextUpdate`.
 */
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import { VerificationError } from '../types.js';
import { rsaPssSha384Valid, type AmdCert } from './certs.js';
import { crlUrl, kdsGet, readCached, writeCached, type EndorsementKind, type Fetcher, type KdsGetOptions } from './kds.js';
import type { Generation } from './layout.js';

export interface AmdCrl {
  der: Uint8Array;
  issuerDer: Uint8Array;
  tbs: Uint8Array;
  signature: Uint8Array;
  pssSha384: boolean;
  thisUpdate: Date;
  nextUpdate?: Date;
  /** Revoked serial numbers, lowercase hex without leading zero bytes. */
  revoked: Set<string>;
}

const OID_RSASSA_PSS = '1.2.840.113549.1.1.10';

export function serialKey(serial: Uint8Array): string {
  let i = 0;
  while (i < serial.length - 1 && serial[i] === 0) i++;
  return Buffer.from(serial.subarray(i)).toString('hex');
}

function crlError(code: string, msg: string, cause?: unknown): never {
  throw new VerificationError(code, msg, cause ? { cause } : undefined);
}

/** Time (UTCTime or GeneralizedTime) → Date. */
function timeOf(b: asn1js.AsnType | undefined): Date | undefined {
  if (b instanceof asn1js.UTCTime || b instanceof asn1js.GeneralizedTime) return b.toDate();
  return undefined;
}

/**
 * RFC 5280 CertificateList, decoded structurally with asn1js (pkijs trips over entries with an empty extension
 * sequence). Only what revocation needs is kept.
 */
export function parseAmdCrl(der: Uint8Array, label = 'CRL'): AmdCrl {
  try {
    const asn = asn1js.fromBER(der);
    if (asn.offset !== der.length || !(asn.result instanceof asn1js.Sequence)) throw new Error('not a DER SEQUENCE');
    const [tbsEl, algEl, sigEl] = asn.result.valueBlock.value;
    if (!(tbsEl instanceof asn1js.Sequence) || !(algEl instanceof asn1js.Sequence) || !(sigEl instanceof asn1js.BitString)) throw new Error('bad CertificateList');
    const items = [...tbsEl.valueBlock.value];
    if (items[0] instanceof asn1js.Integer) items.shift(); // version
    const innerAlg = items.shift();
    const issuer = items.shift();
    const thisUpdate = timeOf(items.shift());
    if (!(innerAlg instanceof asn1js.Sequence) || !(issuer instanceof asn1js.Sequence) || !thisUpdate) throw new Error('bad TBSCertList');
    let nextUpdate: Date | undefined;
    if (items[0] instanceof asn1js.UTCTime || items[0] instanceof asn1js.GeneralizedTime) nextUpdate = timeOf(items.shift());
    const revoked = new Set<string>();
    if (items[0] instanceof asn1js.Sequence) {
      for (const entry of (items.shift() as asn1js.Sequence).valueBlock.value) {
        const serial = entry instanceof asn1js.Sequence ? entry.valueBlock.value[0] : undefined;
        if (!(serial instanceof asn1js.Integer)) throw new Error('bad revoked entry');
        revoked.add(serialKey(new Uint8Array(serial.valueBlock.valueHexView)));
      }
    }
    const outer = Buffer.from(algEl.toBER());
    const inner = Buffer.from(innerAlg.toBER());
    const algOid = algEl.valueBlock.value[0];
    // The PSS parameters themselves are enforced by verifying with SHA-384 and a fixed salt of 48.
    const pss = Buffer.compare(outer, inner) === 0 && algOid instanceof asn1js.ObjectIdentifier && algOid.getValue() === OID_RSASSA_PSS;
    return {
      der: Uint8Array.from(der),
      issuerDer: new Uint8Array(issuer.toBER()),
      tbs: new Uint8Array(tbsEl.valueBeforeDecodeView),
      signature: new Uint8Array(sigEl.valueBlock.valueHexView),
      pssSha384: pss,
      thisUpdate,
      ...(nextUpdate ? { nextUpdate } : {}),
      revoked,
    };
  } catch (e) {
    crlError('SNP_CRL_INVALID', `${label}: not a DER CRL`, e);
  }
}

/** Throws SNP_CRL_INVALID unless the CRL names the ARK as issuer and its RSASSA-PSS signature verifies (pure). */
export function checkCrlSignature(crl: AmdCrl, ark: AmdCert, label: string): void {
  if (Buffer.compare(Buffer.from(crl.issuerDer), Buffer.from(ark.subjectDer)) !== 0) crlError('SNP_CRL_INVALID', `${label}: not issued by ${ark.subjectCN}`);
  if (!crl.pssSha384 || !rsaPssSha384Valid(ark.publicKey, crl.tbs, crl.signature)) crlError('SNP_CRL_INVALID', `${label}: signature does not verify under ${ark.subjectCN}`);
}

/** Throws SNP_CRL_STALE unless `thisUpdate <= now <= nextUpdate` (a CRL without nextUpdate is never current). */
export function checkCrlWindow(crl: AmdCrl, now: Date, label: string): void {
  if (crl.thisUpdate.getTime() > now.getTime()) crlError('SNP_CRL_STALE', `${label}: thisUpdate is in the future`);
  if (!crl.nextUpdate) crlError('SNP_CRL_STALE', `${label}: has no nextUpdate`);
  if (crl.nextUpdate.getTime() < now.getTime()) crlError('SNP_CRL_STALE', `${label}: expired at ${crl.nextUpdate.toISOString()}`);
}

export function crlCurrentAt(crl: AmdCrl, now: Date): boolean {
  return crl.nextUpdate !== undefined && crl.thisUpdate.getTime() <= now.getTime() && now.getTime() <= crl.nextUpdate.getTime();
}

/** Throws SNP_CRL_INVALID on a bad signature/issuer, SNP_CRL_STALE outside its window. */
export function checkCrl(crl: AmdCrl, ark: AmdCert, now: Date, label: string): void {
  checkCrlSignature(crl, ark, label);
  checkCrlWindow(crl, now, label);
}

/** Content-addressed store of CRLs already parsed and signature-checked (see cache.ts); optional. */
export interface VerifiedCrlStore {
  verifiedCrl(der: Uint8Array, arkSha256: string, verify: () => AmdCrl): AmdCrl;
}

/** Parse + signature (served from `store` when these exact bytes were checked before), then the window at `now`. */
function crlAt(der: Uint8Array, ark: AmdCert, now: Date, label: string, store: VerifiedCrlStore | undefined): AmdCrl {
  const verify = () => {
    const crl = parseAmdCrl(der, label);
    checkCrlSignature(crl, ark, label);
    return crl;
  };
  const crl = store ? store.verifiedCrl(der, ark.sha256, verify) : verify();
  checkCrlWindow(crl, now, label);
  return crl;
}

export interface CrlSources {
  trustAnchorsDir?: string;
  cacheDir?: string;
  fetch?: Fetcher;
  kdsBaseUrl: string;
  kdsOptions?: KdsGetOptions;
  /** Reuse of earlier parse + signature checks of identical CRL bytes. */
  verified?: VerifiedCrlStore;
}

export function crlFileName(gen: Generation, kind: EndorsementKind): string {
  return `${gen.toLowerCase()}_${kind}_crl.der`;
}

export type CrlLookup = { crl: AmdCrl } | { unavailable: string };

/**
 * Preset file in `trust_anchors_dir` (authoritative: if it is bad, that is an error, not "no CRL"), else a fresh
 * cached copy, else KDS (cached after it checks out).
 */
export async function findCrl(gen: Generation, kind: EndorsementKind, ark: AmdCert, now: Date, src: CrlSources): Promise<CrlLookup> {
  const file = crlFileName(gen, kind);
  if (src.trustAnchorsDir) {
    const p = join(src.trustAnchorsDir, file);
    const der = await readCached(p);
    if (der) {
      return { crl: crlAt(der, ark, now, p, src.verified) };
    }
  }
  const cachePath = src.cacheDir ? join(src.cacheDir, 'snp', file) : undefined;
  if (cachePath) {
    const der = await readCached(cachePath);
    if (der) {
      try {
        return { crl: crlAt(der, ark, now, cachePath, src.verified) };
      } catch {
        // stale or damaged cache: fall through to a fresh download
      }
    }
  }
  if (!src.fetch) return { unavailable: `no ${file} in trust_anchors_dir and offline` };
  const url = crlUrl(src.kdsBaseUrl, kind, gen);
  let body: Uint8Array | undefined;
  try {
    body = await kdsGet(src.fetch, url, src.kdsOptions);
  } catch (e) {
    return { unavailable: (e as Error).message };
  }
  if (!body) return { unavailable: `AMD KDS has no CRL at ${url}` };
  const crl = crlAt(body, ark, now, url, src.verified);
  if (cachePath) await writeCached(cachePath, body);
  return { crl };
}
