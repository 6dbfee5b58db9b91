/**
 * The `snp` verifier: decodes Trustee's evidence at the edge, finds the endorsement key (evidence chain, offline
 * store, KDS), then verify.ts (chain, revocation, signature, binding) → validate.ts (expectations) → claims.ts.
 */
import { join } from 'node:path';
import { VerificationError, type ClaimSet, type Json, type Verifier, type VerifierContext, type VerifyInput } from '../types.js';
import { generationFromProductName, productName, type AmdCert } from './certs.js';
import { SnpCaches, type SnpCacheOptions, type SnpCacheStats } from './cache.js';
import { parseSnpConfig, type SnpVerifierConfig } from './config.js';
import { crlCurrentAt, findCrl, type CrlLookup } from './crl.js';
import { kdsGet, offlineTcbPrefix, readCached, vcekUrl, writeCached, type EndorsementKind, type KdsGetOptions } from './kds.js';
import {
  decodeKeyInfo, decodeTcb, generationFromCpuid, parseReport, reportBytesFromSevJson, REPORT_SIZE,
  type Generation, type ParsedReport,
} from './layout.js';
import { snpClaims } from './claims.js';
import { AMD_ARK_SHA256, loadAnchors, type AmdAnchors, type ArkPins } from './trust.js';
import { validateReport } from './validate.js';
import { checkChipBinding, checkRevocation, checkTcbBinding, isZero, verifyChain, verifyReportSignature } from './verify.js';

function fail(code: string, msg: string): never {
  throw new VerificationError(code, msg);
}

export type ChainEntryType = 'VCEK' | 'VLEK' | 'ASK' | 'ARK' | 'CRL' | 'OTHER' | 'Empty';

export interface SnpEvidence {
  report: Uint8Array;
  certChain: { type: ChainEntryType; der: Uint8Array }[] | null;
}

/** A JSON array of integers 0..255 → bytes, in one pass (cert_chain data arrive as such arrays). */
function byteArray(d: Json | undefined, i: number): Uint8Array {
  const bad = (): never => fail('SNP_EVIDENCE_MALFORMED', `cert_chain[${i}].data must be an array of bytes`);
  if (!Array.isArray(d) || d.length > 16384) bad();
  const arr = d as Json[];
  const out = new Uint8Array(arr.length);
  for (let k = 0; k < arr.length; k++) {
    const b = arr[k];
    if (typeof b !== 'number' || !Number.isInteger(b) || b < 0 || b > 255) bad();
    out[k] = b as number;
  }
  return out;
}

const CHAIN_TYPES = new Set(['VCEK', 'VLEK', 'ASK', 'ARK', 'CRL', 'Empty']);

/**
 * `{"attestation_report": <sev-crate JSON> | "<base64 of the 1184-byte report>", "cert_chain": [{cert_type, data}] | null}`.
 */
export function parseSnpEvidence(evidence: Json): SnpEvidence {
  if (typeof evidence !== 'object' || evidence === null || Array.isArray(evidence)) fail('SNP_EVIDENCE_MALFORMED', 'SNP evidence must be a JSON object');
  const ar = evidence.attestation_report;
  let report: Uint8Array;
  if (typeof ar === 'string') {
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(ar)) fail('SNP_EVIDENCE_MALFORMED', 'attestation_report string is not base64');
    report = new Uint8Array(Buffer.from(ar, 'base64'));
    if (report.length !== REPORT_SIZE) fail('SNP_EVIDENCE_MALFORMED', `attestation_report must decode to ${REPORT_SIZE} bytes`);
  } else if (ar === undefined) {
    fail('SNP_EVIDENCE_MALFORMED', 'attestation_report is missing');
  } else {
    report = reportBytesFromSevJson(ar);
  }
  const cc = evidence.cert_chain;
  if (cc === undefined || cc === null) return { report, certChain: null };
  if (!Array.isArray(cc) || cc.length > 16) fail('SNP_EVIDENCE_MALFORMED', 'cert_chain must be an array (at most 16 entries) or null');
  const certChain = cc.map((e, i) => {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) fail('SNP_EVIDENCE_MALFORMED', `cert_chain[${i}] must be an object`);
    const t = e.cert_type;
    const type: ChainEntryType = typeof t === 'string' && CHAIN_TYPES.has(t) ? (t as ChainEntryType) : typeof t === 'object' && t !== null ? 'OTHER' : fail('SNP_EVIDENCE_MALFORMED', `cert_chain[${i}].cert_type is unknown`);
    return { type, der: byteArray(e.data, i) };
  });
  return { report, certChain };
}

export interface SnpVerifierOptions {
  /** ARK pins; production uses AMD's. Tests inject their own root's fingerprint here. */
  pins?: ArkPins;
  kds?: KdsGetOptions;
  /** Bounds and clock of this instance's caches (cache.ts). */
  cache?: SnpCacheOptions;
}

