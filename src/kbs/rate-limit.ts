/**
 * Per-client rate limit for `POST /kbs/v0/auth` (security-cases.md #27, a Keybroker extension: Trustee has none).
 * The per-instance session cap (session-limit.ts) bounds storage; this keeps one client from using up that cap.
 *
 * - Token bucket per client: `ratePerSec` tokens a second, at most `burst` held; one token per request. O(1) per
 *   request; buckets live in a bounded LRU (least recently seen clients are forgotten first, which hands them a full
 *   bucket again — harmless, since a forgotten client had not been seen for a while and the session cap still holds).
 * - Client = the peer address, except when the peer is one of `trusted_proxies`: then the right-most address of
 *   X-Forwarded-For that is not itself a trusted proxy (addresses left of it were written by the client and can be
 *   anything). The part we would read being malformed → the peer address.
 * - IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is 1.2.3.4; other IPv6 clients are keyed by their /64, the smallest block a
 *   site is normally given (one host can pick any address inside its /64).
 *
 * The clock is injected (milliseconds); no module state.
 */
import { Lru } from '../util/lru.js';
import { TooManyRequests } from './errors.js';

/** An IPv4 (4 bytes) or IPv6 (16 bytes) network; a single address has the full prefix. */
export interface Cidr {
  bytes: Uint8Array;
  prefix: number;
}

/** Default number of client buckets kept (each well under 200 bytes). */
export const DEFAULT_MAX_CLIENTS = 100_000;

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseV4(s: string, out: Uint8Array, at: number): boolean {
  const m = V4.exec(s);
  if (!m) return false;
  for (let i = 0; i < 4; i++) {
    const part = m[i + 1]!;
    // "010" is octal to some parsers and decimal to others: refuse the ambiguity.
    if (part.length > 1 && part[0] === '0') return false;
    const n = Number(part);
    if (n > 255) return false;
    out[at + i] = n;
  }
  return true;
}

function parseV6(s: string): Uint8Array | undefined {
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (h: string): string[] => (h === '' ? [] : h.split(':'));
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  const out = new Uint8Array(16);
  // A dotted IPv4 may only be the last group and counts as two.
  const all = halves.length === 2 ? tail : head;
  let v4Tail = false;
  if (all.length > 0 && all[all.length - 1]!.includes('.')) {
    if (!parseV4(all.pop()!, out, 12)) return undefined;
    v4Tail = true;
  }
  const groups = head.length + tail.length + (v4Tail ? 2 : 0);
  if (halves.length === 2 ? groups > 7 : groups !== 8) return undefined;
  const put = (list: string[], from: number): boolean => {
    for (let i = 0; i < list.length; i++) {
      if (!HEX_GROUP.test(list[i]!)) return false;
      const n = parseInt(list[i]!, 16);
      out[from + 2 * i] = n >> 8;
      out[from + 2 * i + 1] = n & 0xff;
    }
    return true;
  };
  if (!put(head, 0)) return undefined;
  if (!put(tail, 16 - 2 * tail.length - (v4Tail ? 4 : 0))) return undefined;
  return out;
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** An address as 4 bytes (IPv4, including IPv4-mapped IPv6) or 16 bytes (IPv6); undefined when malformed. */
export function parseIp(text: string): Uint8Array | undefined {
  if (!text.includes(':')) {
    const out = new Uint8Array(4);
    return parseV4(text, out, 0) ? out : undefined;
  }
  const v6 = parseV6(text);
  if (v6 === undefined) return undefined;
  return isV4Mapped(v6) ? v6.subarray(12) : v6;
}

/** `1.2.3.4`, `10.0.0.0/8`, `2001:db8::/32`, `::ffff:10.0.0.0/104` (= 10.0.0.0/8). Host bits must be zero. */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const raw = addrText.includes(':') ? parseV6(addrText) : parseIp(addrText);
  if (raw === undefined) throw new RangeError(`"${text.slice(0, 64)}" is not an IP address or CIDR`);
  const max = raw.length * 8;
  let prefix = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) throw new RangeError(`"${text.slice(0, 64)}": prefix must be 0–${max}`);
    prefix = Number(p);
  }
  let bytes = raw;
  if (raw.length === 16 && isV4Mapped(raw) && prefix >= 96) {
    bytes = raw.subarray(12);
    prefix -= 96;
  }
  for (let bit = prefix; bit < bytes.length * 8; bit++) {
    if ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1) throw new RangeError(`"${text.slice(0, 64)}" has host bits set below the /${slash < 0 ? max : text.slice(slash + 1)} prefix`);
  }
  return { bytes: Uint8Array.from(bytes), prefix };
}

export function cidrContains(c: Cidr, addr: Uint8Array): boolean {
  if (c.bytes.length !== addr.length) return false;
  const full = c.prefix >> 3;
  for (let i = 0; i < full; i++) if (c.bytes[i] !== addr[i]) return false;
  const rest = c.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (c.bytes[full]! & mask) === (addr[full]! & mask);
}

