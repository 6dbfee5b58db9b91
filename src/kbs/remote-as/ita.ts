/**
 * The KBS's `intel_ta` backend (specs/trustee.md §6.1, §6.8): the `AttestationService` interface over Intel Trust
 * Authority's appraisal API. The KBS maps the RCAR evidence into ITA's v2 request, ITA appraises it against the
 * operator's ITA policies and answers a JWT, which the KBS verifies against the JWKS named by `certs_file` before the
 * session stores it (a token the KBS cannot verify is never handed out as if it were one).
 *
 * Request: POST `{base_url}/appraisal/v2/attest` (`…/attest/azure` for az-tdx-vtpm) with `x-api-key`, JSON accept and
 * content type, User-Agent `Confidential-containers-trustee kbs/<version>`, body
 * `{policy_ids, policy_must_match, tdx|sgx: {quote, runtime_data, user_data?, event_log?}, nvgpu?: {…}}`.
 *
 * Outcomes, mirroring the gRPC client (grpc-client.ts):
 *  - ITA says no (4xx other than 429) or its token does not verify → `AttestationServiceError` (401 AttestationError
 *    at the KBS) with ITA's message trimmed to one short line;
 *  - ITA cannot be reached, times out (300 s), is overloaded (429) or fails (5xx) → `RemoteAsError` (503
 *    AttestationServiceUnavailable, no internals shown; the details go to the log);
 *  - TEEs ITA does not appraise are refused before anything is sent.
 * The API key is a `SecretString`: it is written into one request header and nowhere else — not into logs, error
 * messages, `JSON.stringify(config)` or `util.inspect` output, and any echo of it in ITA's replies is scrubbed.
 */
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import { inspect } from 'node:util';
import type { AttestationService, VerificationRequest } from '../../as/types.js';
import { AttestationServiceError } from '../../as/errors.js';
import type { Json, JsonObject } from '../../verifiers/types.js';
import { parseAzTdxEvidence } from '../../verifiers/az-tdx-vtpm/evidence.js';
import { parseTdxHclReport } from '../../verifiers/az-tdx-vtpm/vtpm.js';
import { canonicalize } from '../../util/jcs.js';
import { bytesEqual } from '../../util/bytes.js';
import { ConfigError } from '../../util/config-error.js';
import { loadJwkSet, type FetchLike, type Jwk } from '../token/jwks.js';
import { TokenVerifier } from '../token/verifier.js';
import { KbsError } from '../errors.js';
import { RemoteAsError } from './errors.js';

/** Trustee's timeout for a remote attestation service call. */
export const ITA_TIMEOUT_MS = 300_000;
export const ITA_ATTEST_PATH = '/appraisal/v2/attest';
export const ITA_ATTEST_AZURE_PATH = '/appraisal/v2/attest/azure';
/** ITA tokens with GPU evidence run to tens of KiB; anything near this is not a token. */
const MAX_RESPONSE_BYTES = 4 << 20;
/** ITA's messages are relayed to clients; keep them to one short line. */
const MAX_DETAIL_CHARS = 256;
/** GPU architectures ITA appraises (§6.8). */
const NVGPU_ARCHS: ReadonlySet<string> = new Set(['HOPPER', 'BLACKWELL']);

/**
 * A secret config value (the ITA API key). `reveal()` is the only way to the text; every other way of turning it into
 * a string (template literals, JSON, console/pino/util.inspect) yields `[redacted]`.
 */
export class SecretString {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return '[redacted]';
  }
}

/** `[attestation_service] type = "intel_ta"` after parsing (src/kbs/config.ts builds it). */
export interface ItaConfig {
  /** `base_url` without a trailing slash. */
  baseUrl: string;
  apiKey: SecretString;
  /** `certs_file`: local path, `file://` or `https://` JWKS (with OpenID discovery), as `trusted_jwk_sets` entries. */
  certsFile: string;
  policyIds: string[];
  allowUnmatchedPolicy: boolean;
}

export interface ParsedBaseUrl {
  url: string;
  /** Plain http:// to a loopback address: allowed, and warned about. */
  insecure: boolean;
}