export class SnpVerifier implements Verifier {
  readonly config: SnpVerifierConfig;
  private readonly pins: ArkPins;
  private readonly anchors = new Map<Generation, Promise<AmdAnchors>>();
  /** Last CRL lookup per generation/kind (at most 6 entries), reused for `cache.crlRecheckMs` of wall-clock time. */
  private readonly crls = new Map<string, { lookup: CrlLookup; at: number }>();
  private readonly caches: SnpCaches;
  /** VCEKs fetched from KDS by URL (bounded), so a busy verifier without a cacheDir does not hammer KDS. */
  private readonly vceks = new Map<string, Uint8Array>();

  constructor(private readonly ctx: VerifierContext, private readonly opts: SnpVerifierOptions = {}) {
    this.config = parseSnpConfig(ctx.config);
    this.pins = opts.pins ?? AMD_ARK_SHA256;
    this.caches = new SnpCaches(opts.cache);
    if (this.config.crl === 'best-effort') ctx.log?.warn('snp_verifier.crl = "best-effort": reports are accepted when AMD\'s CRL cannot be obtained');
    if (this.config.crl === 'off') ctx.log?.warn('snp_verifier.crl = "off": revocation of AMD ASK/ASVK certificates is NOT checked (insecure)');
    if (this.config.allowMaskedChipId) ctx.log?.warn('snp_verifier.allow_masked_chip_id: VCEK-signed reports with a masked CHIP_ID are accepted without the hwID check');
  }

  /** How often the expensive steps really ran (cache misses), for tests and metrics. */
  get cacheStats(): Readonly<SnpCacheStats> {
    return { ...this.caches.stats };
  }

  async verify(input: VerifyInput): Promise<ClaimSet[]> {
    const ev = parseSnpEvidence(input.evidence);
    const report = parseReport(ev.report);
    const { gen, kind } = await this.verifyReport(report, ev.certChain, input.now);
    validateReport(report, gen, this.config, { expectedReportData: input.expectedReportData, expectedInitDataHash: input.expectedInitDataHash });
    return [{ claims: snpClaims(report, gen, kind), class: 'cpu' }];
  }

  /**
   * Everything that makes the report authentic (endorsement key, generation, chain to the pinned ARK, revocation,
   * TCB and CHIP_ID binding, signature); the field expectations are left to `validateReport`. Shared with the
   * Azure vTPM verifier, whose SNP report is bound to the HCL data rather than to report data directly.
   */
  async verifyReport(report: ParsedReport, certChain: SnpEvidence['certChain'], now: Date): Promise<{ gen: Generation; kind: EndorsementKind }> {
    const keyInfo = decodeKeyInfo(report.keyInfo);
    if (keyInfo.signingKey === 'none') fail('SNP_SIGNATURE_INVALID', 'report is unsigned (SIGNING_KEY = none)');
    const kind: EndorsementKind = keyInfo.signingKey;

    const cpuGen = report.cpuid ? generationFromCpuid(report.cpuid) : undefined;
    const vek = await this.endorsementKey(report, kind, certChain, cpuGen);
    const product = productName(vek);
    const certGen = product ? generationFromProductName(product) : undefined;
    if (product && !certGen) fail('SNP_UNKNOWN_GENERATION', `unknown AMD product name "${product}" in the endorsement key`);
    if (cpuGen && certGen && cpuGen !== certGen) fail('SNP_GENERATION_MISMATCH', `report CPUID says ${cpuGen} but the endorsement key is for ${certGen}`);
    const gen = cpuGen ?? certGen;
    if (!gen) fail('SNP_UNKNOWN_GENERATION', 'cannot tell the processor generation: report v2 without CPUID and no product name in the endorsement key');
    if (gen === 'Turin' && report.version < 3) fail('SNP_REPORT_MALFORMED', 'Turin reports are version 3 or later');

    const anchors = await this.loadAnchors(gen);
    const { intermediate } = verifyChain(vek, kind, anchors, now, this.caches);
    const lookup = this.config.crl === 'off' ? undefined : await this.crl(gen, kind, anchors, now);
    const crlWarning = checkRevocation(intermediate, lookup, this.config.crl);
    if (crlWarning && this.config.crl !== 'off') this.ctx.log?.warn(`snp: ${crlWarning}`);

    // Binding first so that a tampered TCB/CHIP_ID is reported as such; the signature check follows either way.
    checkTcbBinding(report, vek, gen);
    const chipWarning = checkChipBinding(report, vek, kind, gen, this.config.allowMaskedChipId);
    if (chipWarning) this.ctx.log?.warn(`snp: ${chipWarning}`);
    verifyReportSignature(report, vek);
    return { gen, kind };
  }

  private loadAnchors(gen: Generation): Promise<AmdAnchors> {
    let p = this.anchors.get(gen);
    if (!p) {
      p = loadAnchors(gen, {
        trustAnchorsDir: this.config.trustAnchorsDir,
        cacheDir: this.ctx.cacheDir,
        fetch: this.ctx.fetch,
        kdsBaseUrl: this.config.kdsBaseUrl,
        pins: this.pins,
        kdsOptions: this.opts.kds,
      });
      // A failure (e.g. offline) must not stick: the operator may add the file without a restart.
      p.catch(() => this.anchors.delete(gen));
      this.anchors.set(gen, p);
    }
    return p;
  }

