/**
 * KBS configuration: Trustee's KBS config file (specs/trustee.md §6.1) in TOML, YAML or JSON (by extension), turned
 * once into a typed `KbsConfig`. Unknown keys and bad values stop start-up with a ConfigError naming the key; Trustee
 * keys for features this build does not have are refused as "not supported yet".
 *
 * Deliberate deviations (safer defaults, see docs/config.md):
 *  - No config file at all: HTTP on 127.0.0.1:8080, local-fs storage under the data dir, built-in AS, admin through
 *    the embedded Ed25519 key/token.
 *  - A config without `[admin]` also uses the embedded key (Trustee would allow everything); `InsecureAllowAll` only
 *    when named.
 *  - Plain HTTP is allowed without `insecure_http` only on loopback sockets.
 */
import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { isIP } from 'node:net';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { RE2JS } from 're2js';
import { ConfigError, notSupportedYet } from '../util/config-error.js';
import { TableReader, isTable, type RawTable } from './config-reader.js';
import { parseStorageBackendConfig, parseStorageType, type StorageBackendConfig, type StorageType } from '../storage/config.js';
import { parseCidr, type Cidr } from './rate-limit.js';
import { DEFAULT_AS_ADDR, DEFAULT_AS_POOL_SIZE, MAX_AS_POOL_SIZE, parseAsAddress, type AsAddress } from './remote-as/address.js';
import { checkItaCertsFile, parseItaBaseUrl, SecretString, type ItaConfig } from './remote-as/ita.js';

export type TlsVersion = '1.2' | '1.3';
export type TlsProfile = 'old' | 'intermediate' | 'modern' | 'custom';

export interface TlsSettings {
  profile: TlsProfile;
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
  ciphers?: string;
  groups?: string;
}

export interface SocketAddr {
  host: string;
  port: number;
}

export interface HttpServerConfig {
  sockets: SocketAddr[];
  insecureHttp: boolean;
  privateKeyPath?: string;
  certificatePath?: string;
  /** Bytes (config is MiB). */
  payloadRequestSize: number;
  tls: TlsSettings;
  /** Per-client `/auth` rate limit (ours); absent = off. */
  authRateLimit?: AuthRateLimitSettings;
  /**
   * `worker_count`: processes serving the sockets (bin/kbs forks them with node:cluster, src/kbs/cluster/). Absent
   * or 1 = one process, as a library `createKbs` always is.
   */
  workerCount?: number;
}

export interface AuthRateLimitSettings {
  /** `auth_rate_limit`: requests per second per client (> 0). */
  ratePerSec: number;
  /** `auth_rate_burst`: bucket size. */
  burst: number;
  /** `trusted_proxies`: peers whose X-Forwarded-For is believed. */
  trustedProxies: Cidr[];
}

export interface AttestationTokenConfig {
  trustedCertsPaths: string[];
  trustedJwkSets: string[];
  extraTeekeyPaths: string[];
  insecureHeaderJwk: boolean;
  /** (ours) `expected_issuer`: the token's `iss` must be one of these; absent = not checked. */
  expectedIssuers?: string[];
  /** (ours) `expected_audience`: the token's `aud` must contain one of these; absent = not checked. */
  expectedAudiences?: string[];
}

export interface BuiltinAsSettings {
  type: 'coco_as_builtin';
  /** Session lifetime in minutes (`[attestation_service].timeout`). */
  timeoutMin: number;
  /**
   * Cap on live RCAR sessions created by this instance (`[attestation_service].max_sessions`, our key; Trustee has
   * none). Further `/auth` calls answer 429 until sessions expire. Counted per instance, not per shared store.
   */
  maxSessions: number;
  /** Cap on the bytes those sessions hold in storage (`max_session_bytes`, ours), per instance. */
  maxSessionBytes: number;
  /** The rest of `[attestation_service]`, handed to the AS's own config parser. */
  asConfig: RawTable;
}

