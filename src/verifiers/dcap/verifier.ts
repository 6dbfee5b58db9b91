/**
 * The Trustee `Verifier` for Intel DCAP quotes, shared by `tdx` and `sgx`: evidence JSON → quote → full
 * verification against collateral → report-data / init-data binding → claims.
 */
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { VerificationError, type ClaimSet, type Json, type JsonObject, type Verifier, type VerifierContext, type VerifyInput } from '../types.js';
import { sgxQuoteClaims, supplementalClaims, tdxQuoteClaims } from './claims.js';
import { parseDcapConfig, type DcapConfig } from './config.js';
import { parseQuote, type Quote } from './quote.js';
import { CoalescingCache, FileCollateralSource, PcsCollateralSource, type CollateralSource } from './source.js';
import { VERDICT_QVL_NAME } from './tcb.js';
import { verifyQuote, verifyQuoteSignatures, type VerifiedQuote } from './verify.js';
import { DcapCache, type DcapCacheOptions, type DcapCacheStats } from './cache.js';
import { checkRtmrs, parseEventLog } from '../eventlog/ccel.js';
import { uefiEventLogsClaim } from '../eventlog/details.js';
import { bytesEqual } from '../../util/bytes.js';

export type DcapTee = 'tdx' | 'sgx';

export interface DcapEvidence {
  quote: Uint8Array;
  ccEventlog?: Uint8Array;
}

export class EvidenceError extends VerificationError {
  constructor(message: string) {
    super('ERR_DCAP_EVIDENCE', message);
    this.name = 'EvidenceError';
  }
}

function b64(v: Json | undefined, name: string): Uint8Array {
  if (typeof v !== 'string' || v.length === 0) throw new EvidenceError(`evidence.${name} must be a non-empty base64 string`);
  // Trustee uses standard base64; URL-safe input is accepted as well (both alphabets decode unambiguously).
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(v)) throw new EvidenceError(`evidence.${name} is not base64`);
  const bytes = Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (bytes.length === 0) throw new EvidenceError(`evidence.${name} decodes to nothing`);
  return new Uint8Array(bytes);
}

export function decodeDcapEvidence(evidence: Json): DcapEvidence {
  if (typeof evidence !== 'object' || evidence === null || Array.isArray(evidence)) throw new EvidenceError('evidence must be a JSON object');
  const out: DcapEvidence = { quote: b64(evidence.quote, 'quote') };
  if (evidence.cc_eventlog !== undefined && evidence.cc_eventlog !== null) out.ccEventlog = b64(evidence.cc_eventlog, 'cc_eventlog');
  return out;
}

/** Trustee `regularize_data`: right-pad with zeros, or truncate, to `n` bytes. */
export function regularize(d: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(d.subarray(0, n));
  return out;
}

export interface DcapVerifierOptions {
  /** Test hook: hex SHA-256 of a test root certificate instead of Intel's. */
  rootSha256?: string;
  /** Test hook / embedding: a collateral source instead of the configured one. */
  source?: CollateralSource;
  /** How the file source reads its file (default: node:fs, re-read when its mtime changes). */
  readText?: (path: string) => Promise<string>;
  /** Bounds of this instance's content-addressed caches (cache.ts). */
  cache?: DcapCacheOptions;
}

export class DcapVerifier implements Verifier {
  /** This instance's own cache: verifiers with other pinned roots or options never share entries. */
  private readonly cache: DcapCache;
  constructor(
    private readonly tee: DcapTee,
    private readonly config: DcapConfig,
    private readonly source: CollateralSource | undefined,
    private readonly opts: DcapVerifierOptions,
  ) {
    this.cache = new DcapCache(opts.cache);
  }

  /** How often the expensive steps really ran (cache misses), for tests and metrics. */
  get cacheStats(): Readonly<DcapCacheStats> {
    const s = { ...this.cache.stats };
    if (this.source instanceof FileCollateralSource) s.collateralParses = this.source.stats.parses;
    return s;
  }