function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** `base_url`: https://, or http:// to a loopback address only. Throws a plain Error; the config parser names the key. */
export function parseItaBaseUrl(text: string): ParsedBaseUrl {
  const shown = JSON.stringify(text.slice(0, 200));
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new Error(`${shown} is not a URL (expected https://host[:port][/path])`);
  }
  if (u.username !== '' || u.password !== '') throw new Error('must not carry credentials (the API key goes in api_key)');
  if (u.search !== '' || u.hash !== '') throw new Error(`${shown} must not have a query or fragment`);
  if (u.protocol === 'http:') {
    if (!isLoopbackHost(u.hostname)) throw new Error(`${shown}: plain http:// is only allowed for loopback addresses; use https://`);
  } else if (u.protocol !== 'https:') {
    throw new Error(`${shown} must be an https:// URL`);
  }
  return { url: u.href.replace(/\/+$/, ''), insecure: u.protocol === 'http:' };
}

/** `certs_file`: what loadJwkSet reads (§2.9), minus the schemes it would refuse later anyway. */
export function checkItaCertsFile(text: string): void {
  if (text.trim() === '') throw new Error('must not be empty');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text) && !/^(https|file):\/\//i.test(text))
    throw new Error('must be a local path, a file:// URL or an https:// URL of a JWK set');
}

export interface ItaClientOptions extends ItaConfig {
  /** The keys of `certs_file`, already loaded (createItaAttestationService does that). */
  jwks: Jwk[];
  /** Our version for the User-Agent (`KBS_VERSION`). */
  kbsVersion: string;
  /** Per-request deadline; default ITA_TIMEOUT_MS (tests use shorter ones). */
  timeoutMs?: number;
  /** Extra PEM CA(s) trusted for https:// besides Node's roots (tests with a private CA; not a config key). */
  extraCaPem?: string | Buffer;
  /** Transport failures and ITA outages are logged here (never the API key, never sent to clients). */
  log?: { warn(m: string): void };
}

interface ItaTeeEvidence {
  quote: string;
  runtime_data: string;
  user_data?: string;
  event_log?: string;
}

interface ItaNvgpuEvidence {
  gpu_nonce: string;
  arch: string;
  evidence_list: Array<{ evidence: string; certificate: string }>;
}

/** The exact v2 request body (key order as sent). */
export interface ItaAttestRequest {
  policy_ids: string[];
  policy_must_match: boolean;
  tdx?: ItaTeeEvidence;
  sgx?: ItaTeeEvidence;
  nvgpu?: ItaNvgpuEvidence;
}

const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function badEvidence(message: string, cause?: unknown): AttestationServiceError {
  return new AttestationServiceError('ERR_AS_BAD_REQUEST', message, cause === undefined ? undefined : { cause });
}

/** Standard base64 of a quote sent as base64 of either alphabet (Trustee's attesters differ); bad text refused. */
function quoteB64(v: Json | undefined, tee: string): string {
  if (typeof v !== 'string' || v === '' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(v) || v.replace(/=+$/, '').length % 4 === 1)
    throw badEvidence(`${tee} evidence: "quote" must be a non-empty base64 string`);
  return Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('base64');
}

function optionalString(o: JsonObject, key: string, tee: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw badEvidence(`${tee} evidence: "${key}" must be a string`);
  return v;
}

/** The exact bytes the guest hashed into its report data (§2.2): the JCS text of the structured runtime data. */
function runtimeText(r: VerificationRequest): Buffer {
  const rd = r.runtimeData;
  if (rd === undefined) throw badEvidence('runtime data is required for Intel Trust Authority');
  return rd.kind === 'raw' ? Buffer.from(rd.bytes) : Buffer.from(canonicalize(rd.json), 'utf8');
}

/** `{device_evidence_list: [{arch, uuid, evidence: hex, certificate: b64 PEM chain}]}` (Trustee's nvidia attester). */
function nvgpuItems(evidence: Json): Array<{ arch: string; evidence: string; certificate: string }> {
  const list = isObject(evidence) ? evidence.device_evidence_list : undefined;
  if (!Array.isArray(list) || list.length === 0) throw badEvidence('nvidia evidence: "device_evidence_list" must be a non-empty array');
  return list.map((d, i) => {
    if (!isObject(d)) throw badEvidence(`nvidia evidence: device_evidence_list[${i}] must be an object`);
    const arch = typeof d.arch === 'string' ? d.arch.toUpperCase() : '';
    if (!NVGPU_ARCHS.has(arch)) throw badEvidence(`nvidia evidence: device_evidence_list[${i}].arch must be Hopper or Blackwell`);
    const ev = d.evidence;
    if (typeof ev !== 'string' || ev === '' || !/^(?:[0-9a-fA-F]{2})+$/.test(ev)) throw badEvidence(`nvidia evidence: device_evidence_list[${i}].evidence must be hex`);
    const cert = d.certificate;
    if (typeof cert !== 'string' || cert === '') throw badEvidence(`nvidia evidence: device_evidence_list[${i}].certificate must be a non-empty string`);
    // ITA takes the report as base64 of its hex text (Intel's GPU adapter) and the chain as the attester's base64.
    return { arch, evidence: Buffer.from(ev, 'utf8').toString('base64'), certificate: cert };
  });
}

