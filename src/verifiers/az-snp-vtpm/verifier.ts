/**
 * `az-snp-vtpm`: Azure SEV-SNP CVM with the HCL vTPM. The SNP report (inside the HCL report) is verified by the snp
 * verifier's chain/signature/TCB logic with the `snp_verifier` settings; the HCL variable data is bound to it; the AK
 * in that data signs the TPM quote, whose nonce is the report data and whose PCR8 carries the init-data digest.
 */
import { timingSafeEqual } from 'node:crypto';
import { VerificationError, type ClaimSet, type Json, type JsonObject, type Verifier, type VerifierContext, type VerifyInput } from '../types.js';
import { pemToDers } from '../snp/certs.js';
import { parseReport } from '../snp/layout.js';
import { snpClaims } from '../snp/claims.js';
import { validateReport } from '../snp/validate.js';
import { SnpVerifier, type SnpVerifierOptions } from '../snp/verifier.js';
import { parseTpmsAttestQuote } from '../tpm/quote.js';
import { checkInitDataPcr, INITDATA_PCR, verifyPcrDigest, verifyQuoteSignature } from '../tpm/verify.js';
import { TPM_ALG } from '../tpm/quote.js';
import { checkVarDataBinding, HCL_REPORT_TYPE, parseHclReport, parseVarData } from './hcl.js';

function fail(code: string, msg: string): never {
  throw new VerificationError(code, msg);
}

export interface AzSnpEvidence {
  version: number;
  hcl: Uint8Array;
  vcekDer: Uint8Array;
  quote: { signature: Uint8Array; message: Uint8Array; pcrs: Uint8Array[] };
}

const bytesOf = (v: Json | undefined, what: string): Uint8Array => {
  if (!Array.isArray(v) || !v.every((b) => typeof b === 'number' && Number.isInteger(b) && b >= 0 && b <= 255)) fail('AZ_EVIDENCE_MALFORMED', `${what} must be a byte array`);
  return Uint8Array.from(v as number[]);
};
const hexOf = (v: Json | undefined, what: string): Uint8Array => {
  if (typeof v !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(v)) fail('AZ_EVIDENCE_MALFORMED', `${what} must be hex`);
  return new Uint8Array(Buffer.from(v, 'hex'));
};
const b64urlOf = (v: Json | undefined, what: string): Uint8Array => {
  if (typeof v !== 'string' || !/^[A-Za-z0-9_-]*={0,2}$/.test(v)) fail('AZ_EVIDENCE_MALFORMED', `${what} must be URL-safe base64`);
  return new Uint8Array(Buffer.from(v, 'base64url'));
};

/** v1/v2 `{version, tpm_quote{hex}, hcl_report: b64url, vcek: b64url DER}`; v0 `{quote{byte arrays}, report: bytes, vcek: PEM}`. */
export function parseAzSnpEvidence(ev: Json): AzSnpEvidence {
  if (typeof ev !== 'object' || ev === null || Array.isArray(ev)) fail('AZ_EVIDENCE_MALFORMED', 'evidence must be a JSON object');
  if (ev.version === undefined) {
    const q = ev.quote;
    if (typeof q !== 'object' || q === null || Array.isArray(q)) fail('AZ_EVIDENCE_MALFORMED', 'quote must be an object');
    if (typeof ev.vcek !== 'string') fail('AZ_EVIDENCE_MALFORMED', 'vcek must be PEM');
    const ders = pemToDers(ev.vcek);
    if (ders.length === 0) fail('AZ_EVIDENCE_MALFORMED', 'vcek holds no PEM certificate');
    if (!Array.isArray(q.pcrs)) fail('AZ_EVIDENCE_MALFORMED', 'quote.pcrs must be an array');
    return {
      version: 0,
      hcl: bytesOf(ev.report, 'report'),
      vcekDer: ders[0],
      quote: { signature: bytesOf(q.signature, 'quote.signature'), message: bytesOf(q.message, 'quote.message'), pcrs: q.pcrs.map((p, i) => bytesOf(p, `quote.pcrs[${i}]`)) },
    };
  }
  if (ev.version !== 1 && ev.version !== 2) fail('AZ_EVIDENCE_MALFORMED', `unsupported evidence version ${String(ev.version)}`);
  const q = ev.tpm_quote;
  if (typeof q !== 'object' || q === null || Array.isArray(q) || !Array.isArray(q.pcrs)) fail('AZ_EVIDENCE_MALFORMED', 'tpm_quote must be {signature, message, pcrs}');
  return {
    version: ev.version,
    hcl: b64urlOf(ev.hcl_report, 'hcl_report'),
    vcekDer: b64urlOf(ev.vcek, 'vcek'),
    quote: { signature: hexOf(q.signature, 'tpm_quote.signature'), message: hexOf(q.message, 'tpm_quote.message'), pcrs: q.pcrs.map((p, i) => hexOf(p, `tpm_quote.pcrs[${i}]`)) },
  };
}

