/** net.cidr_* built-ins over IPv4/IPv6 addresses as big integers. net.lookup_ip_addr is refused (no network). */
import { def, asString, typeError, builtinError, BuiltinError, RegoObject, RegoSet } from './util.js';
import type { BuiltinDef, Value } from './util.js';

export interface Addr {
  v6: boolean;
  n: bigint;
}

export interface Cidr {
  v6: boolean;
  /** Network address (host bits cleared). */
  net: bigint;
  /** The address as written (host bits kept), for cidr_expand's first host. */
  addr: bigint;
  bits: number;
}

function width(v6: boolean): number {
  return v6 ? 128 : 32;
}

function parseV4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0n;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return undefined;
    const x = Number(p);
    if (x > 255) return undefined;
    n = (n << 8n) | BigInt(x);
  }
  return n;
}

function parseV6(s: string): bigint | undefined {
  if (s.includes('%')) return undefined;
  let tail4: bigint | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    tail4 = parseV4(s.slice(lastColon + 1));
    if (tail4 === undefined) return undefined;
    s = s.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = s.split('::');
  if (dbl.length > 2) return undefined;
  const groups = (x: string) => (x === '' ? [] : x.split(':'));
  const head = groups(dbl[0]!);
  const tail = dbl.length === 2 ? groups(dbl[1]!) : [];
  const total = head.length + tail.length;
  if (dbl.length === 1 ? total !== 8 : total > 7) return undefined;
  const all = [...head, ...Array(8 - total).fill('0'), ...tail];
  let n = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  if (tail4 !== undefined) n = (n & ~0xffffffffn) | tail4;
  return n;
}

export function parseIp(s: string): Addr | undefined {
  if (s.includes(':')) {
    const n = parseV6(s);
    if (n === undefined) return undefined;
    // IPv4-mapped addresses behave as IPv4 (Go's To4).
    if (n >> 32n === 0xffffn) return { v6: false, n: n & 0xffffffffn };
    return { v6: true, n };
  }
  const n = parseV4(s);
  return n === undefined ? undefined : { v6: false, n };
}

function mask(v6: boolean, bits: number): bigint {
  const w = BigInt(width(v6));
  return ((1n << w) - 1n) ^ ((1n << (w - BigInt(bits))) - 1n);
}

export function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ipText = s.slice(0, slash);
  const bitsText = s.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(bitsText)) return undefined;
  const a = parseIp(ipText);
  if (!a) return undefined;
  const v6 = ipText.includes(':') && a.v6;
  const bits = Number(bitsText) - (ipText.includes(':') && !a.v6 ? 96 : 0);
  if (bits < 0 || bits > width(v6)) return undefined;
  return { v6, net: a.n & mask(v6, bits), addr: a.n, bits };
}

function formatV4(n: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 0xffn)).join('.');
}

/** RFC 5952 text, as Go prints IPv6 addresses. */
function formatV6(n: bigint): string {
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return hex(g.slice(0, bestStart)) + '::' + hex(g.slice(bestStart + bestLen));
}

export function formatIp(v6: boolean, n: bigint): string {
  return v6 ? formatV6(n) : formatV4(n);
}

function cidrOrFail(name: string, s: string): Cidr {
  const c = parseCidr(s);
  if (!c) throw builtinError(name, `invalid CIDR address: ${s}`);
  return c;
}

/** A CIDR or a bare IP (as a host prefix). */
function cidrOrIp(name: string, s: string): Cidr {
  if (s.includes('/')) return cidrOrFail(name, s);
  const a = parseIp(s);
  if (!a) throw builtinError(name, `invalid CIDR address: ${s}`);
  return { v6: a.v6, net: a.n, addr: a.n, bits: width(a.v6) };
}

function contains(outer: Cidr, inner: Cidr): boolean {
  if (outer.v6 !== inner.v6) return false;
  if (inner.bits < outer.bits) return false;
  return (inner.net & mask(outer.v6, outer.bits)) === outer.net;
}

function intersects(a: Cidr, b: Cidr): boolean {
  if (a.v6 !== b.v6) return false;
  const bits = Math.min(a.bits, b.bits);
  const m = mask(a.v6, bits);
  return (a.net & m) === (b.net & m);
}

/** Go's net.IP.DefaultMask (classful), used by OPA's cidr_merge for bare IPv4 addresses. */
function defaultBits(n: bigint): number {
  const first = Number(n >> 24n);
  if (first < 0x80) return 8;
  if (first < 0xc0) return 16;
  return 24;
}

function merge(name: string, items: string[]): string[] {
  const v4: Cidr[] = [];
  const v6: Cidr[] = [];
  for (const s of items) {
    let c: Cidr;
    if (s.includes('/')) {
      const p = parseCidr(s);
      if (!p) throw builtinError(name, `invalid CIDR address: ${s}`);
      c = p;
    } else {
      const a = parseIp(s);
      if (!a) throw builtinError(name, `IPv4 invalid: ${s}`);
      if (a.v6) throw builtinError(name, 'IPv6 invalid: needs prefix length');
      const bits = defaultBits(a.n);
      c = { v6: false, net: a.n & mask(false, bits), addr: a.n, bits };
    }
    (c.v6 ? v6 : v4).push(c);
  }
  return [...mergeFamily(v4), ...mergeFamily(v6)].map((c) => `${formatIp(c.v6, c.net)}/${c.bits}`);
}