/**
 * The ITA request for one RCAR attestation: the primary TEE (tdx, sgx, az-tdx-vtpm) and any nvidia devices. Throws
 * `AttestationServiceError` for anything ITA cannot appraise, before a byte goes out.
 */
export function buildItaRequest(requests: VerificationRequest[], policy: { policyIds: string[]; allowUnmatchedPolicy: boolean }): { path: string; body: ItaAttestRequest } {
  const [primary, ...devices] = requests;
  if (primary === undefined) throw badEvidence('no verification requests');
  const body: ItaAttestRequest = {
    policy_ids: [...policy.policyIds],
    // Trustee: only meaningful with policies to match; `allow_unmatched_policy` lets tokens through that matched none.
    policy_must_match: policy.policyIds.length > 0 && !policy.allowUnmatchedPolicy,
  };
  let path = ITA_ATTEST_PATH;
  const tee = primary.tee;
  if (tee === 'tdx' || tee === 'sgx') {
    if (!isObject(primary.evidence)) throw badEvidence(`${tee} evidence must be a JSON object`);
    const ev = primary.evidence;
    const out: ItaTeeEvidence = { quote: quoteB64(ev.quote, tee), runtime_data: runtimeText(primary).toString('base64') };
    const userData = optionalString(ev, 'user_data', tee);
    const eventLog = optionalString(ev, 'cc_eventlog', tee);
    if (userData !== undefined) out.user_data = userData;
    if (eventLog !== undefined) out.event_log = eventLog;
    body[tee] = out;
  } else if (tee === 'az-tdx-vtpm') {
    path = ITA_ATTEST_AZURE_PATH;
    let tdQuote: Uint8Array;
    let varData: Uint8Array;
    try {
      const ev = parseAzTdxEvidence(primary.evidence);
      tdQuote = ev.tdQuote;
      varData = parseTdxHclReport(ev.hclReport).varData;
    } catch (e) {
      throw badEvidence(`az-tdx-vtpm evidence: ${(e as Error).message}`, e);
    }
    // ITA checks the TD quote's report data against the HCL variable data and reads our binding from user_data.
    body.tdx = {
      quote: Buffer.from(tdQuote).toString('base64'),
      runtime_data: Buffer.from(varData).toString('base64'),
      user_data: runtimeText(primary).toString('base64'),
    };
  } else {
    throw new AttestationServiceError('ERR_AS_UNKNOWN_TEE', `Intel Trust Authority does not appraise TEE ${JSON.stringify(tee.slice(0, 32))} (tdx, sgx and az-tdx-vtpm only)`);
  }

  if (devices.length > 0) {
    const evidenceList: ItaNvgpuEvidence['evidence_list'] = [];
    let arch: string | undefined;
    let gpuNonce: string | undefined;
    for (const d of devices) {
      if (d.tee !== 'nvidia')
        throw new AttestationServiceError('ERR_AS_UNKNOWN_TEE', `Intel Trust Authority does not appraise device ${JSON.stringify(d.tee.slice(0, 32))} (nvidia only)`);
      // The GPU was given the first 32 bytes of the device report data as its SPDM nonce (§2.2, hash negotiated
      // for ITA = sha512).
      const nonce = createHash('sha512').update(runtimeText(d)).digest().subarray(0, 32).toString('hex');
      if (gpuNonce !== undefined && !bytesEqual(Buffer.from(nonce, 'hex'), Buffer.from(gpuNonce, 'hex'))) throw badEvidence('nvidia devices carry different runtime data');
      gpuNonce = nonce;
      for (const item of nvgpuItems(d.evidence)) {
        if (arch !== undefined && item.arch !== arch) throw badEvidence('nvidia devices of different architectures cannot be appraised together');
        arch = item.arch;
        evidenceList.push({ evidence: item.evidence, certificate: item.certificate });
      }
    }
    body.nvgpu = { gpu_nonce: gpuNonce!, arch: arch!, evidence_list: evidenceList };
  }
  return { path, body };
}

