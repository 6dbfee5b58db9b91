/**
 * A small in-process stand-in for the KBS, written from specs/trustee.md (§1.2, §1.4, §2.1–§2.4, §2.6) and
 * independent of src/client: its own canonical JSON (sorted keys, compact — equal to JCS for the ASCII objects of
 * the protocol, §2.2) and its own report-data check, so client tests prove the client against the spec rather than
 * against itself. Resources are encrypted with jose's FlattenedEncrypt to the tee-pubkey of the session.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FlattenedEncrypt, importJWK, type JWK } from 'jose';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface Session {
  nonce: string;
  tee: string;
  token?: string;
}

export interface MockKbsOptions {
  /** `extra-params` of the challenge (default `""`). */
  challengeExtraParams?: unknown;
  /** Resource policy: called per GET with the request count so far; default allow. */
  allow?: (n: number) => boolean;
  /** Bearer token required on admin endpoints (default: none required). */
  adminToken?: string;
}

export function sortedJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${sortedJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** kbs-types keeps only the typed members of tee-pubkey (§2.1). */
function typedPubkey(k: Record<string, unknown>): Record<string, unknown> {
  if (k.kty === 'RSA') return { kty: 'RSA', alg: k.alg, n: k.n, e: k.e };
  if (k.kty === 'EC') return { kty: 'EC', crv: k.crv, alg: k.alg, x: k.x, y: k.y };
  throw new Error('bad tee-pubkey');
}

function hashFor(extra: unknown): string {
  if (extra && typeof extra === 'object' && 'selected-hash-algorithm' in extra) {
    return String((extra as Record<string, unknown>)['selected-hash-algorithm']);
  }
  return 'sha384';
}

export class MockKbs {
  readonly requests: RecordedRequest[] = [];
  readonly resources = new Map<string, Buffer>();
  readonly sessions = new Map<string, Session>();
  /** Tokens issued, with the tee-pubkey they carry. */
  readonly tokens = new Map<string, Record<string, unknown>>();
  /** Last verified attestation bodies. */
  readonly attestations: Record<string, unknown>[] = [];
  lastPolicy?: string;
  lastAttestationPolicy?: Record<string, unknown>;
  lastReferenceValue?: Record<string, unknown>;
  resourceGets = 0;
  private server?: http.Server;

  constructor(private readonly opts: MockKbsOptions = {}) {}

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        this.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
        this.handle(req, body, res).catch((e: unknown) => this.problem(res, 500, 'Internal', String(e)));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }

  private problem(res: http.ServerResponse, status: number, type: string, detail: string): void {
    res.statusCode = status;
    res.end(JSON.stringify({ type: `https://github.com/confidential-containers/kbs/errors/${type}`, detail }));
  }

  private session(req: http.IncomingMessage): Session | undefined {
    const m = /(?:^|;\s*)kbs-session-id=([0-9a-f]+)/.exec(req.headers.cookie ?? '');
    return m ? this.sessions.get(m[1]!) : undefined;
  }

  private adminOk(req: http.IncomingMessage): boolean {
    if (this.opts.adminToken === undefined) return true;
    return req.headers.authorization === `Bearer ${this.opts.adminToken}`;
  }

  private async handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const p = url.pathname;
    if (req.method === 'POST' && p === '/kbs/v0/auth') {
      const r = JSON.parse(body.toString()) as Record<string, unknown>;
      if (r.version !== '0.4.0') return this.problem(res, 401, 'AttestationError', `KBS Client Protocol Version Mismatch: expect =0.4.0 while the request is ${String(r.version)}`);
      const id = randomBytes(16).toString('hex');
      const nonce = randomBytes(32).toString('base64');
      this.sessions.set(id, { nonce, tee: String(r.tee) });
      res.setHeader('set-cookie', `kbs-session-id=${id}; Expires=${new Date(Date.now() + 300_000).toUTCString()}`);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ nonce, 'extra-params': this.opts.challengeExtraParams ?? '' }));
      return;
    }
    if (req.method === 'POST' && p === '/kbs/v0/attest') {
      const s = this.session(req);
      if (!s) return this.problem(res, 401, 'AttestationError', 'session not found');
      const a = JSON.parse(body.toString()) as Record<string, any>;
      const rd = a['runtime-data'];
      if (rd.nonce !== s.nonce) return this.problem(res, 401, 'AttestationError', 'nonce mismatch');
      const pub = typedPubkey(rd['tee-pubkey']);
      const ev = a['tee-evidence'];
      const alg = hashFor(this.opts.challengeExtraParams);
      const expected = createHash(alg)
        .update(sortedJson({ 'additional-evidence': ev.additional_evidence, nonce: s.nonce, 'tee-pubkey': pub }))
        .digest('base64');
      if (s.tee !== 'sample' || ev.primary_evidence.svn !== '1' || ev.primary_evidence.report_data !== expected) {
        return this.problem(res, 401, 'AttestationError', 'sample evidence report_data mismatch');
      }
      if (ev.additional_evidence !== '') {
        const devices = JSON.parse(ev.additional_evidence) as Record<string, any>;
        const devExpected = createHash(alg).update(sortedJson({ nonce: s.nonce, 'tee-pubkey': pub })).digest('base64');
        for (const [tee, e] of Object.entries(devices)) {
          if (tee !== 'sampledevice' || e.svn !== '2' || e.report_data !== devExpected) {
            return this.problem(res, 401, 'AttestationError', `device ${tee} report_data mismatch`);
          }
        }
      }
      this.attestations.push(a);
      const token = `mock.${randomBytes(8).toString('hex')}.sig`;
      this.tokens.set(token, pub);
      s.token = token;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ token }));
      return;
    }
    const resource = /^\/kbs\/v0\/resource\/(.+)$/.exec(p);
    if (resource) {
      const key = decodeURIComponent(resource[1]!);
      if (req.method === 'GET') {
        this.resourceGets++;
        const s = this.session(req);
        let token = s?.token;
        const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
        if (!token && bearer) token = bearer[1];
        const pub = token ? this.tokens.get(token) : undefined;
        if (!pub) return this.problem(res, 401, 'TokenNotFound', 'no valid token');
        if (this.opts.allow && !this.opts.allow(this.resourceGets)) return this.problem(res, 401, 'PolicyDeny', 'request unauthorized');
        const content = this.resources.get(key);
        if (!content) return this.problem(res, 401, 'PluginInternalError', `resource ${key} not found`);
        const jwe = await new FlattenedEncrypt(content)
          .setProtectedHeader({ alg: String(pub.alg), enc: 'A256GCM' })
          .encrypt(await importJWK(pub as JWK, String(pub.alg)));
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(jwe));
        return;
      }
      if (!this.adminOk(req)) return this.problem(res, 401, 'AdminAuthInitialization', 'admin auth failed');
      if (req.method === 'POST') {
        this.resources.set(key, body);
        res.end();
        return;
      }
      if (req.method === 'DELETE') {
        if (!this.resources.delete(key)) return this.problem(res, 401, 'PluginInternalError', 'not found');
        res.end();
        return;
      }
    }
    if (p === '/kbs/v0/resource-policy' && req.method === 'POST') {
      if (!this.adminOk(req)) return this.problem(res, 401, 'AdminAuthAccess', 'admin auth failed');
      this.lastPolicy = Buffer.from(JSON.parse(body.toString()).policy, 'base64url').toString('utf8');
      res.end();
      return;
    }
    if (p === '/kbs/v0/attestation-policy' && req.method === 'POST') {
      if (!this.adminOk(req)) return this.problem(res, 401, 'AdminAuthAccess', 'admin auth failed');
      this.lastAttestationPolicy = JSON.parse(body.toString());
      res.end();
      return;
    }
    if (p === '/kbs/v0/reference-value' && req.method === 'POST') {
      if (!this.adminOk(req)) return this.problem(res, 401, 'AdminAuthAccess', 'admin auth failed');
      this.lastReferenceValue = JSON.parse(body.toString());
      res.setHeader('content-type', 'application/json');
      res.end();
      return;
    }
    const rv = /^\/kbs\/v0\/reference-value\/(.+)$/.exec(p);
    if (rv && req.method === 'GET') {
      if (!this.adminOk(req)) return this.problem(res, 401, 'AdminAuthAccess', 'admin auth failed');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(['1', '2']));
      return;
    }
    this.problem(res, 404, 'PluginNotFound', `plugin for ${p} not found`);
  }
}
