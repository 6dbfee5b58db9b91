/**
 * AMD roots: the ARK fingerprints pinned in code, and the ARK/ASK/ASVK set for a generation, loaded from
 * `trust_anchors_dir`, the cache, or (once) from KDS — whatever the source, the ARK must be self-signed and match the
 * pin, and the ASK/ASVK must be signed by it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { VerificationError } from '../types.js';
import { derToPem, issuedBy, parseAmdCert, pemToDers, type AmdCert } from './certs.js';
import { certChainUrl, kdsGet, readCached, writeCached, type Fetcher, type KdsGetOptions } from './kds.js';
import type { Generation } from './layout.js';

export type ArkPins = Readonly<Record<Generation, string>>;

/**
 * SHA-256 of the DER of AMD's ARK per generation. These equal the ARKs AMD's KDS serves at
 * `https://kdsintf.amd.com/vcek/v1/{Milan,Genoa,Turin}/cert_chain` (the same ARK terminates the vlek chain), and the
 * ARKs in Trustee's `deps/verifier/src/snp/*_ask_ark_asvk.pem`.
 */
export const AMD_ARK_SHA256: ArkPins = Object.freeze({
  Milan: '69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd',
  Genoa: '4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1',
  Turin: '1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a',
});

export interface AmdAnchors {
  generation: Generation;
  ark: AmdCert;
  /** Signs VCEKs. */
  ask?: AmdCert;
  /** Signs VLEKs. */
  asvk?: AmdCert;
}

function anchorError(msg: string): never {
  throw new VerificationError('SNP_TRUST_ANCHOR', msg);
}

export function anchorFileName(gen: Generation): string {
  return `${gen.toLowerCase()}_ask_ark_asvk.pem`;
}

/** Classifies certificates by CN (`ARK-Gen`, `SEV-Gen`, `SEV-VLEK-Gen`) and checks them against the pin. */
export function buildAnchors(gen: Generation, certs: AmdCert[], pins: ArkPins, source: string): AmdAnchors {
  const byCn = (cn: string) => {
    const m = certs.filter((c) => c.subjectCN === cn);
    if (m.length > 1) anchorError(`${source}: more than one ${cn} certificate`);
    return m[0];
  };
  const ark = byCn(`ARK-${gen}`);
  if (!ark) anchorError(`${source}: no ARK-${gen} certificate`);
  if (ark.sha256 !== pins[gen]) anchorError(`${source}: ARK-${gen} is not AMD's pinned root (sha256 ${ark.sha256})`);
  if (!issuedBy(ark, ark)) anchorError(`${source}: ARK-${gen} is not validly self-signed`);
  const ask = byCn(`SEV-${gen}`);
  const asvk = byCn(`SEV-VLEK-${gen}`);
  if (ask && !issuedBy(ask, ark)) anchorError(`${source}: SEV-${gen} (ASK) is not signed by ARK-${gen}`);
  if (asvk && !issuedBy(asvk, ark)) anchorError(`${source}: SEV-VLEK-${gen} (ASVK) is not signed by ARK-${gen}`);
  return { generation: gen, ark, ...(ask ? { ask } : {}), ...(asvk ? { asvk } : {}) };
}

function parsePemSet(text: string, source: string): AmdCert[] {
  const ders = pemToDers(text);
  if (ders.length === 0) anchorError(`${source}: no PEM certificates`);
  return ders.map((d, i) => parseAmdCert(d, `${source} #${i + 1}`));
}

export interface AnchorSources {
  trustAnchorsDir?: string;
  cacheDir?: string;
  fetch?: Fetcher;
  kdsBaseUrl: string;
  pins: ArkPins;
  kdsOptions?: KdsGetOptions;
}

/**
 * `{trust_anchors_dir}/{gen}_ask_ark_asvk.pem`, else `{cacheDir}/snp/{gen}_ask_ark_asvk.pem`, else KDS
 * (`/vcek/v1/{Gen}/cert_chain` + `/vlek/v1/{Gen}/cert_chain`), checked and then cached.
 */
export async function loadAnchors(gen: Generation, src: AnchorSources): Promise<AmdAnchors> {
  const file = anchorFileName(gen);
  if (src.trustAnchorsDir) {
    const p = join(src.trustAnchorsDir, file);
    const bytes = await readCached(p);
    if (bytes) return buildAnchors(gen, parsePemSet(Buffer.from(bytes).toString('utf8'), p), src.pins, p);
  }
  const cachePath = src.cacheDir ? join(src.cacheDir, 'snp', file) : undefined;
  if (cachePath && existsSync(cachePath)) {
    const bytes = await readCached(cachePath);
    if (bytes) return buildAnchors(gen, parsePemSet(Buffer.from(bytes).toString('utf8'), cachePath), src.pins, cachePath);
  }
  if (!src.fetch) {
    const where = src.trustAnchorsDir ? join(src.trustAnchorsDir, file) : `<snp_verifier.trust_anchors_dir>/${file}`;
    anchorError(
      `AMD ${gen} trust anchors not available offline: provide ${where} (ASK, ARK and ASVK PEMs from ` +
        `${src.kdsBaseUrl}/vcek/v1/${gen}/cert_chain and ${src.kdsBaseUrl}/vlek/v1/${gen}/cert_chain)`,
    );
  }
  const certs: AmdCert[] = [];
  for (const kind of ['vcek', 'vlek'] as const) {
    const url = certChainUrl(src.kdsBaseUrl, kind, gen);
    const body = await kdsGet(src.fetch, url, src.kdsOptions);
    if (!body) anchorError(`AMD KDS has no ${kind} cert_chain for ${gen}: ${url}`);
    for (const c of parsePemSet(Buffer.from(body).toString('utf8'), url)) {
      if (!certs.some((x) => x.sha256 === c.sha256)) certs.push(c);
    }
  }
  const anchors = buildAnchors(gen, certs, src.pins, `AMD KDS ${gen}`);
  if (cachePath) {
    const pem = [anchors.ask, anchors.ark, anchors.asvk].filter((c): c is AmdCert => !!c).map((c) => derToPem(c.der)).join('');
    await writeCached(cachePath, pem);
  }
  return anchors;
}