/**
 * Trustee's ITA hash negotiation for the `/auth` challenge (specs/trustee.md §2.1): ITA checks REPORT_DATA with
 * sha512 for `tdx` and sha256 for `sgx` / `az-tdx-vtpm`, so the KBS must select that algorithm when the client lists
 * it. No `supported-hash-algorithms` → `""` (legacy: the client falls back to sha384). Throws AttestationServiceError
 * when the client cannot do what ITA needs, or for a TEE ITA does not appraise. Not wired into routes/auth.ts yet.
 */
export function itaChallengeExtraParams(tee: string, extraParams: unknown): '' | { 'selected-hash-algorithm': 'sha256' | 'sha512' } {
  const listed = typeof extraParams === 'object' && extraParams !== null ? (extraParams as Record<string, unknown>)['supported-hash-algorithms'] : undefined;
  if (listed === undefined) return '';
  if (!Array.isArray(listed)) throw badEvidence('extra-params: "supported-hash-algorithms" must be an array');
  const supported = listed.filter((a): a is string => typeof a === 'string').map((a) => a.toLowerCase());
  if (supported.length === 0) throw badEvidence('extra-params: the TEE supports no hash algorithm');
  const needed = tee === 'tdx' ? 'sha512' : tee === 'sgx' || tee === 'az-tdx-vtpm' ? 'sha256' : undefined;
  if (needed === undefined) throw new AttestationServiceError('ERR_AS_UNKNOWN_TEE', `Intel Trust Authority does not appraise TEE ${JSON.stringify(tee.slice(0, 32))}`);
  if (!supported.includes(needed)) throw badEvidence(`Intel Trust Authority needs ${needed} for ${tee}, which the client does not support`);
  return { 'selected-hash-algorithm': needed };
}

/** One printable line of at most MAX_DETAIL_CHARS with every occurrence of the secret removed. */
function safeDetail(s: string, secret: string): string {
  // eslint-disable-next-line no-control-regex
  let out = s.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  if (secret !== '') out = out.split(secret).join('[redacted]');
  out = out.trim();
  return out.length > MAX_DETAIL_CHARS ? `${out.slice(0, MAX_DETAIL_CHARS)}…` : out;
}

/** ITA's error text: `{"error": …}` / `{"message": …}` if JSON, else the body itself. */
function itaMessage(text: string): string {
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v === 'object' && v !== null) {
      const o = v as Record<string, unknown>;
      for (const k of ['error', 'message', 'detail']) if (typeof o[k] === 'string') return o[k];
    }
    if (typeof v === 'string') return v;
  } catch {
    // not JSON: the text as is
  }
  return text;
}

interface HttpReply {
  status: number;
  text: string;
}

class TransportTimeout extends Error {}
class ResponseTooLarge extends Error {}

export class ItaAttestationService implements AttestationService {
  readonly baseUrl: string;
  private readonly apiKey: SecretString;
  private readonly policyIds: string[];
  private readonly allowUnmatchedPolicy: boolean;
  private readonly jwks: Jwk[];
  private readonly verifier: TokenVerifier;
  private readonly userAgent: string;
  private readonly timeoutMs: number;
  private readonly ca: string[] | undefined;
  private readonly log: { warn(m: string): void } | undefined;

  constructor(opts: ItaClientOptions) {
    this.baseUrl = parseItaBaseUrl(opts.baseUrl).url;
    this.apiKey = opts.apiKey;
    this.policyIds = [...opts.policyIds];
    this.allowUnmatchedPolicy = opts.allowUnmatchedPolicy;
    this.jwks = opts.jwks;
    // Only `kid` lookups in certs_file: no header jwk, no x5c anchors, no insecure mode.
    this.verifier = new TokenVerifier({ trustedCerts: [], jwks: opts.jwks, trustedKeys: [], insecureHeaderJwk: false });
    this.userAgent = `Confidential-containers-trustee kbs/${opts.kbsVersion}`;
    this.timeoutMs = opts.timeoutMs ?? ITA_TIMEOUT_MS;
    this.ca = opts.extraCaPem === undefined ? undefined : [...rootCertificates, opts.extraCaPem.toString()];
    this.log = opts.log;
  }