  /** Parses and fully verifies a quote; exposed for callers that wrap quotes (e.g. Azure TDX vTPM). */
  async verifyQuoteBytes(bytes: Uint8Array, now: Date): Promise<VerifiedQuote> {
    const quote: Quote = parseQuote(bytes);
    if (quote.kind !== this.tee) throw new EvidenceError(`evidence holds a ${quote.kind.toUpperCase()} quote, expected ${this.tee.toUpperCase()}`);
    if (!this.source) throw new VerificationError('ERR_DCAP_COLLATERAL_UNAVAILABLE', 'no collateral_service configured for DCAP verification');
    // The FMSPC that selects collateral comes from a PCK certificate already chained to the pinned root.
    const pre = verifyQuoteSignatures(quote, { now, rootSha256: this.opts.rootSha256, cache: this.cache });
    const collateral = await this.source.get({ tee: this.tee, fmspc: pre.pck.fmspc }, now);
    const verified = await verifyQuote(
      quote,
      collateral,
      {
        now,
        rootSha256: this.opts.rootSha256,
        cache: this.cache,
        allowExpiredCollateral: this.config.allowExpiredCollateral,
        allowMissingCrls: this.config.allowMissingCrls,
        allowExpiredTcbSigningCert: this.config.allowExpiredTcbSigningCert,
        minTcbEvaluationDataNumber: this.config.minTcbEvaluationDataNumber,
      },
      pre,
    );
    if (!this.config.acceptedTcbStatuses.has(verified.tcb.verdict)) {
      throw new VerificationError(
        'ERR_DCAP_TCB_STATUS',
        `TCB status ${verified.tcb.verdict} (${VERDICT_QVL_NAME[verified.tcb.verdict]}) is not accepted`,
      );
    }
    return verified;
  }

  async verify(input: VerifyInput): Promise<ClaimSet[]> {
    const ev = decodeDcapEvidence(input.evidence);
    const v = await this.verifyQuoteBytes(ev.quote, input.now);
    const q = v.quote;
    const reportData = q.body.reportData;
    if (input.expectedReportData !== undefined) {
      if (!bytesEqual(regularize(input.expectedReportData, 64), reportData)) {
        throw new VerificationError('ERR_REPORT_DATA_MISMATCH', 'quote report_data does not match the expected report data');
      }
    }
    if (input.expectedInitDataHash !== undefined) {
      const [field, len] = q.kind === 'tdx' ? [q.body.mrConfigId, 48] : [q.body.configId, 64];
      if (!bytesEqual(regularize(input.expectedInitDataHash, len), field)) {
        throw new VerificationError('ERR_INIT_DATA_MISMATCH', `quote ${q.kind === 'tdx' ? 'mr_config_id' : 'config_id'} does not match the init-data digest`);
      }
    }
    const base: JsonObject = q.kind === 'tdx' ? tdxQuoteClaims(q, v.pck.platformInstanceId) : sgxQuoteClaims(q, v.pck.platformInstanceId);
    if (q.kind === 'tdx' && ev.ccEventlog) {
      // The event log is only evidence once its SHA-384 replay reproduces the signed RTMRs (Trustee does the same).
      const log = parseEventLog(ev.ccEventlog);
      checkRtmrs(log, q.body.rtmr);
      base.uefi_event_logs = uefiEventLogsClaim(log);
    }
    return [{ claims: { ...base, ...supplementalClaims(v) }, class: 'cpu' }];
  }
}

export function createDcapVerifier(tee: DcapTee, ctx: VerifierContext, opts: DcapVerifierOptions = {}): DcapVerifier {
  const config = parseDcapConfig(ctx.config, (m) => ctx.log?.warn(m));
  let source = opts.source;
  const svc = config.collateralService;
  if (!source && svc) {
    if (svc.startsWith('file://')) {
      source = opts.readText
        ? new FileCollateralSource(fileURLToPath(svc), opts.readText, config.tcbUpdateType)
        : new FileCollateralSource(fileURLToPath(svc), (p) => readFile(p, 'utf8'), config.tcbUpdateType, async (p) => (await stat(p)).mtimeMs);
    } else {
      if (!ctx.fetch) throw new VerificationError('ERR_DCAP_COLLATERAL_UNAVAILABLE', 'collateral_service is a URL but no HTTP fetcher was provided');
      source = new PcsCollateralSource(svc, ctx.fetch, config.tcbUpdateType, new CoalescingCache(config.collateralCacheSeconds * 1000));
    }
  }
  return new DcapVerifier(tee, config, source, opts);
}
