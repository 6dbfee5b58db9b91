/** uuid.rfc4122 (random v4, deterministic per evaluation seed and key) and uuid.parse. */
import { createHash } from 'node:crypto';
import { def, asString, RegoObject } from './util.js';
import type { BuiltinDef, Value } from './util.js';
import { normNum } from '../value.js';

/** Go's google/uuid.Parse input forms: canonical, {braced}, urn:uuid:, or 32 bare hex digits. */
export function parseUuidBytes(s: string): Buffer | undefined {
  let t = s;
  if (t.length === 45 && t.toLowerCase().startsWith('urn:uuid:')) t = t.slice(9);
  else if (t.length === 38 && t[0] === '{' && t[37] === '}') t = t.slice(1, 37);
  if (t.length === 36) {
    if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(t)) return undefined;
    t = t.replace(/-/g, '');
  } else if (t.length !== 32 || !/^[0-9a-fA-F]{32}$/.test(t)) return undefined;
  return Buffer.from(t, 'hex');
}

function variantName(b: number): string {
  if ((b & 0x80) === 0) return 'Reserved';
  if ((b & 0xc0) === 0x80) return 'RFC4122';
  if ((b & 0xe0) === 0xc0) return 'Microsoft';
  return 'Future';
}

/** 100-ns intervals between 1582-10-15 (the UUID epoch) and 1970-01-01. */
const GREGORIAN_OFFSET = 122_192_928_000_000_000n;

function parseUuid(s: string): Value | undefined {
  const b = parseUuidBytes(s);
  if (!b) return undefined;
  const version = b[6]! >> 4;
  const entries: [Value, Value][] = [
    ['version', version],
    ['variant', variantName(b[8]!)],
  ];
  if (version === 1 || version === 2) {
    const timeLow = BigInt(b.readUInt32BE(0));
    const timeMid = BigInt(b.readUInt16BE(4));
    const timeHi = BigInt(b.readUInt16BE(6) & 0x0fff);
    const t100 = (timeHi << 48n) | (timeMid << 32n) | timeLow;
    entries.push(['time', normNum((t100 - GREGORIAN_OFFSET) * 100n)]);
    entries.push(['clocksequence', ((b[8]! & 0x3f) << 8) | b[9]!]);
    const node = [...b.subarray(10, 16)].map((x) => x.toString(16).padStart(2, '0'));
    entries.push(['nodeid', node.join('-')]);
    const first = b[10]!;
    entries.push(['macvariables', `${first & 0x02 ? 'local' : 'global'}:${first & 0x01 ? 'multicast' : 'unicast'}`]);
    if (version === 2) {
      entries.push(['id', b.readUInt32BE(0)]);
      entries.push(['domain', ['Person', 'Group', 'Org'][b[9]!] ?? `Domain${b[9]!}`]);
    }
  }
  return new RegoObject(entries);
}

export const UUID_BUILTINS: BuiltinDef[] = [
  def(
    'uuid.rfc4122',
    ['string'],
    'string',
    (args, ctx) => {
      const key = asString('uuid.rfc4122', args, 0);
      const cacheKey = `uuid.rfc4122\u0000${key}`;
      const hit = ctx.cache.get(cacheKey);
      if (typeof hit === 'string') return hit;
      const b = createHash('sha256').update(`uuid.rfc4122\u0000${ctx.seed}\u0000${key}`).digest().subarray(0, 16);
      b[6] = (b[6]! & 0x0f) | 0x40;
      b[8] = (b[8]! & 0x3f) | 0x80;
      const h = b.toString('hex');
      const out = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
      ctx.cache.set(cacheKey, out);
      return out;
    },
    { nondeterministic: true },
  ),
  def('uuid.parse', ['string'], 'object', (args) => parseUuid(asString('uuid.parse', args, 0))),
];