  get policyMustMatch(): boolean {
    return this.policyIds.length > 0 && !this.allowUnmatchedPolicy;
  }

  async evaluate(requests: VerificationRequest[], _policyIds: string[], now: Date = new Date()): Promise<string> {
    // The KBS's own policy id ("default") means nothing to ITA: its policies are the configured `policy_ids`.
    const { path, body } = buildItaRequest(requests, { policyIds: this.policyIds, allowUnmatchedPolicy: this.allowUnmatchedPolicy });
    const reply = await this.post(path, JSON.stringify(body));
    const token = this.tokenFrom(reply);
    let claims: Record<string, unknown>;
    try {
      claims = await this.verifier.verify(token, now);
    } catch (e) {
      const why = e instanceof KbsError ? e.message : 'token verification failed';
      throw new AttestationServiceError('ERR_AS_TOKEN', `the Intel Trust Authority token does not verify against certs_file: ${why}`, { cause: e });
    }
    // ITA enforces policy_must_match itself; a token that still lists unmatched policies is not one we asked for.
    const unmatched = claims.policy_ids_unmatched;
    if (this.policyMustMatch && Array.isArray(unmatched) && unmatched.length > 0)
      throw new AttestationServiceError('ERR_AS_POLICY_EVAL', 'the evidence does not match the Intel Trust Authority policies');
    return token;
  }

  private tokenFrom(reply: HttpReply): string {
    const { status, text } = reply;
    const secret = this.apiKey.reveal();
    if (status === 200) {
      let token: unknown;
      try {
        token = (JSON.parse(text) as { token?: unknown } | null)?.token;
      } catch {
        token = undefined;
      }
      if (typeof token !== 'string' || token === '') throw new AttestationServiceError('ERR_AS_TOKEN', 'Intel Trust Authority returned no token');
      return token;
    }
    const detail = safeDetail(itaMessage(text), secret);
    if (status >= 400 && status < 500 && status !== 429) {
      // ITA's verdict (bad evidence, policy mismatch, or our API key refused): the client's attestation failed.
      throw new AttestationServiceError('ERR_AS_VERIFICATION', `Intel Trust Authority refused the attestation (HTTP ${status})${detail ? `: ${detail}` : ''}`);
    }
    // Overloaded, failing, redirecting (never followed: the API key would go along) or otherwise odd: retry later.
    this.log?.warn(`Intel Trust Authority ${this.baseUrl}: HTTP ${status}${detail ? `: ${detail}` : ''}`);
    if (status >= 200 && status < 300) throw new AttestationServiceError('ERR_AS_TOKEN', `Intel Trust Authority answered HTTP ${status} without a token`);
    throw new RemoteAsError('ERR_REMOTE_AS_UNAVAILABLE', 'attestation service unavailable');
  }

