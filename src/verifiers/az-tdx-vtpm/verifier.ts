/**
 * `az-tdx-vtpm`: Azure TDX confidential VM with the HCL vTPM. Mirrors `az-snp-vtpm` with the SNP report replaced
 * by a TD quote: the vTPM checks (./vtpm.ts), the HCL variable data bound to the TD quote's report_data, and the
 * TD quote fully verified by the DCAP verifier (signatures, PCK chain, CRLs, TCB Info, QE identity, TCB status)
 * with the `dcap_verifier` settings it shares with `tdx`.
 */
import { VerificationError, type ClaimSet, type Verifier, type VerifierContext, type VerifyInput } from '../types.js';
import { createDcapVerifier, parseQuote, supplementalClaims, tdxQuoteClaims, type DcapVerifier, type DcapVerifierOptions } from '../dcap/index.js';
import { parseAzTdxEvidence } from './evidence.js';
import { azTdxClaims } from './claims.js';
import { bindToTdQuote, verifyVtpm } from './vtpm.js';

export interface AzTdxVtpmVerifierOptions {
  /** Passed to the DCAP verifier (test root, injected collateral source or file reader). */
  dcap?: DcapVerifierOptions;
}

export class AzTdxVtpmVerifier implements Verifier {
  private readonly dcap: DcapVerifier;

  constructor(ctx: VerifierContext, opts: AzTdxVtpmVerifierOptions = {}) {
    this.dcap = createDcapVerifier('tdx', ctx, opts.dcap ?? {});
  }

  async verify(input: VerifyInput): Promise<ClaimSet[]> {
    const ev = parseAzTdxEvidence(input.evidence);
    // Trustee: the TPM nonce is the only freshness az-tdx-vtpm has, so report data is required.
    if (input.expectedReportData === undefined) {
      throw new VerificationError('AZ_REPORT_DATA_REQUIRED', 'az-tdx-vtpm needs the expected report data (TPM nonce)');
    }
    const vtpm = verifyVtpm(ev, input.expectedReportData, input.expectedInitDataHash);
    // The binding is checked on the parsed quote before collateral is fetched, so evidence that cannot pass costs
    // no PCS round trip; it only counts because verifyQuoteBytes below verifies these same bytes.
    const unverified = parseQuote(ev.tdQuote);
    if (unverified.kind !== 'tdx') throw new VerificationError('AZ_EVIDENCE_MALFORMED', 'td_quote is not a TDX quote');
    bindToTdQuote(vtpm, unverified.body.reportData);
    const verified = await this.dcap.verifyQuoteBytes(ev.tdQuote, input.now);
    const q = verified.quote;
    if (q.kind !== 'tdx') throw new VerificationError('AZ_EVIDENCE_MALFORMED', 'td_quote is not a TDX quote');
    bindToTdQuote(vtpm, q.body.reportData);
    const td = { ...tdxQuoteClaims(q, verified.pck.platformInstanceId), ...supplementalClaims(verified) };
    return [{ claims: azTdxClaims(td, vtpm), class: 'cpu' }];
  }
}

export function createAzTdxVtpmVerifier(ctx: VerifierContext, opts: AzTdxVtpmVerifierOptions = {}): AzTdxVtpmVerifier {
  return new AzTdxVtpmVerifier(ctx, opts);
}
