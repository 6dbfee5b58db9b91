/**
 * The RCAR client (specs/trustee.md §1.2, §2.1–§2.4), wire-compatible with guest-components `kbs_protocol` and
 * Trustee's `kbs-client` library:
 *   auth      POST /kbs/v0/auth    {version "0.4.0", tee, extra-params {supported-hash-algorithms}} → challenge + cookie
 *   attest    POST /kbs/v0/attest  {init-data?, runtime-data {nonce, tee-pubkey}, tee-evidence} → {token}
 *   resource  GET  /kbs/v0/resource/<repo>/<type>/<tag> with the session cookie (background check) or
 *             `Authorization: Bearer <token>` (passport) → flattened JWE, decrypted with the TEE key.
 * On 401 for a resource the reference client re-runs the handshake and tries again, three GETs in all (§1.4).
 * Admin calls send `Authorization: Bearer <admin token>` when one is configured. Success is HTTP 200 only.
 */
import { collectEvidence, sampleAttester, type AttesterSet } from './attester.js';
import { KbsClientError, type ClientErrorCode, type ClientStep } from './errors.js';
import type { HttpResponse, Transport } from './http.js';
import { decryptResponse } from './jwe.js';
import { runtimeData } from './runtime-data.js';
import { TeeKeyPair } from './tee-key.js';
import {
  KBS_PREFIX,
  buildAuthRequest,
  parseAttestResponse,
  parseChallenge,
  parseJson,
  parseJweResponse,
  parseProblem,
  selectedHashAlgorithm,
  type Attestation,
  type Challenge,
  type InitData,
} from './wire.js';

/** guest-components `KBS_GET_RESOURCE_MAX_ATTEMPT`. */
export const GET_RESOURCE_MAX_ATTEMPTS = 3;

export interface KbsClientOptions {
  transport: Transport;
  /** Default: a fresh EC P-256 key (the reference client's default). */
  teeKey?: TeeKeyPair;
  /** Default: the `sample` attester and no devices. */
  attesters?: AttesterSet;
  /** Sent with `/attest` as `init-data`. */
  initData?: InitData;
  /** Passport mode: use this attestation token as Bearer for resources instead of running RCAR. */
  token?: string;
  /** Bearer token for admin endpoints; anonymous when absent. */
  adminToken?: string;
}

export interface AttestationPolicyOptions {
  /** Default `rego`. */
  type?: string;
  /** Default `default_cpu` (Trustee kbs-client). */
  id?: string;
}

export class KbsClient {
  readonly teeKey: TeeKeyPair;
  private readonly transport: Transport;
  private readonly attesters: AttesterSet;
  private readonly initData?: InitData;
  private readonly adminToken?: string;
  private readonly passportToken?: string;
  private token?: string;

  constructor(opts: KbsClientOptions) {
    this.transport = opts.transport;
    this.teeKey = opts.teeKey ?? TeeKeyPair.generate();
    this.attesters = opts.attesters ?? { primary: sampleAttester, devices: [] };
    this.initData = opts.initData;
    this.adminToken = opts.adminToken;
    this.passportToken = opts.token;
  }

  /** Step 1 of RCAR: `POST /auth`. The session cookie is kept by the transport. */
  async auth(): Promise<Challenge> {
    const res = await this.transport.request('auth', {
      method: 'POST',
      path: `${KBS_PREFIX}/auth`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(buildAuthRequest(this.attesters.primary.tee)),
    });
    expectOk('auth', res, 'auth request');
    return parseChallenge(parseJson('auth', res.body.toString('utf8'), 'challenge'));
  }