  private post(path: string, body: string): Promise<HttpReply> {
    const url = new URL(this.baseUrl + path);
    const headers = {
      'x-api-key': this.apiKey.reveal(),
      accept: 'application/json',
      'content-type': 'application/json',
      'user-agent': this.userAgent,
      'content-length': String(Buffer.byteLength(body)),
    };
    return new Promise<HttpReply>((resolve, reject) => {
      const onError = (e: Error): void => {
        clearTimeout(timer);
        if (e instanceof TransportTimeout) {
          this.log?.warn(`Intel Trust Authority ${this.baseUrl}: no answer within ${this.timeoutMs} ms`);
          reject(new RemoteAsError('ERR_REMOTE_AS_TIMEOUT', 'attestation service did not answer in time'));
        } else if (e instanceof ResponseTooLarge) {
          this.log?.warn(`Intel Trust Authority ${this.baseUrl}: response larger than ${MAX_RESPONSE_BYTES} bytes`);
          reject(new AttestationServiceError('ERR_AS_TOKEN', 'Intel Trust Authority returned an oversized response'));
        } else {
          const code = (e as NodeJS.ErrnoException).code ?? 'error';
          this.log?.warn(`Intel Trust Authority ${this.baseUrl}: ${code}: ${safeDetail(e.message, this.apiKey.reveal())}`);
          reject(new RemoteAsError('ERR_REMOTE_AS_UNAVAILABLE', 'attestation service unavailable'));
        }
      };
      const onResponse = (res: IncomingMessage): void => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) req.destroy(new ResponseTooLarge());
          else chunks.push(c);
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', onError);
      };
      const req =
        url.protocol === 'https:'
          ? httpsRequest(url, { method: 'POST', headers, ...(this.ca ? { ca: this.ca } : {}) }, onResponse)
          : httpRequest(url, { method: 'POST', headers }, onResponse);
      const timer = setTimeout(() => req.destroy(new TransportTimeout()), this.timeoutMs);
      req.on('error', onError);
      req.end(body);
    });
  }

  /** The hash the guest must bind its runtime data with, chosen at /auth (tdx: sha512; sgx, az-tdx-vtpm: sha256). */
  challengeExtraParams(tee: string, extraParams: unknown): unknown {
    return itaChallengeExtraParams(tee, extraParams);
  }

  async generateSupplementalChallenge(): Promise<string> {
    // Only IBM SE has a supplemental challenge, and ITA does not appraise SE.
    return '';
  }

  // ITA's policies and reference values live in ITA (its portal/API), not behind the KBS admin API.
  async setPolicy(): Promise<void> {
    throw unsupported('attestation policies are managed in Intel Trust Authority; the KBS sends attestation_service.policy_ids');
  }

  async listPolicies(): Promise<string[]> {
    throw unsupported('attestation policies are managed in Intel Trust Authority; the KBS sends attestation_service.policy_ids');
  }

  async getPolicy(): Promise<string | undefined> {
    throw unsupported('attestation policies are managed in Intel Trust Authority; the KBS sends attestation_service.policy_ids');
  }

  async registerReferenceValue(): Promise<void> {
    throw unsupported('reference values are not available with Intel Trust Authority');
  }

  async queryReferenceValue(): Promise<Json | undefined> {
    throw unsupported('reference values are not available with Intel Trust Authority');
  }

  /** The keys ITA signs with, as loaded from `certs_file`. */
  async tokenSignerJwks(): Promise<{ keys: Json[] }> {
    return { keys: this.jwks as unknown as Json[] };
  }

  async close(): Promise<void> {
    // One request per attestation, no pooled connections to close.
  }
}

function unsupported(message: string): RemoteAsError {
  return new RemoteAsError('ERR_REMOTE_AS_UNSUPPORTED', message);
}

export interface CreateItaOptions {
  /** Used to load an https:// `certs_file`. */
  fetch: FetchLike;
  kbsVersion: string;
  log?: { info(m: string): void; warn(m: string): void };
  /** `[attestation_token] trusted_jwk_sets`, to warn when ITA's tokens would not verify on resource requests. */
  trustedJwkSets?: readonly string[];
  timeoutMs?: number;
  extraCaPem?: string | Buffer;
}

/** Start-up: load `certs_file` (errors name the key) and build the client. Nothing is sent to ITA here. */
export async function createItaAttestationService(cfg: ItaConfig, opts: CreateItaOptions): Promise<ItaAttestationService> {
  let jwks: Jwk[];
  try {
    jwks = await loadJwkSet(cfg.certsFile, opts.fetch);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError('attestation_service.certs_file', code && code !== 'ERR_JWKS' ? `cannot read ${cfg.certsFile}: ${code}` : (e as Error).message);
  }
  if (!jwks.some((k) => typeof k.kid === 'string')) throw new ConfigError('attestation_service.certs_file', `${cfg.certsFile} holds no key with a "kid"`);
  const log = opts.log;
  log?.info(`attestation service: Intel Trust Authority at ${cfg.baseUrl} (${cfg.policyIds.length} policy id(s), policy_must_match ${cfg.policyIds.length > 0 && !cfg.allowUnmatchedPolicy})`);
  if (opts.trustedJwkSets !== undefined && !opts.trustedJwkSets.includes(cfg.certsFile))
    log?.warn(
      `attestation_service.certs_file (${cfg.certsFile}) is not listed in attestation_token.trusted_jwk_sets: resource requests will refuse Intel Trust Authority tokens unless a listed JWK set holds the same keys`,
    );
  return new ItaAttestationService({
    baseUrl: cfg.baseUrl,
    apiKey: cfg.apiKey,
    certsFile: cfg.certsFile,
    policyIds: cfg.policyIds,
    allowUnmatchedPolicy: cfg.allowUnmatchedPolicy,
    jwks,
    kbsVersion: opts.kbsVersion,
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    ...(opts.extraCaPem !== undefined ? { extraCaPem: opts.extraCaPem } : {}),
    ...(log ? { log } : {}),
  });
}
