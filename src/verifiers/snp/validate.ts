/**
 * Field checks against expectations: the runtime-data / init-data binding, VMPL, report version, and the optional
 * expectations from config (unset = not checked). Runs only on a report whose signature already verified.
 */
import { VerificationError } from '../types.js';
import type { SnpVerifierConfig } from './config.js';
import { decodePlatformInfo, decodePolicy, decodeTcb, type Generation, type ParsedReport, type TcbComponent } from './layout.js';
import { bytesEqual } from '../../util/bytes.js';

function fail(code: string, msg: string): never {
  throw new VerificationError(code, msg);
}

/** Trustee's `regularize_data`: right-pad with zeros to n bytes, or keep the first n. */
export function regularize(data: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(data.subarray(0, n));
  return out;
}

const eq = bytesEqual;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export interface Binding {
  expectedReportData?: Uint8Array;
  expectedInitDataHash?: Uint8Array;
}

export function validateReport(report: ParsedReport, gen: Generation, cfg: SnpVerifierConfig, binding: Binding): void {
  if (report.version < cfg.minReportVersion) fail('SNP_REPORT_VERSION', `SNP report version ${report.version} is below the minimum ${cfg.minReportVersion}`);
  if (report.vmpl !== cfg.vmpl) fail('SNP_VMPL', `report VMPL ${report.vmpl}, expected ${cfg.vmpl}`);
  if (binding.expectedReportData && !eq(regularize(binding.expectedReportData, 64), report.reportData)) {
    fail('SNP_REPORT_DATA_MISMATCH', 'REPORT_DATA does not match the expected runtime data');
  }
  if (binding.expectedInitDataHash && !eq(regularize(binding.expectedInitDataHash, 32), report.hostData)) {
    fail('SNP_HOST_DATA_MISMATCH', 'HOST_DATA does not match the expected init-data digest');
  }
  const x = cfg.expect;
  const policy = decodePolicy(report.policy);
  if (x.rejectDebug && policy.debugAllowed) fail('SNP_POLICY', 'guest policy allows debugging');
  if (x.rejectMigrationAgent && policy.migrateMa) fail('SNP_POLICY', 'guest policy allows a migration agent');
  if (x.requireSingleSocket && !policy.singleSocket) fail('SNP_POLICY', 'guest policy does not require a single socket');
  if (x.requireSmtDisabled && (policy.smtAllowed || decodePlatformInfo(report.platformInfo).smtEnabled)) {
    fail('SNP_POLICY', 'SMT is allowed by the guest policy or enabled on the platform');
  }
  if (x.minAbi && (policy.abiMajor < x.minAbi.major || (policy.abiMajor === x.minAbi.major && policy.abiMinor < x.minAbi.minor))) {
    fail('SNP_POLICY', `guest policy ABI ${policy.abiMajor}.${policy.abiMinor} is below ${x.minAbi.major}.${x.minAbi.minor}`);
  }
  if (x.minGuestSvn !== undefined && report.guestSvn < x.minGuestSvn) fail('SNP_GUEST_SVN', `guest SVN ${report.guestSvn} is below ${x.minGuestSvn}`);
  // Component by component: a packed-integer comparison would let a lower bootloader hide behind a higher microcode.
  const tcb = decodeTcb(report.reportedTcb, gen);
  for (const [c, min] of Object.entries(x.minTcb) as [TcbComponent, number][]) {
    const v = tcb[c];
    if (c === 'fmc' && gen !== 'Turin') continue;
    if (v === undefined || v < min) fail('SNP_TCB_TOO_LOW', `reported_tcb.${c} ${v ?? 'absent'} is below the minimum ${min}`);
  }
  const lists: [string[] | undefined, Uint8Array, string][] = [
    [x.allowedMeasurements, report.measurement, 'MEASUREMENT'],
    [x.allowedHostData, report.hostData, 'HOST_DATA'],
    [x.allowedReportIds, report.reportId, 'REPORT_ID'],
    [x.allowedFamilyIds, report.familyId, 'FAMILY_ID'],
    [x.allowedImageIds, report.imageId, 'IMAGE_ID'],
    [x.allowedIdKeyDigests, report.idKeyDigest, 'ID_KEY_DIGEST'],
    [x.allowedAuthorKeyDigests, report.authorKeyDigest, 'AUTHOR_KEY_DIGEST'],
  ];
  for (const [allowed, value, name] of lists) {
    if (allowed && !allowed.includes(hex(value))) fail('SNP_NOT_ALLOWED', `${name} is not in the configured allow-list`);
  }
}
