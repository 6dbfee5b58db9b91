/**
 * The vTPM half of `az-tdx-vtpm` (trustee.md §2.2, §2.3): the HCL report's variable data carries the vTPM's AK,
 * the AK signs the TPM quote, the quote's extraData is the report data and its PCR8 the init-data digest; and
 * SHA-256 of that variable data is the first half of the TD quote's REPORT_DATA, which ties the vTPM to the TD.
 *
 * The TD quote itself is verified by the DCAP code (../dcap); here it is only compared with.
 */
import { VerificationError } from '../types.js';
import { checkVarDataBinding, HCL_REPORT_TYPE, parseHclReport, parseVarData, type HclReport, type VarData } from '../az-snp-vtpm/hcl.js';
import { parseTpmsAttestQuote, TPM_ALG, type TpmsAttestQuote } from '../tpm/quote.js';
import { checkInitDataPcr, checkNonce, verifyPcrDigest, verifyQuoteSignature } from '../tpm/verify.js';
import type { AzTdxEvidence } from './evidence.js';

export interface VerifiedVtpm {
  hcl: HclReport;
  varData: VarData;
  quote: TpmsAttestQuote;
  /** PCR values as carried by the evidence; only the indices in `covered` are attested by the quote. */
  pcrs: Uint8Array[];
  covered: number[];
}

function fail(code: string, msg: string): never {
  throw new VerificationError(code, msg);
}

/** Parses the HCL report and refuses anything but a TDX one (an SNP HCL report must go to `az-snp-vtpm`). */
export function parseTdxHclReport(bytes: Uint8Array): HclReport {
  const hcl = parseHclReport(bytes);
  if (hcl.reportType !== HCL_REPORT_TYPE.tdx) fail('AZ_HCL_MALFORMED', `HCL report type ${hcl.reportType} is not TDX (${HCL_REPORT_TYPE.tdx})`);
  return hcl;
}

/**
 * Every vTPM check that needs no Intel collateral. `expectedReportData` is the exact digest (no padding): it must
 * equal the quote's extraData; v2 evidence additionally needs the HCL `user-data` to start with its hex.
 */
export function verifyVtpm(ev: AzTdxEvidence, expectedReportData: Uint8Array, expectedInitDataHash?: Uint8Array): VerifiedVtpm {
  const hcl = parseTdxHclReport(ev.hclReport);
  const varData = parseVarData(hcl.varData);
  const quote = parseTpmsAttestQuote(ev.tpmQuote.message);
  // Azure's vTPM signs with RSASSA-PKCS1-v1_5 / SHA-256 and the evidence carries the bare signature.
  verifyQuoteSignature(ev.tpmQuote.message, { alg: 'rsassa', hashAlg: TPM_ALG.sha256, signature: ev.tpmQuote.signature }, varData.ak);
  const covered = verifyPcrDigest(quote, ev.tpmQuote.pcrs);
  checkNonce(quote, expectedReportData);
  if (ev.version === 2) {
    const want = Buffer.from(expectedReportData).toString('hex');
    if (varData.userData === undefined || !varData.userData.toLowerCase().startsWith(want)) {
      fail('AZ_USER_DATA_MISMATCH', "User-data in HCL variable data doesn't match report_data");
    }
  }
  if (expectedInitDataHash !== undefined) checkInitDataPcr(ev.tpmQuote.pcrs, covered, expectedInitDataHash);
  return { hcl, varData, quote, pcrs: ev.tpmQuote.pcrs, covered };
}

/** SHA-256(HCL variable data) must equal the TD quote's REPORT_DATA[0..32] (Trustee: "TDX Quote report data mismatch"). */
export function bindToTdQuote(vtpm: Pick<VerifiedVtpm, 'hcl'>, tdReportData: Uint8Array): void {
  if (tdReportData.length !== 64) fail('AZ_VAR_DATA_MISMATCH', 'TD quote report_data must be 64 bytes');
  try {
    checkVarDataBinding(vtpm.hcl, tdReportData);
  } catch (e) {
    if (e instanceof VerificationError && e.code === 'AZ_VAR_DATA_MISMATCH') {
      fail('AZ_VAR_DATA_MISMATCH', "TDX Quote report data mismatch: SHA-256 of the HCL variable data is not the TD quote's report_data[0..32]");
    }
    throw e;
  }
}