  /** Steps 2–3: evidence bound to the challenge and the TEE key, `POST /attest`. Returns the token. */
  async attest(challenge: Challenge): Promise<string> {
    const alg = selectedHashAlgorithm(challenge.extraParams);
    const rd = runtimeData(challenge.nonce, this.teeKey.publicJwk);
    const evidence = await collectEvidence(this.attesters, rd, alg);
    const body: Attestation = {
      ...(this.initData ? { 'init-data': this.initData } : {}),
      'runtime-data': rd,
      'tee-evidence': evidence,
    };
    const res = await this.transport.request('attest', {
      method: 'POST',
      path: `${KBS_PREFIX}/attest`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expectOk('attest', res, 'attestation');
    const token = parseAttestResponse(parseJson('attest', res.body.toString('utf8'), 'attest response'));
    this.token = token;
    return token;
  }

  /** A full RCAR handshake; returns the attestation token. */
  async handshake(): Promise<string> {
    return this.attest(await this.auth());
  }

  /**
   * Fetches and decrypts `<repo>/<type>/<tag>`. Background check: runs the handshake if there is no session, and
   * again after each 401, for at most three GETs. Passport: one GET with the Bearer token.
   */
  async getResource(path: string): Promise<Buffer> {
    const target = `${KBS_PREFIX}/resource/${resourcePath(path)}`;
    if (this.passportToken !== undefined) {
      const res = await this.transport.request('resource', {
        method: 'GET',
        path: target,
        headers: { authorization: `Bearer ${this.passportToken}` },
      });
      expectOk('resource', res, `get resource ${path}`);
      return decryptResponse(parseJweResponse(parseJson('resource', res.body.toString('utf8'), 'resource response')), this.teeKey);
    }

    if (this.token === undefined) await this.handshake();
    let last: KbsClientError | undefined;
    for (let attempt = 1; attempt <= GET_RESOURCE_MAX_ATTEMPTS; attempt++) {
      const res = await this.transport.request('resource', { method: 'GET', path: target });
      if (res.status === 200) {
        return decryptResponse(parseJweResponse(parseJson('resource', res.body.toString('utf8'), 'resource response')), this.teeKey);
      }
      last = httpError('resource', res, `get resource ${path}`);
      if (res.status !== 401) throw last;
      if (attempt < GET_RESOURCE_MAX_ATTEMPTS) await this.handshake();
    }
    throw new KbsClientError(
      'resource',
      'ERR_UNAUTHORIZED',
      `get resource ${path} still unauthorized after ${GET_RESOURCE_MAX_ATTEMPTS} attempts: ${last?.message ?? ''}`,
      { status: 401, problemType: last?.problemType, detail: last?.detail },
    );
  }

  // ----- admin -----

  async setResource(path: string, content: Uint8Array): Promise<void> {
    await this.admin('POST', `/resource/${resourcePath(path)}`, Buffer.from(content), 'application/octet-stream', `set resource ${path}`);
  }

  async deleteResource(path: string): Promise<void> {
    await this.admin('DELETE', `/resource/${resourcePath(path)}`, undefined, undefined, `delete resource ${path}`);
  }

  async setResourcePolicy(policy: Uint8Array | string): Promise<void> {
    const body = JSON.stringify({ policy: b64url(policy) });
    await this.admin('POST', '/resource-policy', body, 'application/json', 'set resource policy');
  }

  async setAttestationPolicy(policy: Uint8Array | string, opts: AttestationPolicyOptions = {}): Promise<void> {
    // Member order as Trustee's SetPolicyInput: type, policy_id, policy.
    const body = JSON.stringify({ type: opts.type ?? 'rego', policy_id: opts.id ?? 'default_cpu', policy: b64url(policy) });
    await this.admin('POST', '/attestation-policy', body, 'application/json', 'set attestation policy');
  }

  /** RVPS `sample` extractor message (§5.1): payload = b64(JSON {name: value}). */
  async setSampleReferenceValue(name: string, value: unknown): Promise<void> {
    const payload = Buffer.from(JSON.stringify({ [name]: value }), 'utf8').toString('base64');
    const body = JSON.stringify({ version: '0.1.0', type: 'sample', payload });
    await this.admin('POST', '/reference-value', body, 'application/json', 'set reference value');
  }

  /** Returns the stored reference value JSON text as the KBS sends it. */
  async getReferenceValue(id: string): Promise<string> {
    if (id.length === 0) throw new KbsClientError('input', 'ERR_INPUT', 'reference value id is empty');
    const path = id.split('/').map(encodeURIComponent).join('/');
    const res = await this.admin('GET', `/reference-value/${path}`, undefined, undefined, `get reference value ${id}`);
    return res.body.toString('utf8');
  }

  private async admin(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body: string | Buffer | undefined,
    contentType: string | undefined,
    what: string,
  ): Promise<HttpResponse> {
    const headers: Record<string, string> = {};
    if (contentType) headers['content-type'] = contentType;
    if (this.adminToken !== undefined) headers.authorization = `Bearer ${this.adminToken}`;
    const res = await this.transport.request('admin', { method, path: `${KBS_PREFIX}${path}`, headers, body });
    expectOk('admin', res, what);
    return res;
  }
}

/** `repo/type/tag`, each segment non-empty; percent-encoded for the URL. */
export function resourcePath(path: string): string {
  const segments = path.replace(/^\/+/, '').split('/');
  if (segments.length !== 3 || segments.some((s) => s.length === 0 || s === '.' || s === '..')) {
    throw new KbsClientError('input', 'ERR_INPUT', `resource path ${JSON.stringify(path)} must be <repository>/<type>/<tag>`);
  }
  return segments.map(encodeURIComponent).join('/');
}

function b64url(data: Uint8Array | string): string {
  return (typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data)).toString('base64url');
}

function expectOk(step: ClientStep, res: HttpResponse, what: string): void {
  if (res.status !== 200) throw httpError(step, res, what);
}

function httpError(step: ClientStep, res: HttpResponse, what: string): KbsClientError {
  const text = res.body.toString('utf8');
  const problem = parseProblem(text);
  const code: ClientErrorCode = res.status === 401 ? 'ERR_UNAUTHORIZED' : res.status === 404 ? 'ERR_NOT_FOUND' : 'ERR_SERVER';
  let why: string;
  if (problem.type !== undefined || problem.detail !== undefined) {
    why = [problem.type, problem.detail].filter((s) => s !== undefined && s !== '').join(': ');
  } else {
    why = printable(text);
  }
  return new KbsClientError(step, code, `${what} failed: HTTP ${res.status}${why ? ` ${why}` : ''}`, {
    status: res.status,
    problemType: problem.type,
    detail: problem.detail,
  });
}

/** A short single-line excerpt of a non-problem error body. */
function printable(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