/**
 * `type = "coco_as_grpc"`: a remote Attestation Service over Trustee's gRPC API (specs/trustee.md §3.3), driven by
 * src/kbs/remote-as/grpc-client.ts. The KBS then needs `[attestation_token]` trust material for the AS's tokens.
 */
export interface GrpcAsSettings {
  type: 'coco_as_grpc';
  timeoutMin: number;
  maxSessions: number;
  maxSessionBytes: number;
  /** `as_addr` (default `http://127.0.0.1:50004`). */
  asAddr: AsAddress;
  /** `pool_size`: channels to the AS, used in turn (default 100, 1..1000). */
  poolSize: number;
  /** No AS config of our own here (kept in the union so `settings.asConfig` reads stay well-typed). */
  asConfig?: undefined;
}

/**
 * `type = "intel_ta"`: Intel Trust Authority (specs/trustee.md §6.8), driven by src/kbs/remote-as/ita.ts. Its tokens
 * are verified against `certs_file` at /attest; resource requests need the same JWKS in `trusted_jwk_sets`.
 */
export interface ItaAsSettings extends ItaConfig {
  type: 'intel_ta';
  timeoutMin: number;
  maxSessions: number;
  maxSessionBytes: number;
  asConfig?: undefined;
}

export type AttestationServiceSettings = BuiltinAsSettings | GrpcAsSettings | ItaAsSettings;

export interface IdentityProviderConfig {
  issuer?: string;
  audience?: string;
  publicKeyUri?: string;
  jwkSetUri?: string;
}

export interface AclRule {
  role: string;
  allowedEndpoints: string;
}

export type AdminConfig =
  | { mode: 'InsecureAllowAll' }
  | { mode: 'DenyAll' }
  | { mode: 'AuthenticatedAuthorization'; identityProviders: IdentityProviderConfig[]; acls: AclRule[] }
  /** Our default: the embedded Ed25519 key in the data directory, role `admin` may call every admin endpoint. */
  | { mode: 'Embedded' };

export type { StorageType };

export type ResourceSource = { kind: 'kvstorage' } | { kind: 'directory'; dirPath: string };

export type PluginConfig = { name: 'resource'; source: ResourceSource } | { name: 'sample'; item: string };

export interface JweSettings {
  /** RSA1_5 key wrap (deprecated; only when named in config). */
  allowRsa15: boolean;
}

export interface KbsConfig {
  /** Where the embedded admin key/token, local-fs storage and the AS signing key live. */
  dataDir: string;
  httpServer: HttpServerConfig;
  attestationToken: AttestationTokenConfig;
  /** Absent: resource-only KBS (passport mode, no /auth, /attest). */
  attestationService?: AttestationServiceSettings;
  admin: AdminConfig;
  storage: StorageBackendConfig;
  sessionStorageType?: StorageType;
  plugins: PluginConfig[];
  jwe: JweSettings;
  /** Warnings to log at start (insecure modes named in config). */
  warnings: string[];
  /** The file it came from, if any. */
  source?: string;
}

const MIB = 1024 * 1024;

/** Default `[attestation_service].max_sessions`: live RCAR sessions per instance. */
export const DEFAULT_MAX_SESSIONS = 100_000;
/**
 * Default `[attestation_service].max_session_bytes` (256 MiB per instance): a normal session is ~0.5 KiB, but an
 * `/auth` body may carry up to 64 KiB of extra-params, so the count cap alone would allow ~6 GiB.
 */
export const DEFAULT_MAX_SESSION_BYTES = 256 * 1024 * 1024;

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.KBS_DATA_DIR ?? './kbs-data');
}

/** Parse a config file's text by its extension. */
export function parseConfigText(text: string, fileName: string): unknown {
  const ext = extname(fileName).toLowerCase();
  try {
    if (ext === '.toml') return parseToml(text);
    if (ext === '.yaml' || ext === '.yml') return parseYaml(text);
    if (ext === '.json') return JSON.parse(text);
  } catch (e) {
    throw new ConfigError('', `cannot parse ${fileName}: ${(e as Error).message.split('\n')[0]}`);
  }
  throw new ConfigError('', `unsupported config file extension "${ext}" (use .toml, .yaml, .yml or .json)`);
}

