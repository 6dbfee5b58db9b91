/**
 * TCB status evaluation as Intel's Quote Verification Library (QVL) does it: pure functions from the quote's
 * TCB values + verified collateral to a status and advisory IDs. No signatures or dates here (verify.ts).
 */
import { timingSafeEqual } from 'node:crypto';
import { VerificationError } from '../types.js';
import type { IsvTcbLevel, QeIdentity, TcbInfo, TcbLevel, TcbStatus, TdxModule, TdxModuleIdentity } from './collateral.js';
import type { PckTcb } from './pck.js';
import type { SgxReportBody, TdReportBody } from './quote.js';

/** QVL's final verdicts (`sgx_ql_qv_result_t`), with the TDX relaunch variants. */
export type QuoteVerdict =
  | 'UpToDate'
  | 'SWHardeningNeeded'
  | 'ConfigurationNeeded'
  | 'ConfigurationAndSWHardeningNeeded'
  | 'OutOfDate'
  | 'OutOfDateConfigurationNeeded'
  | 'TDRelaunchAdvised'
  | 'TDRelaunchAdvisedConfigurationNeeded'
  | 'Revoked';

/** Trustee's names for the accepted results (QVL `SGX_QL_QV_RESULT_*` suffixes). */
export const VERDICT_QVL_NAME: Record<QuoteVerdict, string> = {
  UpToDate: 'OK',
  SWHardeningNeeded: 'SW_HARDENING_NEEDED',
  ConfigurationNeeded: 'CONFIG_NEEDED',
  ConfigurationAndSWHardeningNeeded: 'CONFIG_AND_SW_HARDENING_NEEDED',
  OutOfDate: 'OUT_OF_DATE',
  OutOfDateConfigurationNeeded: 'OUT_OF_DATE_CONFIG_NEEDED',
  TDRelaunchAdvised: 'TD_RELAUNCH_ADVISED',
  TDRelaunchAdvisedConfigurationNeeded: 'TD_RELAUNCH_ADVISED_CONFIG_NEEDED',
  Revoked: 'REVOKED',
};

export class TcbError extends VerificationError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'TcbError';
  }
}

export interface TcbEvaluation {
  verdict: QuoteVerdict;
  platformStatus: TcbStatus;
  tcbDate: string;
  qeStatus: TcbStatus;
  qeTcbDate: string;
  tdxModuleStatus?: TcbStatus;
  advisoryIds: string[];
}