const eq = (a: Uint8Array, b: Uint8Array) => a.length === b.length && timingSafeEqual(a, b);

export class AzSnpVtpmVerifier implements Verifier {
  private readonly snp: SnpVerifier;

  constructor(ctx: VerifierContext, opts: SnpVerifierOptions = {}) {
    this.snp = new SnpVerifier(ctx, opts);
  }

  async verify(input: VerifyInput): Promise<ClaimSet[]> {
    const ev = parseAzSnpEvidence(input.evidence);
    if (!input.expectedReportData) fail('AZ_REPORT_DATA_REQUIRED', 'az-snp-vtpm needs the expected report data (TPM nonce)');
    const hcl = parseHclReport(ev.hcl);
    if (hcl.reportType !== HCL_REPORT_TYPE.snp) fail('AZ_HCL_MALFORMED', `HCL report type ${hcl.reportType} is not SNP`);
    const report = parseReport(hcl.hwReport);
    const { gen, kind } = await this.snp.verifyReport(report, [{ type: 'VCEK', der: ev.vcekDer }], input.now);
    validateReport(report, gen, this.snp.config, {});
    checkVarDataBinding(hcl, report.reportData);
    const varData = parseVarData(hcl.varData);

    if (ev.quote.pcrs.some((p) => p.length !== 32) || ev.quote.pcrs.length > 24) fail('AZ_EVIDENCE_MALFORMED', 'PCRs must be 32-byte SHA-256 values');
    const quote = parseTpmsAttestQuote(ev.quote.message);
    verifyQuoteSignature(ev.quote.message, { alg: 'rsassa', hashAlg: TPM_ALG.sha256, signature: ev.quote.signature }, varData.ak);
    const covered = verifyPcrDigest(quote, ev.quote.pcrs);
    if (ev.version === 2) {
      const want = Buffer.from(input.expectedReportData).toString('hex');
      if (!varData.userData || !varData.userData.toLowerCase().startsWith(want)) fail('AZ_USER_DATA_MISMATCH', "User-data in HCL variable data doesn't match report_data");
    }
    if (!eq(quote.extraData, input.expectedReportData)) fail('TPM_NONCE_MISMATCH', "TPM quote nonce doesn't match the expected report data");
    if (input.expectedInitDataHash) checkInitDataPcr(ev.quote.pcrs, covered, input.expectedInitDataHash);

    // Trustee's az-snp-vtpm claim types: SNP values as strings, measurement in standard base64.
    const s = snpClaims(report, gen, kind);
    const str = (k: string) => String(s[k]);
    const tpm: JsonObject = {};
    for (const i of covered) tpm[`pcr${String(i).padStart(2, '0')}`] = Buffer.from(ev.quote.pcrs[i]).toString('hex');
    const claims: JsonObject = {
      policy_abi_major: str('policy_abi_major'),
      policy_abi_minor: str('policy_abi_minor'),
      policy_smt_allowed: str('policy_smt_allowed'),
      policy_migrate_ma: str('policy_migrate_ma'),
      policy_debug_allowed: str('policy_debug_allowed'),
      policy_single_socket: str('policy_single_socket'),
      reported_tcb_bootloader: str('reported_tcb_bootloader'),
      reported_tcb_tee: str('reported_tcb_tee'),
      reported_tcb_snp: str('reported_tcb_snp'),
      reported_tcb_microcode: str('reported_tcb_microcode'),
      platform_tsme_enabled: str('platform_tsme_enabled'),
      platform_smt_enabled: str('platform_smt_enabled'),
      measurement: Buffer.from(report.measurement).toString('base64'),
      report_data: Buffer.from(quote.extraData).toString('hex'),
      ...(covered.includes(INITDATA_PCR) ? { init_data: Buffer.from(ev.quote.pcrs[INITDATA_PCR]).toString('hex') } : {}),
      tpm,
      generation: gen,
      chip_id: str('chip_id'),
      vmpl: report.vmpl,
      snp_report_version: report.version,
    };
    return [{ claims, class: 'cpu' }];
  }
}