export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): KbsConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('', `cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const cfg = parseKbsConfig(parseConfigText(text, path), env);
  cfg.source = path;
  return cfg;
}

/** The configuration used when no file is given. */
export function defaultKbsConfig(env: NodeJS.ProcessEnv = process.env): KbsConfig {
  const dataDir = defaultDataDir(env);
  return {
    dataDir,
    httpServer: {
      sockets: [{ host: '127.0.0.1', port: 8080 }],
      insecureHttp: false,
      payloadRequestSize: 2 * MIB,
      tls: { profile: 'intermediate', minVersion: '1.2', maxVersion: '1.3' },
    },
    attestationToken: { trustedCertsPaths: [], trustedJwkSets: [], extraTeekeyPaths: [], insecureHeaderJwk: false },
    attestationService: { type: 'coco_as_builtin', timeoutMin: 5, maxSessions: DEFAULT_MAX_SESSIONS, maxSessionBytes: DEFAULT_MAX_SESSION_BYTES, asConfig: {} },
    admin: { mode: 'Embedded' },
    storage: parseStorageBackendConfig({ storage_type: 'LocalFs', backends: { local_fs: { dir_path: resolve(dataDir, 'storage') } } }, { env }),
    // Sessions live minutes and are harmless to lose on restart: keep them in memory (Trustee's default) rather
    // than one fsynced file per /auth.
    sessionStorageType: 'Memory',
    plugins: [{ name: 'resource', source: { kind: 'kvstorage' } }],
    jwe: { allowRsa15: false },
    warnings: [],
  };
}

export function parseKbsConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): KbsConfig {
  if (!isTable(raw)) throw new ConfigError('', 'the config file must hold a table/object at the top level');
  const top = new TableReader(raw, '');
  const warnings: string[] = [];
  const dataDir = resolve(top.string('data_dir') ?? defaultDataDir(env));

  const attestationService = parseAttestationService(top.table('attestation_service'), top.has('attestation_service'), warnings);
  const httpServer = parseHttpServer(top.table('http_server'), warnings);
  const attestationToken = parseAttestationToken(top.table('attestation_token'), warnings);
  const admin = parseAdmin(top.table('admin'), warnings);
  const storage = parseStorageBackendConfig(top.take('storage_backend'), { env });
  const sst = top.take('session_storage_type');
  const sessionStorageType = sst === undefined ? undefined : parseStorageType(sst, top.key('session_storage_type'));
  const plugins = parsePlugins(top.tableArray('plugins'));
  const jwe = parseJwe(top.table('jwe'), warnings);
  top.done();

  return { dataDir, httpServer, attestationToken, attestationService, admin, storage, sessionStorageType, plugins, jwe, warnings };
}

function parseAttestationService(t: TableReader | undefined, present: boolean, warnings: string[]): AttestationServiceSettings | undefined {
  if (!t) return present ? undefined : { type: 'coco_as_builtin', timeoutMin: 5, maxSessions: DEFAULT_MAX_SESSIONS, maxSessionBytes: DEFAULT_MAX_SESSION_BYTES, asConfig: {} };
  const type = t.string('type') ?? 'coco_as_builtin';
  const normalized = ({ coco_as_builtin: 'builtin', CoCoASBuiltIn: 'builtin', coco_as_grpc: 'grpc', CoCoASGrpc: 'grpc', intel_ta: 'ita', IntelTA: 'ita', none: 'none' } as Record<string, string>)[type];
  if (normalized === undefined) throw new ConfigError(t.key('type'), `unknown attestation service type "${type}"`);
  const timeoutMin = t.int('timeout', 1, 24 * 60) ?? 5;
  const maxSessions = t.int('max_sessions', 1, 100_000_000) ?? DEFAULT_MAX_SESSIONS;
  const maxSessionBytes = t.int('max_session_bytes', 1024 * 1024, Number.MAX_SAFE_INTEGER) ?? DEFAULT_MAX_SESSION_BYTES;
  if (normalized === 'none') {
    t.done();
    return undefined;
  }
  if (normalized === 'grpc') {
    const addrText = t.string('as_addr') ?? DEFAULT_AS_ADDR;
    let asAddr: AsAddress;
    try {
      asAddr = parseAsAddress(addrText);
    } catch (e) {
      throw new ConfigError(t.key('as_addr'), (e as Error).message);
    }
    const poolSize = t.int('pool_size', 1, MAX_AS_POOL_SIZE) ?? DEFAULT_AS_POOL_SIZE;
    t.done();
    return { type: 'coco_as_grpc', timeoutMin, maxSessions, maxSessionBytes, asAddr, poolSize };
  }
  if (normalized === 'ita') return { type: 'intel_ta', timeoutMin, maxSessions, maxSessionBytes, ...parseIta(t, warnings) };
  // The remaining keys belong to the AS; its parser (src/as/config.ts) names unknown ones.
  const asConfig: RawTable = {};
  for (const [k, v] of Object.entries(t.raw)) {
    if (k === 'type' || k === 'timeout' || k === 'max_sessions' || k === 'max_session_bytes') continue;
    t.take(k);
    asConfig[k] = v;
  }
  t.done();
  return { type: 'coco_as_builtin', timeoutMin, maxSessions, maxSessionBytes, asConfig };
}

/** The `intel_ta` keys. `api_key` is a secret: errors name the key, never its value. */
function parseIta(t: TableReader, warnings: string[]): ItaConfig {
  const baseText = t.requiredString('base_url');
  let base;
  try {
    base = parseItaBaseUrl(baseText);
  } catch (e) {
    throw new ConfigError(t.key('base_url'), (e as Error).message);
  }
  if (base.insecure) warnings.push(`${t.key('base_url')} = "${base.url}" is plain http://: the ITA API key and the evidence travel unencrypted (loopback only; use https:// in production)`);
  const apiKey = t.requiredString('api_key');
  if (apiKey.trim() === '') throw new ConfigError(t.key('api_key'), 'must not be empty');
  if (/[^\u0020-\u007e]/.test(apiKey)) throw new ConfigError(t.key('api_key'), 'must be printable ASCII (it is sent as an HTTP header)');
  const certsFile = t.requiredString('certs_file');
  try {
    checkItaCertsFile(certsFile);
  } catch (e) {
    throw new ConfigError(t.key('certs_file'), (e as Error).message);
  }
  const policyIds = t.stringArray('policy_ids') ?? [];
  policyIds.forEach((id, i) => {
    if (id.trim() === '') throw new ConfigError(`${t.key('policy_ids')}[${i}]`, 'must not be empty');
  });
  const allowUnmatchedPolicy = t.bool('allow_unmatched_policy') ?? false;
  t.done();
  return { baseUrl: base.url, apiKey: new SecretString(apiKey), certsFile, policyIds, allowUnmatchedPolicy };
}

