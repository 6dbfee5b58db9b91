/**
 * The `sample` and `sampledevice` verifiers (specs/trustee.md §4, first two rows).
 *
 * INSECURE BY NATURE: the evidence is plain JSON with no signature, so anyone can produce it. They exist for
 * protocol tests and demos only. The only check is the report-data binding (exact compare, no padding), which at
 * least proves the evidence was built for this session's nonce and key.
 */
import type { ClaimSet, JsonObject, Verifier, VerifyInput } from '../types.js';
import { VerificationError } from '../types.js';
import { bytesEqual } from '../../util/bytes.js';

/** Evidence after parsing: `{"svn": string, "report_data": b64}`. */
export interface SampleEvidence {
  svn: string;
  reportData: Uint8Array;
  reportDataB64: string;
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function parseSampleEvidence(evidence: unknown): SampleEvidence {
  if (evidence === null || typeof evidence !== 'object' || Array.isArray(evidence)) {
    throw new VerificationError('ERR_SAMPLE_EVIDENCE', 'sample evidence must be a JSON object');
  }
  const o = evidence as Record<string, unknown>;
  if (typeof o.svn !== 'string') throw new VerificationError('ERR_SAMPLE_EVIDENCE', 'sample evidence: "svn" must be a string');
  if (typeof o.report_data !== 'string' || o.report_data.length % 4 !== 0 || !B64.test(o.report_data)) {
    throw new VerificationError('ERR_SAMPLE_EVIDENCE', 'sample evidence: "report_data" must be standard base64');
  }
  return { svn: o.svn, reportData: new Uint8Array(Buffer.from(o.report_data, 'base64')), reportDataB64: o.report_data };
}

function checkReportData(ev: SampleEvidence, expected: Uint8Array | undefined): void {
  if (expected === undefined) return;
  const ok = bytesEqual(ev.reportData, expected);
  if (!ok) throw new VerificationError('ERR_REPORT_DATA_MISMATCH', 'sample evidence: report_data does not match the expected runtime data digest');
}

export class SampleVerifier implements Verifier {
  async verify(input: VerifyInput): Promise<ClaimSet[]> {
    const ev = parseSampleEvidence(input.evidence);
    checkReportData(ev, input.expectedReportData);
    const claims: JsonObject = {
      svn: ev.svn,
      report_data: ev.reportDataB64,
      launch_digest: 'abcde',
      platform_version: { major: 1, minor: 4 },
      debug: false,
    };
    // Trustee echoes the expected init-data digest (the sample TEE has nowhere to measure it).
    if (input.expectedInitDataHash !== undefined) claims.init_data = Buffer.from(input.expectedInitDataHash).toString('base64');
    return [{ claims, class: 'cpu' }];
  }
}

export class SampleDeviceVerifier implements Verifier {
  async verify(input: VerifyInput): Promise<ClaimSet[]> {
    const ev = parseSampleEvidence(input.evidence);
    checkReportData(ev, input.expectedReportData);
    return [{ claims: { svn: ev.svn, report_data: ev.reportDataB64 }, class: 'gpu' }];
  }
}