/** The rate-limit key of an address: dotted IPv4, or the IPv6 /64 (`2001:db8:0:1::/64`). */
export function clientKeyOf(addr: Uint8Array): string {
  if (addr.length === 4) return `${addr[0]}.${addr[1]}.${addr[2]}.${addr[3]}`;
  const g = (i: number) => ((addr[i]! << 8) | addr[i + 1]!).toString(16);
  return `${g(0)}:${g(2)}:${g(4)}:${g(6)}::/64`;
}

/** One X-Forwarded-For entry: a bare address, `[v6]`, `[v6]:port` or `v4:port`. */
function parseXffEntry(s: string): Uint8Array | undefined {
  s = s.trim();
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0 || (end + 1 < s.length && !/^:\d{1,5}$/.test(s.slice(end + 1)))) return undefined;
    return parseIp(s.slice(1, end));
  }
  const m = /^([0-9.]+):\d{1,5}$/.exec(s);
  return parseIp(m ? m[1]! : s);
}

/**
 * The address a request is attributed to (see the module comment). `peer` is the socket's remote address; `xff` the
 * X-Forwarded-For header(s) as node gives them.
 */
export function clientAddress(peer: string | undefined, xff: string | string[] | undefined, trustedProxies: readonly Cidr[]): Uint8Array | undefined {
  const peerAddr = peer === undefined ? undefined : parseIp(peer);
  if (peerAddr === undefined || trustedProxies.length === 0 || xff === undefined) return peerAddr;
  const trusted = (a: Uint8Array) => trustedProxies.some((c) => cidrContains(c, a));
  if (!trusted(peerAddr)) return peerAddr;
  const entries = (Array.isArray(xff) ? xff.join(',') : xff).split(',');
  let leftmost: Uint8Array | undefined;
  for (let i = entries.length - 1; i >= 0; i--) {
    const a = parseXffEntry(entries[i]!);
    if (a === undefined) return peerAddr;
    if (!trusted(a)) return a;
    leftmost = a;
  }
  // Every hop is a trusted proxy: the farthest one is the best we know.
  return leftmost ?? peerAddr;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

export interface TokenBucketOptions {
  /** Tokens added per second (> 0). */
  ratePerSec: number;
  /** Bucket size (integer ≥ 1); a new client starts full. */
  burst: number;
  /** Buckets kept (LRU). */
  maxClients?: number;
  /** Milliseconds; injected for tests. */
  now: () => number;
}

/** Float drift from many small refills must not refuse a token that is due. */
const EPSILON = 1e-9;

export class TokenBucketLimiter {
  private readonly buckets: Lru<string, Bucket>;
  private readonly perMs: number;
  readonly burst: number;
  private readonly now: () => number;

  constructor(o: TokenBucketOptions) {
    if (!(Number.isFinite(o.ratePerSec) && o.ratePerSec > 0)) throw new RangeError('rate must be a finite number > 0');
    if (!Number.isInteger(o.burst) || o.burst < 1) throw new RangeError('burst must be an integer ≥ 1');
    this.perMs = o.ratePerSec / 1000;
    this.burst = o.burst;
    this.now = o.now;
    this.buckets = new Lru(o.maxClients ?? DEFAULT_MAX_CLIENTS);
  }

  /** Clients currently tracked. */
  get size(): number {
    return this.buckets.size;
  }

  /** Take one token for `key`: 0 when granted, else the whole seconds (≥ 1) until one is due. */
  take(key: string): number {
    const now = this.now();
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = { tokens: this.burst, atMs: now };
      this.buckets.set(key, b);
    } else if (now !== b.atMs) {
      // A clock that stepped back refills nothing but restarts from the new time (no client is stuck behind it).
      if (now > b.atMs) b.tokens = Math.min(this.burst, b.tokens + (now - b.atMs) * this.perMs);
      b.atMs = now;
    }
    if (b.tokens >= 1 - EPSILON) {
      b.tokens = Math.max(0, b.tokens - 1);
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000));
  }
}

export interface AuthRateLimitOptions extends TokenBucketOptions {
  trustedProxies?: readonly Cidr[];
}

/** The `/auth` limiter: client attribution + token bucket. */
export class AuthRateLimiter {
  readonly buckets: TokenBucketLimiter;
  private readonly trustedProxies: readonly Cidr[];

  constructor(o: AuthRateLimitOptions) {
    this.buckets = new TokenBucketLimiter(o);
    this.trustedProxies = o.trustedProxies ?? [];
  }

  /** 0 when the request may proceed, else Retry-After seconds. */
  check(peer: string | undefined, xff: string | string[] | undefined): number {
    const addr = clientAddress(peer, xff, this.trustedProxies);
    // No usable peer address (socket already gone): one shared bucket rather than none.
    return this.buckets.take(addr === undefined ? 'unknown' : clientKeyOf(addr));
  }

  /**
   * Throws TooManyRequests (429, nothing done) with a Retry-After header set on `reply` when the client is over its
   * rate.
   */
  enforce(peer: string | undefined, xff: string | string[] | undefined, reply: { header(name: string, value: string): unknown }): void {
    const wait = this.check(peer, xff);
    if (wait === 0) return;
    reply.header('retry-after', String(wait));
    throw new TooManyRequests(`too many /auth requests from this client (http_server.auth_rate_limit); retry after ${wait} s`);
  }
}