function parseSocket(s: string, key: string): SocketAddr {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(s);
  if (!m) throw new ConfigError(key, `"${s}" is not host:port`);
  const host = m[1] ?? m[2]!;
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError(key, `port out of range in "${s}"`);
  if (m[1] !== undefined && isIP(host) !== 6) throw new ConfigError(key, `"${s}" is not a valid IPv6 socket`);
  return { host, port };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function tlsVersion(v: string | undefined, key: string): TlsVersion | undefined {
  if (v === undefined) return undefined;
  if (v !== '1.2' && v !== '1.3') throw new ConfigError(key, `must be "1.2" or "1.3"`);
  return v;
}

function parseHttpServer(t: TableReader | undefined, warnings: string[]): HttpServerConfig {
  const r = t ?? new TableReader({}, 'http_server');
  const sockets = (r.stringArray('sockets') ?? ['127.0.0.1:8080']).map((s, i) => parseSocket(s, `${r.key('sockets')}[${i}]`));
  if (sockets.length === 0) throw new ConfigError(r.key('sockets'), 'at least one socket is required');
  const insecureHttp = r.bool('insecure_http') ?? false;
  const privateKeyPath = r.string('private_key');
  const certificatePath = r.string('certificate');
  const payloadMiB = r.int('payload_request_size', 1, 1024) ?? 2;
  const workerCount = r.int('worker_count', 1, MAX_WORKER_COUNT);
  const profileRaw = r.string('tls_profile') ?? 'intermediate';
  if (!['old', 'intermediate', 'modern', 'custom'].includes(profileRaw))
    throw new ConfigError(r.key('tls_profile'), 'must be one of old, intermediate, modern, custom');
  const profile = profileRaw as TlsProfile;
  const min = tlsVersion(r.string('tls_min_version'), r.key('tls_min_version'));
  const max = tlsVersion(r.string('tls_max_version'), r.key('tls_max_version'));
  const ciphers = r.string('tls_ciphers');
  const groups = r.string('tls_groups');
  const authRateLimit = parseAuthRateLimit(r);
  if (profile !== 'custom' && (min || max || ciphers))
    throw new ConfigError(r.key('tls_profile'), 'tls_min_version, tls_max_version and tls_ciphers need tls_profile = "custom"');
  const tls: TlsSettings = {
    profile,
    minVersion: min ?? (profile === 'modern' ? '1.3' : '1.2'),
    maxVersion: max ?? '1.3',
    ...(ciphers !== undefined ? { ciphers } : {}),
    ...(groups !== undefined ? { groups } : {}),
  };
  if (tls.minVersion > tls.maxVersion) throw new ConfigError(r.key('tls_min_version'), 'is greater than tls_max_version');
  r.done();

  if ((privateKeyPath === undefined) !== (certificatePath === undefined))
    throw new ConfigError(r.key(privateKeyPath === undefined ? 'private_key' : 'certificate'), 'private_key and certificate go together');
  const tlsOn = privateKeyPath !== undefined;
  if (!tlsOn && !insecureHttp) {
    const open = sockets.find((s) => !isLoopback(s.host));
    if (open) throw new ConfigError(r.key('insecure_http'), `socket ${open.host}:${open.port} is not loopback: configure private_key/certificate or set insecure_http = true`);
  }
  if (!tlsOn && insecureHttp) warnings.push('http_server.insecure_http = true: serving plain HTTP');
  return {
    sockets,
    insecureHttp,
    privateKeyPath,
    certificatePath,
    payloadRequestSize: payloadMiB * MIB,
    tls,
    ...(authRateLimit ? { authRateLimit } : {}),
    ...(workerCount !== undefined ? { workerCount } : {}),
  };
}

/** Upper bound of `worker_count` (a typo guard: one process per core is the useful range). */
export const MAX_WORKER_COUNT = 1024;

/** Upper bound of `auth_rate_limit` / `auth_rate_burst` (a typo guard; far above any useful value). */
const MAX_AUTH_RATE = 1_000_000;

/**
 * `auth_rate_limit` (float, 0 or absent = off), `auth_rate_burst`, `trusted_proxies`: Keybroker extensions. Burst and
 * proxies are checked even while the limit is off, so turning it on later cannot reveal a bad value.
 */
function parseAuthRateLimit(r: TableReader): AuthRateLimitSettings | undefined {
  let rate = r.take('auth_rate_limit');
  if (typeof rate === 'bigint') rate = Number(rate);
  if (rate !== undefined && (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > MAX_AUTH_RATE))
    throw new ConfigError(r.key('auth_rate_limit'), `must be a number of requests per second, > 0 and ≤ ${MAX_AUTH_RATE} (0 = off)`);
  const burstRaw = r.int('auth_rate_burst', 1, MAX_AUTH_RATE);
  const trustedProxies = (r.stringArray('trusted_proxies') ?? []).map((p, i) => {
    try {
      return parseCidr(p);
    } catch (e) {
      throw new ConfigError(`${r.key('trusted_proxies')}[${i}]`, (e as Error).message);
    }
  });
  if (rate === undefined || rate === 0) return undefined;
  return { ratePerSec: rate, burst: burstRaw ?? Math.max(1, Math.ceil(rate)), trustedProxies };
}

function parseAttestationToken(t: TableReader | undefined, warnings: string[]): AttestationTokenConfig {
  const r = t ?? new TableReader({}, 'attestation_token');
  const cfg: AttestationTokenConfig = {
    trustedCertsPaths: r.stringArray('trusted_certs_paths') ?? [],
    trustedJwkSets: r.stringArray('trusted_jwk_sets') ?? [],
    extraTeekeyPaths: r.stringArray('extra_teekey_paths') ?? [],
    insecureHeaderJwk: r.bool('insecure_header_jwk') ?? false,
  };
  const expectedIssuers = stringOrList(r, 'expected_issuer');
  if (expectedIssuers) cfg.expectedIssuers = expectedIssuers;
  const expectedAudiences = stringOrList(r, 'expected_audience');
  if (expectedAudiences) cfg.expectedAudiences = expectedAudiences;
  cfg.extraTeekeyPaths.forEach((p, i) => {
    if (p !== '' && !p.startsWith('/')) throw new ConfigError(`${r.key('extra_teekey_paths')}[${i}]`, 'must be a JSON pointer starting with "/"');
  });
  cfg.trustedJwkSets.forEach((u, i) => {
    if (u.startsWith('http://')) throw new ConfigError(`${r.key('trusted_jwk_sets')}[${i}]`, 'plain http JWKS URLs are not allowed; use https:// or a file');
  });
  r.done();
  if (cfg.insecureHeaderJwk) warnings.push('attestation_token.insecure_header_jwk = true: any token signer key in the JWT header is trusted');
  return cfg;
}

/** A string or a non-empty list of non-empty strings, as a list; undefined when absent. */
function stringOrList(r: TableReader, name: string): string[] | undefined {
  const v = r.take(name);
  if (v === undefined) return undefined;
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length === 0 || !list.every((x) => typeof x === 'string' && x !== ''))
    throw new ConfigError(r.key(name), 'expected a non-empty string or a non-empty array of non-empty strings');
  return list as string[];
}