  /**
   * The CRL for this generation/kind. A lookup's outcome (a verified CRL, or "unavailable") is reused for
   * `crlRecheckMs` of wall-clock time so that best-effort mode without a CRL does not hit the disk or KDS on every
   * report; a reused CRL must still be current at the caller's `now`, else the sources are asked again.
   */
  private async crl(gen: Generation, kind: EndorsementKind, anchors: AmdAnchors, now: Date): Promise<CrlLookup> {
    const key = `${gen}/${kind}`;
    const memo = this.crls.get(key);
    const t = this.caches.clock();
    if (memo && memo.at <= t && t - memo.at < this.caches.crlRecheckMs) {
      if ('unavailable' in memo.lookup || crlCurrentAt(memo.lookup.crl, now)) return memo.lookup;
    }
    this.caches.stats.crlLookups++;
    let found = await findCrl(gen, kind, anchors.ark, now, {
      trustAnchorsDir: this.config.trustAnchorsDir,
      cacheDir: this.ctx.cacheDir,
      fetch: this.ctx.fetch,
      kdsBaseUrl: this.config.kdsBaseUrl,
      kdsOptions: this.opts.kds,
      verified: this.caches,
    });
    // A source outage does not forget a CRL we already verified while it is still current.
    if ('unavailable' in found && memo && 'crl' in memo.lookup && crlCurrentAt(memo.lookup.crl, now)) found = memo.lookup;
    this.crls.set(key, { lookup: found, at: t });
    return found;
  }

  /** Evidence chain first; else (VCEK only) the configured sources in order. */
  private async endorsementKey(report: ParsedReport, kind: EndorsementKind, certChain: SnpEvidence['certChain'], gen: Generation | undefined): Promise<AmdCert> {
    const veks = (certChain ?? []).filter((e) => e.type === 'VCEK' || e.type === 'VLEK');
    if (veks.length > 1) fail('SNP_CERT_CHAIN', 'cert_chain holds more than one VCEK/VLEK');
    if (veks.length === 1) {
      const want = kind === 'vcek' ? 'VCEK' : 'VLEK';
      if (veks[0].type !== want) fail('SNP_CERT_CHAIN', `report is signed by the ${want} but cert_chain carries a ${veks[0].type}`);
      return this.caches.cert(veks[0].der, want);
    }
    if (kind === 'vlek') fail('SNP_VEK_UNAVAILABLE', 'report is signed by a VLEK but the evidence carries no VLEK certificate');
    if (!gen) fail('SNP_VEK_UNAVAILABLE', 'report v2 without a VCEK in the evidence: the generation (and so the KDS URL) is unknown');
    if (isZero(report.chipId)) fail('SNP_VEK_UNAVAILABLE', 'CHIP_ID is masked: the VCEK cannot be looked up; include it in the evidence');
    const tcb = decodeTcb(report.reportedTcb, gen);
    const hwidHex = Buffer.from(gen === 'Turin' ? report.chipId.subarray(0, 8) : report.chipId).toString('hex');
    const prefix = offlineTcbPrefix(gen, tcb);
    const tried: string[] = [];
    for (const src of this.config.vcekSources) {
      if (src.type === 'OfflineStore') {
        for (const name of [`${prefix}_vcek.der`, 'vcek.der']) {
          const p = join(src.path, 'vcek', hwidHex, name);
          const der = await readCached(p);
          if (der) return this.caches.cert(der, p);
          tried.push(p);
        }
      } else {
        const cachePath = this.ctx.cacheDir ? join(this.ctx.cacheDir, 'snp', 'vcek', hwidHex, `${prefix}_vcek.der`) : undefined;
        const cached = cachePath ? await readCached(cachePath) : undefined;
        if (cached) return this.caches.cert(cached, cachePath ?? 'VCEK');
        const url = vcekUrl(src.baseUrl, gen, hwidHex, tcb);
        const memo = this.vceks.get(url);
        if (memo) return this.caches.cert(memo, url);
        if (!this.ctx.fetch) {
          tried.push(`${url} (offline)`);
          continue;
        }
        const body = await kdsGet(this.ctx.fetch, url, this.opts.kds);
        if (!body) {
          tried.push(`${url} (404)`);
          continue;
        }
        const cert = this.caches.cert(body, url);
        if (this.vceks.size >= 256) this.vceks.delete(this.vceks.keys().next().value as string);
        this.vceks.set(url, body);
        // Cached only after parsing; the chain check runs on every use anyway.
        if (cachePath) await writeCached(cachePath, body);
        return cert;
      }
    }
    fail('SNP_VEK_UNAVAILABLE', `no VCEK found; tried: ${tried.join(', ') || 'no sources configured'}`);
  }
}
