/**
 * Loading trusted JWK sets (specs/trustee.md §2.9): `file://…` or a local path, or `https://…` — tried as a JWKS,
 * then `<url>/.well-known/openid-configuration` → `jwks_uri`. The network comes in through an injected fetch.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export type FetchLike = (url: string, init?: { headers?: Record<string, string>; signal?: AbortSignal }) => Promise<{
  ok: boolean;
  status: number;
  text(): Promise<string>;
}>;

export interface Jwk {
  kty: string;
  kid?: string;
  alg?: string;
  [k: string]: unknown;
}

export class JwksError extends Error {
  readonly code = 'ERR_JWKS';
}

function parseJwks(text: string, where: string): Jwk[] | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || !Array.isArray((v as { keys?: unknown }).keys)) return undefined;
  const keys = (v as { keys: unknown[] }).keys;
  return keys.map((k, i) => {
    if (typeof k !== 'object' || k === null || typeof (k as Jwk).kty !== 'string') throw new JwksError(`${where}: keys[${i}] is not a JWK`);
    return k as Jwk;
  });
}

/** `<base>/.well-known/openid-configuration` without a doubled slash. */
export function oidcDiscoveryUrl(base: string): string {
  return base.replace(/\/+$/, '') + '/.well-known/openid-configuration';
}

async function fetchText(fetch: FetchLike, url: string): Promise<string> {
  const res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new JwksError(`${url}: HTTP ${res.status}`);
  return res.text();
}

export async function loadJwkSet(uri: string, fetch: FetchLike): Promise<Jwk[]> {
  if (uri.startsWith('https://')) {
    let direct: Jwk[] | undefined;
    try {
      direct = parseJwks(await fetchText(fetch, uri), uri);
    } catch (e) {
      if (e instanceof JwksError && !/HTTP \d+$/.test(e.message)) throw e;
    }
    if (direct) return direct;
    const disco = await fetchText(fetch, oidcDiscoveryUrl(uri));
    let jwksUri: unknown;
    try {
      jwksUri = (JSON.parse(disco) as { jwks_uri?: unknown }).jwks_uri;
    } catch {
      throw new JwksError(`${uri}: OpenID configuration is not JSON`);
    }
    if (typeof jwksUri !== 'string' || !jwksUri.startsWith('https://')) throw new JwksError(`${uri}: OpenID configuration has no https jwks_uri`);
    const keys = parseJwks(await fetchText(fetch, jwksUri), jwksUri);
    if (!keys) throw new JwksError(`${jwksUri}: not a JWK set`);
    return keys;
  }
  if (/^[a-z]+:\/\//i.test(uri) && !uri.startsWith('file://')) throw new JwksError(`${uri}: unsupported URL scheme`);
  const path = uri.startsWith('file://') ? fileURLToPath(uri) : uri;
  const keys = parseJwks(await readFile(path, 'utf8'), path);
  if (!keys) throw new JwksError(`${path}: not a JWK set`);
  return keys;
}