function eq(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function masked(v: Uint8Array, mask: Uint8Array): Uint8Array {
  return v.map((b, i) => b & mask[i]);
}

/** QE identity: MRSIGNER, ISVPRODID, masked MISCSELECT and ATTRIBUTES must match; ISVSVN picks the level. */
export function evaluateQeIdentity(qe: SgxReportBody, id: QeIdentity): IsvTcbLevel {
  if (!eq(qe.mrSigner, id.mrSigner)) throw new TcbError('ERR_DCAP_QE_IDENTITY', 'QE MRSIGNER does not match the QE identity');
  if (qe.isvProdId !== id.isvProdId) throw new TcbError('ERR_DCAP_QE_IDENTITY', 'QE ISVPRODID does not match the QE identity');
  if (((qe.miscSelect & id.miscSelectMask) >>> 0) !== ((id.miscSelect & id.miscSelectMask) >>> 0)) {
    throw new TcbError('ERR_DCAP_QE_IDENTITY', 'QE MISCSELECT does not match the QE identity');
  }
  if (!eq(masked(qe.attributes, id.attributesMask), masked(id.attributes, id.attributesMask))) {
    throw new TcbError('ERR_DCAP_QE_IDENTITY', 'QE ATTRIBUTES do not match the QE identity');
  }
  // Levels are sorted by Intel from newest to oldest; the first one at or below the QE's ISVSVN applies.
  const level = id.tcbLevels.find((l) => qe.isvSvn >= l.isvSvn);
  if (!level) throw new TcbError('ERR_DCAP_TCB_NOT_SUPPORTED', `QE ISVSVN ${qe.isvSvn} matches no QE identity TCB level`);
  return level;
}

/**
 * TDX: bytes 0 and 1 of TEE_TCB_SVN are the TDX module's SVN and major version. When the major version is > 0
 * they are judged by the module identity (TDX_<major>), so the platform comparison skips them (QVL
 * `isTdxTcbHigherOrEqual`).
 */
function tdxComponentsOk(teeTcbSvn: Uint8Array, level: TcbLevel): boolean {
  const comps = level.tdxTcbComponents;
  if (!comps) return false;
  for (let i = teeTcbSvn[1] > 0 ? 2 : 0; i < 16; i++) if (teeTcbSvn[i] < comps[i]) return false;
  return true;
}

function sgxOk(pck: PckTcb, level: TcbLevel): boolean {
  return level.sgxTcbComponents.every((svn, i) => pck.sgxTcbComponents[i] >= svn) && pck.pceSvn >= level.pceSvn;
}

/**
 * QVL `matchTcbLevels`: the SGX level is the first (newest) level the PCK's SGX components and PCESVN reach; for
 * TDX, the TDX level is the first that the TEE_TCB_SVN reaches as well. Intel lists levels newest first.
 */
export function selectTcbLevels(info: TcbInfo, pck: PckTcb, td?: TdReportBody): { sgx: TcbLevel; tdx?: TcbLevel } {
  const sgx = info.tcbLevels.find((l) => sgxOk(pck, l));
  if (!sgx) throw new TcbError('ERR_DCAP_TCB_NOT_SUPPORTED', 'the platform TCB matches no level of the TCB Info');
  if (!td) return { sgx };
  const tdx = info.tcbLevels.find((l) => sgxOk(pck, l) && tdxComponentsOk(td.teeTcbSvn, l));
  if (!tdx) throw new TcbError('ERR_DCAP_TCB_NOT_SUPPORTED', 'the TDX TCB (TEE_TCB_SVN) matches no level of the TCB Info');
  return { sgx, tdx };
}

function findModuleIdentity(info: TcbInfo, major: number): TdxModuleIdentity | undefined {
  const id = `TDX_${major.toString(16).toUpperCase().padStart(2, '0')}`;
  return info.tdxModuleIdentities?.find((m) => m.id.toUpperCase() === id);
}

/**
 * TDX module identity: MRSIGNER_SEAM and masked SEAM_ATTRIBUTES against `tdxModule` (major version 0) or
 * `TDX_<major>`, then (major > 0) the module's own TCB level from its SVN. Returns undefined for major version 0,
 * whose status QVL treats as UpToDate.
 */
export function evaluateTdxModule(info: TcbInfo, td: TdReportBody): IsvTcbLevel | undefined {
  const major = td.teeTcbSvn[1];
  const ident: TdxModule | undefined = major === 0 ? info.tdxModule : findModuleIdentity(info, major);
  const name = major === 0 ? 'tdxModule' : `TDX_${major.toString(16).toUpperCase().padStart(2, '0')}`;
  if (!ident) throw new TcbError('ERR_DCAP_TDX_MODULE', `TCB Info has no TDX module identity ${name}`);
  if (!eq(td.mrSignerSeam, ident.mrSigner)) throw new TcbError('ERR_DCAP_TDX_MODULE', `MRSIGNER_SEAM does not match ${name}`);
  if (!eq(masked(td.seamAttributes, ident.attributesMask), masked(ident.attributes, ident.attributesMask))) {
    throw new TcbError('ERR_DCAP_TDX_MODULE', `SEAM_ATTRIBUTES do not match ${name}`);
  }
  if (major === 0) return undefined;
  const level = (ident as TdxModuleIdentity).tcbLevels.find((l) => td.teeTcbSvn[0] >= l.isvSvn);
  if (!level) throw new TcbError('ERR_DCAP_TCB_NOT_SUPPORTED', `TDX module SVN ${td.teeTcbSvn[0]} matches no level of ${name}`);
  return level;
}

type Verdict = QuoteVerdict;

function isConfig(s: Verdict): boolean {
  return (
    s === 'ConfigurationNeeded' ||
    s === 'ConfigurationAndSWHardeningNeeded' ||
    s === 'OutOfDateConfigurationNeeded' ||
    s === 'TDRelaunchAdvisedConfigurationNeeded'
  );
}

/** QVL `convergeTcbStatusWithTdxModuleStatus` / `convergeTcbStatusWithQeTcbStatus` (same rule for both). */
function converge(level: Verdict, other: TcbStatus): Verdict {
  if (other === 'OutOfDate') {
    if (level === 'UpToDate' || level === 'SWHardeningNeeded') return 'OutOfDate';
    if (level === 'ConfigurationNeeded' || level === 'ConfigurationAndSWHardeningNeeded') return 'OutOfDateConfigurationNeeded';
  }
  if (other === 'Revoked') return 'Revoked';
  return level;
}

/**
 * QVL `checkForRelaunch` (TDX 1.5 bodies): the TD's TCB is out of date only because of its TDX module, and the
 * module now running (TEE_TCB_SVN2) is at the latest level: relaunching the TD would make it current.
 */
function relaunch(info: TcbInfo, svn2: Uint8Array, sgx: Verdict, tdx: Verdict, module: TcbStatus, qe: TcbStatus): Verdict {
  if (qe === 'OutOfDate' || qe === 'Revoked') return tdx;
  if (!(sgx === 'UpToDate' || sgx === 'SWHardeningNeeded' || sgx === 'ConfigurationNeeded' || sgx === 'ConfigurationAndSWHardeningNeeded')) return tdx;
  if (!(tdx === 'OutOfDate' || tdx === 'OutOfDateConfigurationNeeded') || module !== 'OutOfDate') return tdx;
  const latest = info.tcbLevels[0];
  const latestTdx = latest?.tdxTcbComponents;
  if (!latestTdx) throw new TcbError('ERR_DCAP_TCB_NOT_SUPPORTED', 'TCB Info has no TDX TCB level');
  let current: boolean;
  if (svn2[1] === 0) {
    current = svn2[0] >= latestTdx[0] && svn2[2] >= latestTdx[2];
  } else {
    const ident2 = findModuleIdentity(info, svn2[1]);
    if (!ident2) throw new TcbError('ERR_DCAP_TDX_MODULE', `TCB Info has no TDX module identity for TEE_TCB_SVN2 major ${svn2[1]}`);
    const latestModule = ident2.tcbLevels[0];
    if (!latestModule) throw new TcbError('ERR_DCAP_TCB_NOT_SUPPORTED', 'TDX module identity has no TCB level');
    current = svn2[0] >= latestModule.isvSvn && svn2[2] >= latestTdx[2];
  }
  if (!current) return tdx;
  return isConfig(sgx) || isConfig(tdx) ? 'TDRelaunchAdvisedConfigurationNeeded' : 'TDRelaunchAdvised';
}

export interface TcbInputs {
  pck: PckTcb;
  qeReport: SgxReportBody;
  td?: TdReportBody;
  tcbInfo: TcbInfo;
  qeIdentity: QeIdentity;
}

/** QVL `checkTcbLevel` with the QE identity folded in. */
export function evaluateTcb(x: TcbInputs): TcbEvaluation {
  const qeLevel = evaluateQeIdentity(x.qeReport, x.qeIdentity);
  const levels = selectTcbLevels(x.tcbInfo, x.pck, x.td);
  const sgxStatus: Verdict = levels.sgx.tcbStatus;
  let verdict: Verdict;
  let moduleLevel: IsvTcbLevel | undefined;
  const level = levels.tdx ?? levels.sgx;
  if (!x.td || !levels.tdx) {
    verdict = converge(sgxStatus, qeLevel.tcbStatus);
  } else {
    moduleLevel = evaluateTdxModule(x.tcbInfo, x.td);
    const moduleStatus: TcbStatus = moduleLevel?.tcbStatus ?? 'UpToDate';
    let tdxStatus = converge(levels.tdx.tcbStatus, moduleStatus);
    if (tdxStatus === 'Revoked') verdict = 'Revoked';
    else {
      if (x.td.teeTcbSvn2) tdxStatus = relaunch(x.tcbInfo, x.td.teeTcbSvn2, sgxStatus, tdxStatus, moduleStatus, qeLevel.tcbStatus);
      verdict = converge(tdxStatus, qeLevel.tcbStatus);
    }
  }
  const advisoryIds = [...new Set([...level.advisoryIds, ...(moduleLevel?.advisoryIds ?? []), ...qeLevel.advisoryIds])].sort();
  return {
    verdict,
    platformStatus: level.tcbStatus,
    tcbDate: level.tcbDate,
    qeStatus: qeLevel.tcbStatus,
    qeTcbDate: qeLevel.tcbDate,
    tdxModuleStatus: x.td ? (moduleLevel?.tcbStatus ?? 'UpToDate') : undefined,
    advisoryIds,
  };
}
