/**
 * Where collateral comes from: a PCS-client-tool JSON file (`file:///…`) or Intel PCS / a PCCS over HTTP.
 * The disk and the network are injected. Fetched items are cached until min(their nextUpdate, TTL); concurrent
 * misses for the same key share one request.
 */
import {
  CollateralError,
  collateralFromFile,
  parseSignedQeIdentity,
  parseSignedTcbInfo,
  type Collateral,
  type CollateralRequest,
  type TcbUpdateType,
} from './collateral.js';
import { Lru } from '../../util/lru.js';

export interface CollateralSource {
  get(req: CollateralRequest, now: Date): Promise<Collateral>;
}

export type ReadText = (path: string) => Promise<string>;
export type Fetch = (url: string, init?: { headers?: Record<string, string> }) => Promise<{ status: number; headers: Headers; body: Uint8Array }>;

export type StatMtime = (path: string) => Promise<number>;

/**
 * The PCS-client-tool file. With `mtime` given (as in production) the file text is re-read only when its
 * modification time changes, as Trustee's file backend does; otherwise it is read on every call.
 */
export class FileCollateralSource implements CollateralSource {
  private cached?: { mtime: number; text: string };
  /**
   * Decoded collateral per request, reused while the file text is exactly the same (compared in full, so any
   * change to the file is decoded afresh). Decoding is pure; every date in it is checked by verification.
   */
  private readonly decoded = new Lru<string, { text: string; collateral: Collateral }>(64);
  /** How often the file text was actually decoded (for tests). */
  readonly stats = { parses: 0 };
  constructor(
    private readonly path: string,
    private readonly readText: ReadText,
    private readonly update: TcbUpdateType,
    private readonly mtime?: StatMtime,
  ) {}
  private async text(): Promise<string> {
    try {
      if (!this.mtime) return await this.readText(this.path);
      const m = await this.mtime(this.path);
      if (this.cached?.mtime !== m) this.cached = { mtime: m, text: await this.readText(this.path) };
      return this.cached.text;
    } catch {
      throw new CollateralError('collateral file cannot be read', 'ERR_DCAP_COLLATERAL_UNAVAILABLE');
    }
  }
  async get(req: CollateralRequest): Promise<Collateral> {
    const text = await this.text();
    const key = `${req.tee}/${Buffer.from(req.fmspc).toString('hex')}`;
    const hit = this.decoded.get(key);
    if (hit && hit.text === text) return hit.collateral;
    this.stats.parses++;
    const collateral = collateralFromFile(text, req, this.update);
    this.decoded.set(key, { text, collateral });
    return collateral;
  }
}

interface CacheEntry {
  value?: unknown;
  /** Until when `value` is served without asking again (min of TTL and validUntil). */
  freshUntil: number;
  /** Until when `value` may stand in for a failed refresh (the item's own nextUpdate). */
  validUntil: number;
  pending?: Promise<unknown>;
}

/**
 * TTL cache with coalesced misses: while a load is in flight every caller shares it. When a refresh fails (PCS
 * outage, 429/5xx), the last good value is served as long as it is itself still valid; otherwise the error is
 * thrown (fail closed). Verification re-checks every date, so a served value can never outlive its validity.
 */
export class CoalescingCache {
  private readonly entries = new Map<string, CacheEntry>();
  constructor(private readonly ttlMs: number) {}
  get<T>(key: string, now: Date, load: () => Promise<{ value: T; validUntil?: Date }>): Promise<T> {
    const t = now.getTime();
    const hit = this.entries.get(key);
    if (hit?.value !== undefined && hit.freshUntil > t) return Promise.resolve(hit.value as T);
    if (hit?.pending) return hit.pending as Promise<T>;
    const entry: CacheEntry = hit ?? { freshUntil: 0, validUntil: 0 };
    const pending = load().then(
      (r) => {
        entry.value = r.value;
        entry.validUntil = r.validUntil?.getTime() ?? Number.POSITIVE_INFINITY;
        entry.freshUntil = Math.min(t + this.ttlMs, entry.validUntil);
        entry.pending = undefined;
        return r.value;
      },
      (e: unknown) => {
        entry.pending = undefined;
        if (entry.value !== undefined && entry.validUntil > t) return entry.value as T;
        this.entries.delete(key);
        throw e;
      },
    );
    entry.pending = pending;
    this.entries.set(key, entry);
    return pending;
  }
}

