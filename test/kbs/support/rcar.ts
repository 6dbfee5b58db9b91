/** RCAR by hand with fetch, so tests can send exactly the bytes they want (including bad ones). */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { canonicalize } from '../../../src/util/jcs.js';

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

export async function call(url: string, method: string, path: string, opts: { body?: string | Buffer; headers?: Record<string, string> } = {}): Promise<Reply> {
  const res = await fetch(url + path, { method, headers: opts.headers, body: opts.body as string | undefined });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export function errorType(r: Reply): string | undefined {
  const t = r.json?.type;
  return typeof t === 'string' ? t.replace('https://github.com/confidential-containers/kbs/errors/', '') : undefined;
}

export interface TeeKey {
  privateKey: KeyObject;
  jwk: Record<string, string>;
}

export function ecTeeKey(curve: 'P-256' | 'P-521' | 'P-384' = 'P-256'): TeeKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
  const j = publicKey.export({ format: 'jwk' }) as Record<string, string>;
  return { privateKey, jwk: { kty: 'EC', crv: j.crv!, alg: 'ECDH-ES+A256KW', x: j.x!, y: j.y! } };
}

export function rsaTeeKey(alg = 'RSA-OAEP-256'): TeeKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const j = publicKey.export({ format: 'jwk' }) as Record<string, string>;
  return { privateKey, jwk: { kty: 'RSA', alg, n: j.n!, e: j.e! } };
}

export async function auth(url: string, body: unknown = { version: '0.4.0', tee: 'sample', 'extra-params': '' }) {
  const r = await call(url, 'POST', '/kbs/v0/auth', { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const setCookie = r.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0]!;
  return { reply: r, cookie, setCookie, nonce: r.json?.nonce as string };
}

/** Sample evidence bound per specs/trustee.md §2.2: report_data = sha384(JCS({additional-evidence, nonce, tee-pubkey})). */
export function attestationBody(nonce: string, key: TeeKey, opts: { initData?: unknown; reportNonce?: string } = {}) {
  const rd = { nonce, 'tee-pubkey': key.jwk };
  const digest = createHash('sha384').update(canonicalize({ 'additional-evidence': '', nonce: opts.reportNonce ?? nonce, 'tee-pubkey': key.jwk })).digest();
  return {
    ...(opts.initData !== undefined ? { 'init-data': opts.initData } : {}),
    'runtime-data': rd,
    'tee-evidence': { primary_evidence: { svn: '1', report_data: digest.toString('base64') }, additional_evidence: '' },
  };
}

export async function attest(url: string, cookie: string, body: unknown): Promise<Reply> {
  return call(url, 'POST', '/kbs/v0/attest', { body: JSON.stringify(body), headers: { 'content-type': 'application/json', cookie } });
}

/** A full handshake; returns the session cookie and the token. */
export async function handshake(url: string, key: TeeKey = ecTeeKey()) {
  const a = await auth(url);
  if (a.reply.status !== 200) throw new Error(`auth ${a.reply.status} ${a.reply.text}`);
  const r = await attest(url, a.cookie, attestationBody(a.nonce, key));
  if (r.status !== 200) throw new Error(`attest ${r.status} ${r.text}`);
  return { cookie: a.cookie, token: r.json.token as string, key };
}
