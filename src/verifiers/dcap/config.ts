/**
 * `verifier_config.dcap_verifier` (Trustee name) plus Keybroker's documented keys; decoded once into a typed
 * DcapConfig. Unknown keys are refused so that a typo in an insecure switch cannot silently do nothing.
 */
import { ConfigError } from '../../util/config-error.js';
import type { JsonObject } from '../types.js';
import type { TcbUpdateType } from './collateral.js';
import type { QuoteVerdict } from './tcb.js';

export const ALL_VERDICTS: readonly QuoteVerdict[] = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
  'TDRelaunchAdvised',
  'TDRelaunchAdvisedConfigurationNeeded',
  'Revoked',
];

/** Trustee accepts every result except Revoked (and the terminal errors, which are exceptions here). */
export const DEFAULT_ACCEPTED: readonly QuoteVerdict[] = ALL_VERDICTS.filter((v) => v !== 'Revoked');

export interface DcapConfig {
  /** `file:///path/collateral.json`, or a PCS/PCCS base URL. Absent → no collateral → verification fails. */
  collateralService?: string;
  tcbUpdateType: TcbUpdateType;
  acceptedTcbStatuses: ReadonlySet<QuoteVerdict>;
  allowExpiredCollateral: boolean;
  allowMissingCrls: boolean;
  allowExpiredTcbSigningCert: boolean;
  minTcbEvaluationDataNumber?: number;
  /** Seconds a fetched PCS/PCCS collateral item is reused (still bounded by its own nextUpdate). */
  collateralCacheSeconds: number;
}

const KEYS = new Set([
  'collateral_service',
  'tcb_update_type',
  'accepted_tcb_statuses',
  'allow_expired_collateral',
  'insecure_allow_missing_crls',
  'insecure_allow_expired_tcb_signing_cert',
  'collateral_cache_seconds',
  'min_tcb_evaluation_data_number',
]);

const PREFIX = 'attestation_service.verifier_config.dcap_verifier';

function flag(o: JsonObject, k: string): boolean {
  const v = o[k];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new ConfigError(`${PREFIX}.${k}`, 'must be true or false');
  return v;
}

export function parseDcapConfig(verifierConfig: JsonObject, warn: (msg: string) => void = () => {}): DcapConfig {
  const raw = verifierConfig.dcap_verifier;
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) {
    throw new ConfigError(PREFIX, 'must be a table');
  }
  const o: JsonObject = (raw as JsonObject | undefined) ?? {};
  for (const k of Object.keys(o)) if (!KEYS.has(k)) throw new ConfigError(`${PREFIX}.${k}`, 'unknown key');
  const svc = o.collateral_service;
  if (svc !== undefined && (typeof svc !== 'string' || !/^(file:\/\/\/|https?:\/\/)/.test(svc))) {
    throw new ConfigError(`${PREFIX}.collateral_service`, 'must be a file:/// URL or an http(s) URL');
  }
  const upd = o.tcb_update_type ?? 'standard';
  if (upd !== 'early' && upd !== 'standard') throw new ConfigError(`${PREFIX}.tcb_update_type`, 'must be "early" or "standard"');
  let accepted: QuoteVerdict[] = [...DEFAULT_ACCEPTED];
  if (o.accepted_tcb_statuses !== undefined) {
    const a = o.accepted_tcb_statuses;
    if (!Array.isArray(a) || !a.every((x) => typeof x === 'string' && (ALL_VERDICTS as readonly string[]).includes(x))) {
      throw new ConfigError(`${PREFIX}.accepted_tcb_statuses`, `must be a list of ${ALL_VERDICTS.join(', ')}`);
    }
    accepted = a as QuoteVerdict[];
  }
  const cacheSeconds = o.collateral_cache_seconds ?? 3600;
  if (typeof cacheSeconds !== 'number' || !Number.isInteger(cacheSeconds) || cacheSeconds < 0) {
    throw new ConfigError(`${PREFIX}.collateral_cache_seconds`, 'must be a non-negative integer');
  }
  const floor = o.min_tcb_evaluation_data_number;
  if (floor !== undefined && (typeof floor !== 'number' || !Number.isInteger(floor) || floor < 0)) {
    throw new ConfigError(`${PREFIX}.min_tcb_evaluation_data_number`, 'must be a non-negative integer');
  }
  const cfg: DcapConfig = {
    collateralService: svc as string | undefined,
    tcbUpdateType: upd,
    acceptedTcbStatuses: new Set(accepted),
    allowExpiredCollateral: flag(o, 'allow_expired_collateral'),
    allowMissingCrls: flag(o, 'insecure_allow_missing_crls'),
    allowExpiredTcbSigningCert: flag(o, 'insecure_allow_expired_tcb_signing_cert'),
    collateralCacheSeconds: cacheSeconds,
    minTcbEvaluationDataNumber: floor as number | undefined,
  };
  if (cfg.acceptedTcbStatuses.has('Revoked')) warn(`${PREFIX}.accepted_tcb_statuses includes Revoked: revoked platforms will verify`);
  if (cfg.allowExpiredCollateral) warn(`${PREFIX}.allow_expired_collateral is set: stale TCB Info / QE identity / CRLs are accepted`);
  if (cfg.allowMissingCrls) warn(`${PREFIX}.insecure_allow_missing_crls is set: revoked PCK and CA certificates will not be detected`);
  if (cfg.allowExpiredTcbSigningCert) {
    warn(`${PREFIX}.insecure_allow_expired_tcb_signing_cert is set: the TCB signing certificate's validity window is not checked`);
  }
  return cfg;
}