/** Minimal cover of a family: drop contained prefixes, then join sibling halves until nothing changes. */
function mergeFamily(cs: Cidr[]): Cidr[] {
  let list = [...cs].sort((a, b) => (a.net < b.net ? -1 : a.net > b.net ? 1 : a.bits - b.bits));
  for (let changed = true; changed; ) {
    changed = false;
    const out: Cidr[] = [];
    for (const c of list) {
      const last = out[out.length - 1];
      if (last && contains(last, c)) {
        changed = changed || false;
        continue;
      }
      if (last && last.bits === c.bits && last.bits > 0) {
        const parentBits = c.bits - 1;
        const m = mask(c.v6, parentBits);
        if ((last.net & m) === (c.net & m) && last.net !== c.net) {
          out[out.length - 1] = { v6: c.v6, net: last.net & m, addr: last.net & m, bits: parentBits };
          changed = true;
          continue;
        }
      }
      out.push(c);
    }
    list = out.sort((a, b) => (a.net < b.net ? -1 : a.net > b.net ? 1 : a.bits - b.bits));
  }
  return list;
}

/** Elements of a cidr_contains_matches operand: [key, cidr-or-ip text, original value]. */
function matchItems(name: string, args: Value[], i: number): [Value, string][] {
  const v = args[i]!;
  const one = (key: Value, x: Value): [Value, string] => {
    if (typeof x === 'string') return [key, x];
    if (Array.isArray(x) && x.length > 0 && typeof x[0] === 'string') return [key, x[0]];
    throw builtinError(name, `operand ${i + 1}: element must be string or non-empty array`);
  };
  if (typeof v === 'string') return [[v, v]];
  if (Array.isArray(v)) return v.map((x, idx) => one(idx, x as Value));
  if (v instanceof RegoSet) return v.values().map((x) => one(x, x));
  if (v instanceof RegoObject) return v.entries().map(([k, x]) => one(k, x));
  throw typeError(name, i + 1, 'string|array|set|object', v);
}

export const NET_BUILTINS: BuiltinDef[] = [
  def('net.cidr_contains', ['string', 'string'], 'boolean', (args) => {
    const n = 'net.cidr_contains';
    return contains(cidrOrFail(n, asString(n, args, 0)), cidrOrIp(n, asString(n, args, 1)));
  }),
  def('net.cidr_overlap', ['string', 'string'], 'boolean', (args) => {
    const n = 'net.cidr_overlap';
    return contains(cidrOrFail(n, asString(n, args, 0)), cidrOrIp(n, asString(n, args, 1)));
  }),
  def('net.cidr_intersects', ['string', 'string'], 'boolean', (args) => {
    const n = 'net.cidr_intersects';
    return intersects(cidrOrFail(n, asString(n, args, 0)), cidrOrFail(n, asString(n, args, 1)));
  }),
  def('net.cidr_is_valid', ['any'], 'boolean', (args) => typeof args[0] === 'string' && parseCidr(args[0]) !== undefined),
  def('net.cidr_expand', ['string'], 'set', (args) => {
    const n = 'net.cidr_expand';
    const c = cidrOrFail(n, asString(n, args, 0));
    const hostBits = width(c.v6) - c.bits;
    if (hostBits > 16) throw builtinError(n, `CIDR ${args[0] as string} too large to expand`);
    const out: Value[] = [];
    for (let i = 0n; i < 1n << BigInt(hostBits); i++) out.push(formatIp(c.v6, c.net + i));
    return new RegoSet(out);
  }),
  def('net.cidr_merge', ['array|set'], 'set', (args) => {
    const n = 'net.cidr_merge';
    const v = args[0]!;
    const xs = Array.isArray(v) ? v : v instanceof RegoSet ? v.values() : undefined;
    if (!xs) throw typeError(n, 1, 'array|set', v);
    const strs = xs.map((x) => {
      if (typeof x !== 'string') throw typeError(n, 1, 'array of strings', v);
      return x;
    });
    return new RegoSet(merge(n, strs));
  }),
  def('net.cidr_contains_matches', ['any', 'any'], 'set', (args) => {
    const n = 'net.cidr_contains_matches';
    const cidrs = matchItems(n, args, 0);
    const ips = matchItems(n, args, 1);
    const out: Value[] = [];
    for (const [ck, ctext] of cidrs) {
      const c = cidrOrFail(n, ctext);
      for (const [ik, itext] of ips) if (contains(c, cidrOrIp(n, itext))) out.push([ck, ik]);
    }
    return new RegoSet(out);
  }),
  def(
    'net.lookup_ip_addr',
    ['string'],
    'set',
    () => {
      throw new BuiltinError('net.lookup_ip_addr: network access disabled');
    },
    { network: true },
  ),
];