const INTEL_PCS_HOST = 'api.trustedservices.intel.com';
const INTEL_ROOT_CA_CRL_URL = 'https://certificates.trustedservices.intel.com/IntelSGXRootCA.der';

/** Intel PCS v4 API or a PCCS serving the same paths (Trustee strips the configured URL to its origin). */
export class PcsCollateralSource implements CollateralSource {
  private readonly origin: string;
  private readonly isIntel: boolean;
  constructor(baseUrl: string, private readonly fetch: Fetch, private readonly update: TcbUpdateType, private readonly cache: CoalescingCache) {
    const u = new URL(baseUrl);
    this.origin = u.origin;
    this.isIntel = u.hostname === INTEL_PCS_HOST;
  }

  private async getOk(url: string): Promise<{ headers: Headers; body: Uint8Array }> {
    let res: Awaited<ReturnType<Fetch>>;
    try {
      res = await this.fetch(url);
    } catch {
      throw new CollateralError(`cannot reach ${url}`, 'ERR_DCAP_COLLATERAL_UNAVAILABLE');
    }
    if (res.status !== 200) throw new CollateralError(`${url} answered ${res.status}`, 'ERR_DCAP_COLLATERAL_UNAVAILABLE');
    return res;
  }

  private chain(headers: Headers, name: string): string {
    const v = headers.get(name);
    if (!v) throw new CollateralError(`response lacks header ${name}`);
    try {
      return decodeURIComponent(v);
    } catch {
      throw new CollateralError(`header ${name} is not URL-encoded PEM`);
    }
  }

  async get(req: CollateralRequest, now: Date): Promise<Collateral> {
    const fmspc = Buffer.from(req.fmspc).toString('hex').toUpperCase();
    const base = `${this.origin}/${req.tee}/certification/v4`;
    const tcbUrl = `${base}/tcb?fmspc=${fmspc}&update=${this.update}`;
    const qeUrl = `${base}/qe/identity?update=${this.update}`;
    const crlUrl = (ca: string) => `${this.origin}/sgx/certification/v4/pckcrl?ca=${ca}&encoding=der`;
    const rootUrl = this.isIntel ? INTEL_ROOT_CA_CRL_URL : `${this.origin}/sgx/certification/v4/rootcacrl`;
    const [tcb, qe, processor, platform, root] = await Promise.all([
      this.cache.get(tcbUrl, now, async () => {
        const r = await this.getOk(tcbUrl);
        const item = parseSignedTcbInfo(Buffer.from(r.body).toString('utf8'));
        return { value: { item, chain: this.chain(r.headers, 'TCB-Info-Issuer-Chain') }, validUntil: item.value.nextUpdate };
      }),
      this.cache.get(qeUrl, now, async () => {
        const r = await this.getOk(qeUrl);
        const item = parseSignedQeIdentity(Buffer.from(r.body).toString('utf8'));
        return { value: { item, chain: this.chain(r.headers, 'SGX-Enclave-Identity-Issuer-Chain') }, validUntil: item.value.nextUpdate };
      }),
      this.cache.get(crlUrl('processor'), now, async () => ({ value: derOrHex((await this.getOk(crlUrl('processor'))).body) })),
      this.cache.get(crlUrl('platform'), now, async () => ({ value: derOrHex((await this.getOk(crlUrl('platform'))).body) })),
      this.cache.get(rootUrl, now, async () => ({ value: derOrHex((await this.getOk(rootUrl)).body) })),
    ]);
    return {
      tcbInfo: tcb.item,
      tcbInfoIssuerChainPem: tcb.chain,
      qeIdentity: qe.item,
      qeIdentityIssuerChainPem: qe.chain,
      pckCrl: { processor, platform },
      rootCaCrl: root,
    };
  }
}

/** PCCS answers the root CA CRL as hex text; PCS answers DER. A DER CRL starts with a SEQUENCE tag (0x30). */
function derOrHex(body: Uint8Array): Uint8Array {
  if (body[0] === 0x30) return body;
  const text = Buffer.from(body).toString('latin1').trim();
  if (/^([0-9a-fA-F]{2})+$/.test(text)) return new Uint8Array(Buffer.from(text, 'hex'));
  throw new CollateralError('CRL is neither DER nor hex');
}
