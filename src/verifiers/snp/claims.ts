/**
 * Claims under `snp`: Trustee's names and types exactly (numbers for ABI and TCB components, booleans for policy and
 * platform bits, lowercase hex for byte fields — Trustee's default CPU policy compares `policy_debug_allowed == false`),
 * plus ours.
 */
import type { JsonObject } from '../types.js';
import { decodePlatformInfo, decodePolicy, decodeTcb, type Generation, type ParsedReport, type TcbVersion } from './layout.js';
import type { EndorsementKind } from './kds.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function tcbClaims(prefix: string, t: TcbVersion): JsonObject {
  const out: JsonObject = {
    [`${prefix}_bootloader`]: t.bootloader,
    [`${prefix}_tee`]: t.tee,
    [`${prefix}_snp`]: t.snp,
    [`${prefix}_microcode`]: t.microcode,
  };
  if (t.fmc !== undefined) out[`${prefix}_fmc`] = t.fmc;
  return out;
}

export function snpClaims(report: ParsedReport, gen: Generation, signingKey: EndorsementKind): JsonObject {
  const p = decodePolicy(report.policy);
  const pi = decodePlatformInfo(report.platformInfo);
  return {
    policy_abi_major: p.abiMajor,
    policy_abi_minor: p.abiMinor,
    policy_smt_allowed: p.smtAllowed,
    policy_migrate_ma: p.migrateMa,
    policy_debug_allowed: p.debugAllowed,
    policy_single_socket: p.singleSocket,
    ...tcbClaims('reported_tcb', decodeTcb(report.reportedTcb, gen)),
    platform_tsme_enabled: pi.tsmeEnabled,
    platform_smt_enabled: pi.smtEnabled,
    measurement: hex(report.measurement),
    report_data: hex(report.reportData),
    init_data: hex(report.hostData),
    chip_id: hex(report.chipId),
    // ours
    report_version: report.version,
    guest_svn: report.guestSvn,
    family_id: hex(report.familyId),
    image_id: hex(report.imageId),
    report_id: hex(report.reportId),
    report_id_ma: hex(report.reportIdMa),
    id_key_digest: hex(report.idKeyDigest),
    author_key_digest: hex(report.authorKeyDigest),
    vmpl: report.vmpl,
    signing_key: signingKey,
    generation: gen,
    ...tcbClaims('current_tcb', decodeTcb(report.currentTcb, gen)),
    ...tcbClaims('committed_tcb', decodeTcb(report.committedTcb, gen)),
    ...tcbClaims('launch_tcb', decodeTcb(report.launchTcb, gen)),
  };
}
