/**
 * `verifier_config.snp_verifier`: Trustee's keys (`vcek_sources`) plus ours. Decoded once into a typed struct;
 * anything malformed is a ConfigError naming the key.
 */
import { ConfigError } from '../../util/config-error.js';
import type { JsonObject } from '../types.js';
import { TCB_COMPONENTS, type TcbComponent } from './layout.js';

export const DEFAULT_KDS_BASE_URL = 'https://kdsintf.amd.com';
/** Trustee's default OfflineStore location. */
export const DEFAULT_OFFLINE_STORE = '/opt/confidential-containers/attestation-service/kds-store';

export type VcekSource = { type: 'KDS'; baseUrl: string } | { type: 'OfflineStore'; path: string };

/** How ASK/ASVK revocation is checked. `required` fails closed when no fresh, valid CRL can be had. */
export type CrlMode = 'required' | 'best-effort' | 'off';

/** Optional expectations; unset = not checked (go-sev-guest `validate.Options`). */
export interface SnpExpectations {
  minTcb: Partial<Record<TcbComponent, number>>;
  rejectDebug: boolean;
  rejectMigrationAgent: boolean;
  requireSingleSocket: boolean;
  /** Refuse when the platform runs with SMT enabled or the guest policy allows SMT. */
  requireSmtDisabled: boolean;
  minGuestSvn?: number;
  minAbi?: { major: number; minor: number };
  allowedMeasurements?: string[];
  allowedHostData?: string[];
  allowedReportIds?: string[];
  allowedFamilyIds?: string[];
  allowedImageIds?: string[];
  allowedIdKeyDigests?: string[];
  allowedAuthorKeyDigests?: string[];
}

export interface SnpVerifierConfig {
  vcekSources: VcekSource[];
  kdsBaseUrl: string;
  trustAnchorsDir?: string;
  crl: CrlMode;
  vmpl: number;
  minReportVersion: number;
  allowMaskedChipId: boolean;
  expect: SnpExpectations;
}

const K = 'attestation_service.verifier_config.snp_verifier';

function obj(v: unknown, key: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(key, 'must be an object');
  return v as Record<string, unknown>;
}

function str(v: unknown, key: string): string {
  if (typeof v !== 'string' || v === '') throw new ConfigError(key, 'must be a non-empty string');
  return v;
}

function int(v: unknown, key: string, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) throw new ConfigError(key, `must be an integer 0..${max}`);
  return v;
}

function bool(v: unknown, key: string): boolean {
  if (typeof v !== 'boolean') throw new ConfigError(key, 'must be true or false');
  return v;
}

function hexList(v: unknown, key: string, bytes: number): string[] {
  if (!Array.isArray(v)) throw new ConfigError(key, 'must be an array of hex strings');
  return v.map((x, i) => {
    if (typeof x !== 'string' || !/^[0-9a-fA-F]*$/.test(x) || x.length !== bytes * 2) {
      throw new ConfigError(`${key}[${i}]`, `must be ${bytes * 2} hex digits`);
    }
    return x.toLowerCase();
  });
}

function baseUrl(v: unknown, key: string): string {
  const s = str(v, key);
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new ConfigError(key, 'must be an absolute URL');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new ConfigError(key, 'must be an http(s) URL');
  return s.replace(/\/+$/, '');
}

const KNOWN = new Set([
  'vcek_sources', 'kds_base_url', 'trust_anchors_dir', 'crl', 'vmpl', 'min_report_version', 'allow_masked_chip_id',
  'min_tcb', 'reject_debug', 'reject_migration_agent', 'require_single_socket', 'require_smt_disabled', 'min_guest_svn', 'min_abi',
  'allowed_measurements', 'allowed_host_data', 'allowed_report_ids', 'allowed_family_ids', 'allowed_image_ids',
  'allowed_id_key_digests', 'allowed_author_key_digests',
]);