function parseAdmin(t: TableReader | undefined, warnings: string[]): AdminConfig {
  if (!t) return { mode: 'Embedded' };
  const mode = t.string('authorization_mode') ?? 'InsecureAllowAll';
  if (mode === 'InsecureAllowAll' || mode === 'DenyAll') {
    t.done();
    if (mode === 'InsecureAllowAll') warnings.push('admin.authorization_mode = "InsecureAllowAll": every admin request is allowed');
    return { mode };
  }
  if (mode === 'Embedded') {
    t.done();
    return { mode };
  }
  if (mode !== 'AuthenticatedAuthorization')
    throw new ConfigError(t.key('authorization_mode'), 'must be InsecureAllowAll, DenyAll, AuthenticatedAuthorization or Embedded');
  const authn = t.table('authentication') ?? new TableReader({}, t.key('authentication'));
  const bearer = authn.table('bearer_jwt') ?? new TableReader({}, authn.key('bearer_jwt'));
  authn.done();
  const idps = (bearer.tableArray('identity_providers') ?? []).map((p): IdentityProviderConfig => {
    const idp: IdentityProviderConfig = {};
    const issuer = p.string('issuer');
    const audience = p.string('audience');
    const publicKeyUri = p.string('public_key_uri');
    const jwkSetUri = p.string('jwk_set_uri');
    if (issuer !== undefined) idp.issuer = issuer;
    if (audience !== undefined) idp.audience = audience;
    if (publicKeyUri !== undefined) idp.publicKeyUri = publicKeyUri;
    if (jwkSetUri !== undefined) idp.jwkSetUri = jwkSetUri;
    p.done();
    if (!idp.publicKeyUri && !idp.jwkSetUri) throw new ConfigError(p.path, 'needs public_key_uri or jwk_set_uri');
    for (const [k, u] of [['public_key_uri', idp.publicKeyUri], ['jwk_set_uri', idp.jwkSetUri]] as const) {
      if (u?.startsWith('http://')) throw new ConfigError(p.key(k), 'plain http key URLs are not allowed');
    }
    return idp;
  });
  bearer.done();
  if (idps.length === 0) throw new ConfigError(bearer.key('identity_providers'), 'at least one identity provider is required');
  const authz = t.table('authorization') ?? new TableReader({}, t.key('authorization'));
  const acl = authz.table('regex_acl') ?? new TableReader({}, authz.key('regex_acl'));
  authz.done();
  const acls = (acl.tableArray('acls') ?? []).map((a): AclRule => {
    const role = a.requiredString('role');
    const allowedEndpoints = a.requiredString('allowed_endpoints');
    validateAclRegex(allowedEndpoints, a.key('allowed_endpoints'));
    a.done();
    return { role, allowedEndpoints };
  });
  acl.done();
  if (acls.length === 0) throw new ConfigError(acl.key('acls'), 'at least one ACL rule is required');
  t.done();
  return { mode: 'AuthenticatedAuthorization', identityProviders: idps, acls };
}

