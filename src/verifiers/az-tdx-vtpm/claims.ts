/**
 * Trustee's `az-tdx-vtpm` claims (trustee.md §4): the TDX quote claims without an event log, the DCAP
 * supplemental claims, then `tpm.pcrNN` (hex), `report_data` = the TPM nonce (hex) and `init_data` = PCR8 (hex),
 * which replace the TD quote's own `report_data` / `init_data` (those hold the HCL binding and mr_config_id, which
 * the TD does not control on Azure).
 */
import type { JsonObject } from '../types.js';
import { INITDATA_PCR } from '../tpm/verify.js';
import type { VerifiedVtpm } from './vtpm.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export function azTdxClaims(tdClaims: JsonObject, vtpm: Pick<VerifiedVtpm, 'quote' | 'pcrs' | 'covered'>): JsonObject {
  const tpm: JsonObject = {};
  for (const i of vtpm.covered) tpm[`pcr${String(i).padStart(2, '0')}`] = hex(vtpm.pcrs[i]);
  const { init_data: _mrConfigId, report_data: _tdReportData, ...rest } = tdClaims;
  return {
    ...rest,
    tpm,
    report_data: hex(vtpm.quote.extraData),
    // Only a PCR the quote covers is evidence; without PCR8 there is no init-data claim.
    ...(vtpm.covered.includes(INITDATA_PCR) ? { init_data: hex(vtpm.pcrs[INITDATA_PCR]) } : {}),
  };
}
