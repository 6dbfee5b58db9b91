/**
 * AMD Key Distribution Service: URLs, and GETs through the injected fetcher with HTTP 429 back-off (Retry-After)
 * and an on-disk cache. Knows nothing about what the bytes mean.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { VerificationError, type VerifierContext } from '../types.js';
import type { Generation, TcbVersion } from './layout.js';

export type Fetcher = NonNullable<VerifierContext['fetch']>;
export type EndorsementKind = 'vcek' | 'vlek';

const two = (n: number) => String(n).padStart(2, '0');

/** `{base}/vcek/v1/{Gen}/{hwid}?[fmcSPL=..&]blSPL=..&teeSPL=..&snpSPL=..&ucodeSPL=..` (two digits at least). */
export function vcekUrl(base: string, gen: Generation, hwidHex: string, tcb: TcbVersion): string {
  const fmc = gen === 'Turin' ? `fmcSPL=${two(tcb.fmc ?? 0)}&` : '';
  return `${base}/vcek/v1/${gen}/${hwidHex}?${fmc}blSPL=${two(tcb.bootloader)}&teeSPL=${two(tcb.tee)}&snpSPL=${two(tcb.snp)}&ucodeSPL=${two(tcb.microcode)}`;
}

/** PEM ASK+ARK (vcek) or ASVK+ARK (vlek). */
export function certChainUrl(base: string, kind: EndorsementKind, gen: Generation): string {
  return `${base}/${kind}/v1/${gen}/cert_chain`;
}

/** DER CRL signed by the ARK, listing revoked ASKs (vcek) or ASVKs (vlek). */
export function crlUrl(base: string, kind: EndorsementKind, gen: Generation): string {
  return `${base}/${kind}/v1/${gen}/crl`;
}

/** Trustee's OfflineStore file name prefix: `bl03_tee00_snp08_ucode115` (+ `_fmc01` on Turin). */
export function offlineTcbPrefix(gen: Generation, tcb: TcbVersion): string {
  const p = `bl${two(tcb.bootloader)}_tee${two(tcb.tee)}_snp${two(tcb.snp)}_ucode${two(tcb.microcode)}`;
  return gen === 'Turin' ? `${p}_fmc${two(tcb.fmc ?? 0)}` : p;
}

export interface KdsGetOptions {
  /** Waits between retries; injected so tests never sleep. */
  sleep?: (ms: number) => Promise<void>;
  maxRetries?: number;
  /** Longest Retry-After honoured; a longer one fails now rather than stalling a request. */
  maxWaitMs?: number;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Retry-After as delta-seconds; HTTP-date values are treated as the default wait (no clock here). */
function retryAfterMs(h: string | null): number {
  if (h && /^\d+$/.test(h.trim())) return Number(h.trim()) * 1000;
  return 1000;
}

/** GET returning the body on 200, `undefined` on 404, and throwing SNP_KDS_UNAVAILABLE otherwise. */
export async function kdsGet(fetch: Fetcher, url: string, opts: KdsGetOptions = {}): Promise<Uint8Array | undefined> {
  const sleep = opts.sleep ?? realSleep;
  const maxRetries = opts.maxRetries ?? 2;
  const maxWaitMs = opts.maxWaitMs ?? 30_000;
  for (let attempt = 0; ; attempt++) {
    let res: Awaited<ReturnType<Fetcher>>;
    try {
      res = await fetch(url, { headers: { accept: 'application/octet-stream, application/x-pem-file' } });
    } catch (e) {
      throw new VerificationError('SNP_KDS_UNAVAILABLE', `AMD KDS request failed: ${url}`, { cause: e });
    }
    if (res.status === 200) return res.body;
    if (res.status === 404) return undefined;
    if (res.status === 429 || res.status === 503) {
      const wait = retryAfterMs(res.headers.get('retry-after'));
      if (attempt < maxRetries && wait <= maxWaitMs) {
        await sleep(wait);
        continue;
      }
      throw new VerificationError('SNP_KDS_UNAVAILABLE', `AMD KDS is rate limiting (HTTP ${res.status}): ${url}`);
    }
    throw new VerificationError('SNP_KDS_UNAVAILABLE', `AMD KDS answered HTTP ${res.status}: ${url}`);
  }
}

// ---- on-disk cache ----------------------------------------------------------------------------------------------

export async function readCached(path: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await readFile(path));
  } catch {
    return undefined;
  }
}

/** Atomic write (temp file + rename), so a crash never leaves a half-written certificate behind. */
export async function writeCached(path: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(tmp, data);
  await rename(tmp, path);
}
