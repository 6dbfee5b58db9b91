/**
 * Minimal HTTP(S) transport on node:http/node:https (global fetch cannot take an extra trust root, which
 * `--cert-file` needs). Cookies are kept per client in a tiny jar: the KBS session is one cookie,
 * `kbs-session-id`, with only an `Expires` attribute (specs/trustee.md §2.6); the server is the judge of expiry
 * (a stale cookie gets 401 and the client re-runs the handshake), so attributes are not interpreted.
 */
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { KbsClientError, reason, type ClientStep } from './errors.js';

export interface HttpRequest {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path and query, starting with `/`. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface Transport {
  request(step: ClientStep, req: HttpRequest): Promise<HttpResponse>;
}

export interface HttpTransportOptions {
  /** KBS root URL, e.g. `http://127.0.0.1:8080` (a path prefix is kept). */
  url: string;
  /** Extra PEM trust roots for HTTPS (`--cert-file`), added to node's built-in roots. */
  extraCaPem?: string[];
  /** Largest response body accepted (default 64 MiB). */
  maxResponseBytes?: number;
}

export class HttpTransport implements Transport {
  private readonly base: URL;
  private readonly ca?: string[];
  private readonly maxBytes: number;
  private readonly cookies = new Map<string, string>();

  constructor(opts: HttpTransportOptions) {
    let base: URL;
    try {
      base = new URL(opts.url);
    } catch {
      throw new KbsClientError('input', 'ERR_INPUT', `--url ${JSON.stringify(opts.url)} is not a URL`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new KbsClientError('input', 'ERR_INPUT', `--url must be http:// or https://, got ${base.protocol}`);
    }
    if (base.username || base.password) {
      throw new KbsClientError('input', 'ERR_INPUT', '--url must not contain credentials');
    }
    this.base = base;
    this.ca = opts.extraCaPem && opts.extraCaPem.length > 0 ? [...rootCertificates, ...opts.extraCaPem] : undefined;
    this.maxBytes = opts.maxResponseBytes ?? 64 * 1024 * 1024;
  }

  /** The value of a cookie the server set (for tests and diagnostics). */
  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  request(step: ClientStep, req: HttpRequest): Promise<HttpResponse> {
    const prefix = this.base.pathname.replace(/\/+$/, '');
    const target = new URL(this.base.origin + prefix + req.path);
    const headers: Record<string, string> = { 'user-agent': 'keybroker-kbs-client', ...req.headers };
    if (this.cookies.size > 0) {
      headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    }
    const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, 'utf8');
    if (body) headers['content-length'] = String(body.length);
    const isHttps = target.protocol === 'https:';
    const options: https.RequestOptions = { method: req.method, headers };
    if (isHttps && this.ca) options.ca = this.ca;

    return new Promise<HttpResponse>((resolve, reject) => {
      const fail = (e: unknown) =>
        reject(new KbsClientError(step, 'ERR_HTTP', `${req.method} ${target.pathname} failed: ${reason(e)}`, { cause: e }));
      const r = (isHttps ? https : http).request(target, options, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > this.maxBytes) {
            res.destroy(new Error(`response larger than ${this.maxBytes} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('error', fail);
        res.on('end', () => {
          this.storeCookies(res.headers['set-cookie']);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
      });
      r.on('error', fail);
      r.end(body);
    });
  }

  private storeCookies(setCookie: string[] | undefined): void {
    for (const line of setCookie ?? []) {
      const pair = line.split(';', 1)[0] ?? '';
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }
}