/** Reads `verifier_config.snp_verifier` (the whole `verifier_config` object is passed in). */
export function parseSnpConfig(verifierConfig: JsonObject | undefined): SnpVerifierConfig {
  const raw = verifierConfig?.snp_verifier === undefined ? {} : obj(verifierConfig.snp_verifier, K);
  for (const k of Object.keys(raw)) if (!KNOWN.has(k)) throw new ConfigError(`${K}.${k}`, 'unknown key');
  const kdsBaseUrl = raw.kds_base_url === undefined ? DEFAULT_KDS_BASE_URL : baseUrl(raw.kds_base_url, `${K}.kds_base_url`);
  let vcekSources: VcekSource[] = [{ type: 'KDS', baseUrl: kdsBaseUrl }];
  if (raw.vcek_sources !== undefined) {
    if (!Array.isArray(raw.vcek_sources)) throw new ConfigError(`${K}.vcek_sources`, 'must be an array');
    vcekSources = raw.vcek_sources.map((s, i) => {
      const key = `${K}.vcek_sources[${i}]`;
      const o = obj(s, key);
      if (o.type === 'KDS') return { type: 'KDS', baseUrl: o.base_url === undefined ? kdsBaseUrl : baseUrl(o.base_url, `${key}.base_url`) };
      if (o.type === 'OfflineStore') return { type: 'OfflineStore', path: o.path === undefined ? DEFAULT_OFFLINE_STORE : str(o.path, `${key}.path`) };
      throw new ConfigError(`${key}.type`, 'must be "KDS" or "OfflineStore"');
    });
  }
  let crl: CrlMode = 'required';
  if (raw.crl !== undefined) {
    if (raw.crl !== 'required' && raw.crl !== 'best-effort' && raw.crl !== 'off') {
      throw new ConfigError(`${K}.crl`, 'must be "required", "best-effort" or "off"');
    }
    crl = raw.crl;
  }
  const minTcb: Partial<Record<TcbComponent, number>> = {};
  if (raw.min_tcb !== undefined) {
    const o = obj(raw.min_tcb, `${K}.min_tcb`);
    for (const [k, v] of Object.entries(o)) {
      if (!(TCB_COMPONENTS as readonly string[]).includes(k)) throw new ConfigError(`${K}.min_tcb.${k}`, 'unknown TCB component');
      minTcb[k as TcbComponent] = int(v, `${K}.min_tcb.${k}`, 255);
    }
  }
  const expect: SnpExpectations = {
    minTcb,
    rejectDebug: raw.reject_debug === undefined ? false : bool(raw.reject_debug, `${K}.reject_debug`),
    rejectMigrationAgent: raw.reject_migration_agent === undefined ? false : bool(raw.reject_migration_agent, `${K}.reject_migration_agent`),
    requireSingleSocket: raw.require_single_socket === undefined ? false : bool(raw.require_single_socket, `${K}.require_single_socket`),
    requireSmtDisabled: raw.require_smt_disabled === undefined ? false : bool(raw.require_smt_disabled, `${K}.require_smt_disabled`),
  };
  if (raw.min_guest_svn !== undefined) expect.minGuestSvn = int(raw.min_guest_svn, `${K}.min_guest_svn`, 0xffffffff);
  if (raw.min_abi !== undefined) {
    const o = obj(raw.min_abi, `${K}.min_abi`);
    expect.minAbi = { major: int(o.major, `${K}.min_abi.major`, 255), minor: int(o.minor, `${K}.min_abi.minor`, 255) };
  }
  const lists: [string, keyof SnpExpectations, number][] = [
    ['allowed_measurements', 'allowedMeasurements', 48],
    ['allowed_host_data', 'allowedHostData', 32],
    ['allowed_report_ids', 'allowedReportIds', 32],
    ['allowed_family_ids', 'allowedFamilyIds', 16],
    ['allowed_image_ids', 'allowedImageIds', 16],
    ['allowed_id_key_digests', 'allowedIdKeyDigests', 48],
    ['allowed_author_key_digests', 'allowedAuthorKeyDigests', 48],
  ];
  for (const [key, field, n] of lists) {
    if (raw[key] !== undefined) (expect as unknown as Record<string, string[]>)[field] = hexList(raw[key], `${K}.${key}`, n);
  }
  return {
    vcekSources,
    kdsBaseUrl,
    ...(raw.trust_anchors_dir === undefined ? {} : { trustAnchorsDir: str(raw.trust_anchors_dir, `${K}.trust_anchors_dir`) }),
    crl,
    vmpl: raw.vmpl === undefined ? 0 : int(raw.vmpl, `${K}.vmpl`, 3),
    minReportVersion: raw.min_report_version === undefined ? 2 : int(raw.min_report_version, `${K}.min_report_version`, 5),
    allowMaskedChipId: raw.allow_masked_chip_id === undefined ? false : bool(raw.allow_masked_chip_id, `${K}.allow_masked_chip_id`),
    expect,
  };
}