/** Trustee: an ACL regex must start with `^/kbs` and end with `$`, so it cannot match a prefix or suffix only. */
export function validateAclRegex(re: string, key: string): void {
  if (!re.startsWith('^/kbs') || !re.endsWith('$') || re.endsWith('\\$'))
    throw new ConfigError(key, 'must start with "^/kbs" and end with "$"');
  try {
    RE2JS.compile(re);
  } catch (e) {
    throw new ConfigError(key, `invalid regular expression: ${(e as Error).message}`);
  }
}

function parsePlugins(list: TableReader[] | undefined): PluginConfig[] {
  if (!list) return [{ name: 'resource', source: { kind: 'kvstorage' } }];
  const seen = new Set<string>();
  return list.map((p): PluginConfig => {
    const name = p.requiredString('name');
    if (seen.has(name)) throw new ConfigError(p.key('name'), `plugin "${name}" is configured twice`);
    seen.add(name);
    if (name === 'sample') {
      const item = p.requiredString('item');
      p.done();
      return { name, item };
    }
    if (name === 'resource') {
      const type = p.string('storage_backend_type') ?? 'kvstorage';
      let source: ResourceSource;
      if (type === 'kvstorage') source = { kind: 'kvstorage' };
      else if (type === 'directory') source = { kind: 'directory', dirPath: resolve(p.requiredString('dir_path')) };
      else if (['Vault', 'Aws', 'Gcp', 'Aliyun'].includes(type)) throw notSupportedYet(p.key('storage_backend_type'));
      else throw new ConfigError(p.key('storage_backend_type'), `unknown resource backend "${type}"`);
      p.done();
      return { name, source };
    }
    if (['nebula-ca', 'pkcs11', 'external', 'provisioner'].includes(name)) throw notSupportedYet(p.key('name'));
    throw new ConfigError(p.key('name'), `unknown plugin "${name}"`);
  });
}

function parseJwe(t: TableReader | undefined, warnings: string[]): JweSettings {
  if (!t) return { allowRsa15: false };
  const allowRsa15 = t.bool('allow_rsa1_5') ?? false;
  t.done();
  if (allowRsa15) warnings.push('jwe.allow_rsa1_5 = true: resources may be wrapped with deprecated RSA1_5 (RSAES-PKCS1-v1_5)');
  return { allowRsa15 };
}
