/** units.parse (SI and IEC suffixes, "m" = milli) and units.parse_bytes (rounded to whole bytes). */
import { def, asString, builtinError } from './util.js';
import type { BuiltinDef } from './util.js';
import { toDec, fromDec, decMul } from './decimal.js';
import type { Dec } from './decimal.js';
import { normNum } from '../value.js';

const SI: Record<string, Dec> = {
  k: { m: 1n, e: 3 },
  m: { m: 1n, e: 6 },
  g: { m: 1n, e: 9 },
  t: { m: 1n, e: 12 },
  p: { m: 1n, e: 15 },
  e: { m: 1n, e: 18 },
};
const IEC: Record<string, bigint> = { ki: 1n << 10n, mi: 1n << 20n, gi: 1n << 30n, ti: 1n << 40n, pi: 1n << 50n, ei: 1n << 60n };

function split(name: string, what: string, raw: string): { num: Dec; unit: string } {
  if (raw.includes(' ')) throw builtinError(name, 'spaces not allowed in resource strings');
  const s = raw.replace(/"/g, '');
  const m = /^[0-9.]*/.exec(s)![0];
  if (m === '') throw builtinError(name, `no ${what} provided`);
  if (!/^(\d+\.?\d*|\.\d+)$/.test(m)) throw builtinError(name, `could not parse ${what} to a number`);
  const [int, frac = ''] = m.split('.');
  return { num: { m: BigInt((int || '0') + frac), e: -frac.length }, unit: s.slice(m.length) };
}

function multiplier(name: string, unit: string, bytes: boolean): Dec {
  if (unit === '') return { m: 1n, e: 0 };
  if (!bytes && unit === 'm') return { m: 1n, e: -3 };
  let u = unit.toLowerCase();
  if (bytes) {
    if (u === 'b') return { m: 1n, e: 0 };
    if (u.endsWith('b')) u = u.slice(0, -1);
  }
  if (u in SI) return SI[u]!;
  if (u in IEC) return toDec(IEC[u]!);
  throw builtinError(name, `${bytes ? 'byte unit' : 'unit'} ${JSON.stringify(unit)} not recognized`);
}

export const UNITS_BUILTINS: BuiltinDef[] = [
  def('units.parse', ['string'], 'number', (args) => {
    const { num, unit } = split('units.parse', 'amount', asString('units.parse', args, 0));
    return fromDec(decMul(num, multiplier('units.parse', unit, false)));
  }),
  def('units.parse_bytes', ['string'], 'number', (args) => {
    const { num, unit } = split('units.parse_bytes', 'byte amount', asString('units.parse_bytes', args, 0));
    const d = decMul(num, multiplier('units.parse_bytes', unit, true));
    if (d.e >= 0) return normNum(d.m * 10n ** BigInt(d.e));
    // Round half to even, as Go's %.0f.
    const scale = 10n ** BigInt(-d.e);
    let q = d.m / scale;
    const r = d.m % scale;
    if (2n * r > scale || (2n * r === scale && q % 2n === 1n)) q += 1n;
    return normNum(q);
  }),
];
