/**
 * Attestation Service configuration (Trustee's AS config, specs/trustee.md §3.4). The same block is read from the
 * standalone AS JSON file and from the KBS `[attestation_service]` table (minus `type`/`timeout`).
 * Unknown keys and bad values throw ConfigError naming the key: a typo must not silently fall back to a default.
 */
import type { JsonObject } from '../verifiers/types.js';
import { ConfigError } from '../util/config-error.js';

export type RvpsConfig =
  | { type: 'BuiltIn'; extractors: JsonObject; storageType?: string }
  | { type: 'GrpcRemote'; address: string };

export interface SignerConfig {
  keyPath: string;
  certPath?: string;
  certUrl?: string;
}

export interface TokenBrokerConfig {
  durationMin: number;
  issuerName: string;
  developerName: string;
  buildName: string;
  profileName: string;
  signer?: SignerConfig;
  /** false drops `additional-evidence` from `runtime_data_claims` (keeps tokens small). */
  verboseToken: boolean;
}

export interface AsConfig {
  rvps: RvpsConfig;
  tokenBroker: TokenBrokerConfig;
  /** Passed as-is to verifier factories (Trustee names: `snp_verifier`, `dcap_verifier`, …). */
  verifierConfig: JsonObject;
  /** The standalone AS's `storage_backend` block, untouched (the storage module parses it). */
  storageBackend?: JsonObject;
  /** `storage_type` inside the KBS-embedded block (Trustee accepts it; the KBS's own backend is used). */
  storageType?: string;
  workDir?: string;
}

export const AS_VERSION = '0.1.0';

export const DEFAULT_TOKEN_BROKER: TokenBrokerConfig = {
  durationMin: 5,
  issuerName: 'CoCo-Attestation-Service',
  developerName: 'https://confidentialcontainers.org',
  buildName: `attestation-service ${AS_VERSION}`,
  profileName: 'tag:github.com,2024:confidential-containers/Trustee',
  verboseToken: true,
};

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function table(raw: unknown, key: string): Record<string, unknown> {
  if (!isObject(raw)) throw new ConfigError(key, 'must be a table/object');
  return raw;
}

function rejectUnknown(obj: Record<string, unknown>, allowed: string[], where: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) throw new ConfigError(join(where, k), 'unknown key');
  }
}

function join(where: string, k: string): string {
  return where ? `${where}.${k}` : k;
}

function str(obj: Record<string, unknown>, k: string, where: string): string | undefined {
  const v = obj[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new ConfigError(join(where, k), 'must be a non-empty string');
  return v;
}

function parseRvps(raw: unknown, where: string): RvpsConfig {
  const o = table(raw, where);
  const type = o.type ?? 'BuiltIn';
  if (type === 'BuiltIn') {
    rejectUnknown(o, ['type', 'extractors', 'storage_type'], where);
    const extractors = o.extractors === undefined ? {} : (table(o.extractors, join(where, 'extractors')) as JsonObject);
    for (const name of Object.keys(extractors)) {
      if (name !== 'swid_extractor') throw new ConfigError(join(join(where, 'extractors'), name), 'unknown extractor');
    }
    const storageType = str(o, 'storage_type', where);
    return storageType === undefined ? { type, extractors } : { type, extractors, storageType };
  }
  if (type === 'GrpcRemote') {
    rejectUnknown(o, ['type', 'address'], where);
    const address = str(o, 'address', where) ?? '127.0.0.1:50003';
    return { type, address };
  }
  throw new ConfigError(join(where, 'type'), 'must be "BuiltIn" or "GrpcRemote"');
}

function parseBroker(raw: unknown, where: string): TokenBrokerConfig {
  const o = table(raw, where);
  rejectUnknown(
    o,
    ['type', 'duration_min', 'issuer_name', 'developer_name', 'build_name', 'profile_name', 'signer', 'verbose_token'],
    where,
  );
  if (o.type !== undefined && o.type !== 'Ear') throw new ConfigError(join(where, 'type'), 'only "Ear" tokens are issued');
  const out: TokenBrokerConfig = { ...DEFAULT_TOKEN_BROKER };
  if (o.duration_min !== undefined) {
    const d = o.duration_min;
    if (typeof d !== 'number' || !Number.isInteger(d) || d <= 0 || d > 525600) {
      throw new ConfigError(join(where, 'duration_min'), 'must be a positive integer number of minutes (at most one year)');
    }
    out.durationMin = d;
  }
  out.issuerName = str(o, 'issuer_name', where) ?? out.issuerName;
  out.developerName = str(o, 'developer_name', where) ?? out.developerName;
  out.buildName = str(o, 'build_name', where) ?? out.buildName;
  out.profileName = str(o, 'profile_name', where) ?? out.profileName;
  if (o.verbose_token !== undefined) {
    if (typeof o.verbose_token !== 'boolean') throw new ConfigError(join(where, 'verbose_token'), 'must be a boolean');
    out.verboseToken = o.verbose_token;
  }
  if (o.signer !== undefined) {
    const sw = join(where, 'signer');
    const s = table(o.signer, sw);
    rejectUnknown(s, ['key_path', 'cert_path', 'cert_url'], sw);
    const keyPath = str(s, 'key_path', sw);
    if (keyPath === undefined) throw new ConfigError(join(sw, 'key_path'), 'is required');
    const signer: SignerConfig = { keyPath };
    const certPath = str(s, 'cert_path', sw);
    const certUrl = str(s, 'cert_url', sw);
    if (certPath !== undefined) signer.certPath = certPath;
    if (certUrl !== undefined) {
      try {
        new URL(certUrl);
      } catch {
        throw new ConfigError(join(sw, 'cert_url'), 'must be a URL');
      }
      signer.certUrl = certUrl;
    }
    out.signer = signer;
  }
  return out;
}

/**
 * Parse an AS config block. `where` is the dotted prefix used in error messages (`attestation_service` inside the
 * KBS config, `""` for the standalone file).
 */
export function parseAsConfig(raw: unknown, where: string): AsConfig {
  const o = raw === undefined ? {} : table(raw, where);
  rejectUnknown(
    o,
    ['rvps_config', 'attestation_token_broker', 'verifier_config', 'storage_type', 'storage_backend', 'work_dir', 'timeout'],
    where,
  );
  const cfg: AsConfig = {
    rvps: o.rvps_config === undefined ? { type: 'BuiltIn', extractors: {} } : parseRvps(o.rvps_config, join(where, 'rvps_config')),
    tokenBroker: o.attestation_token_broker === undefined ? { ...DEFAULT_TOKEN_BROKER } : parseBroker(o.attestation_token_broker, join(where, 'attestation_token_broker')),
    verifierConfig: o.verifier_config === undefined ? {} : (table(o.verifier_config, join(where, 'verifier_config')) as JsonObject),
  };
  if (o.storage_backend !== undefined) cfg.storageBackend = table(o.storage_backend, join(where, 'storage_backend')) as JsonObject;
  const st = str(o, 'storage_type', where);
  if (st !== undefined) cfg.storageType = st;
  const wd = str(o, 'work_dir', where);
  if (wd !== undefined) cfg.workDir = wd;
  return cfg;
}
