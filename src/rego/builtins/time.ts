/**
 * time.* built-ins. Instants are nanoseconds since the epoch (bigint, int64 range as Go's time.Unix(0, ns)); layouts
 * are Go reference-time layouts ("2006-01-02T15:04:05Z07:00"). Time zones come from the platform's IANA database
 * through Intl. The clock is the evaluation's (`ctx.nowNs()`), never the machine's.
 */
import { def, asString, asNumber, typeError, builtinError, isNumber } from './util.js';
import type { BuiltinDef, Value } from './util.js';
import { normNum } from '../value.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const NS_PER_MS = 1_000_000n;

// ---- zones

interface Zone {
  name: string;
  /** Offset east of UTC in seconds at the given instant (ms). */
  offsetAt(ms: number): number;
  abbrevAt(ms: number): string;
}

const UTC: Zone = { name: 'UTC', offsetAt: () => 0, abbrevAt: () => 'UTC' };
const zoneCache = new Map<string, Zone>();

function ianaZone(name: string): Zone | undefined {
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
  } catch {
    return undefined;
  }
  const abbrevFmt = new Intl.DateTimeFormat('en-US', { timeZone: name, timeZoneName: 'short' });
  return {
    name,
    offsetAt(ms: number): number {
      const p: Record<string, string> = {};
      for (const part of fmt.formatToParts(new Date(ms))) p[part.type] = part.value;
      let year = Number(p.year);
      if (p.era === 'BC' || p.era === 'B') year = 1 - year;
      const d = new Date(0);
      d.setUTCFullYear(year, Number(p.month) - 1, Number(p.day));
      d.setUTCHours(Number(p.hour), Number(p.minute), Number(p.second), 0);
      return Math.round((d.getTime() - Math.floor(ms / 1000) * 1000) / 1000);
    },
    abbrevAt(ms: number): string {
      const part = abbrevFmt.formatToParts(new Date(ms)).find((x) => x.type === 'timeZoneName');
      return part?.value ?? name;
    },
  };
}

export function loadZone(name: string, fnName: string): Zone {
  if (name === '' || name === 'UTC') return UTC;
  const key = name === 'Local' ? Intl.DateTimeFormat().resolvedOptions().timeZone : name;
  let z = zoneCache.get(key);
  if (!z) {
    z = ianaZone(key);
    if (!z) throw builtinError(fnName, `unknown time zone ${name}`);
    zoneCache.set(key, z);
  }
  return z;
}

function fixedZone(offsetSec: number, abbrev: string): Zone {
  return { name: abbrev, offsetAt: () => offsetSec, abbrevAt: () => abbrev };
}

// ---- civil time

interface Civil {
  year: number;
  month: number; // 1..12
  day: number;
  hour: number;
  minute: number;
  second: number;
  nanos: number; // 0..999_999_999
  weekday: number; // 0 = Sunday
  yday: number; // 1..366
  offset: number; // seconds east of UTC
  abbrev: string;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && (a < 0n) !== (b < 0n) ? q - 1n : q;
}

export function civil(ns: bigint, zone: Zone): Civil {
  const ms = Number(floorDiv(ns, NS_PER_MS));
  const secFloor = floorDiv(ns, 1_000_000_000n);
  const nanos = Number(ns - secFloor * 1_000_000_000n);
  const offset = zone.offsetAt(ms);
  const d = new Date(Number(secFloor) * 1000 + offset * 1000);
  const jan1 = new Date(0);
  jan1.setUTCFullYear(d.getUTCFullYear(), 0, 1);
  const yday = Math.round((d.getTime() - jan1.getTime() - (d.getTime() % 86_400_000 + 86_400_000) % 86_400_000) / 86_400_000) + 1;
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    nanos,
    weekday: d.getUTCDay(),
    yday,
    offset,
    abbrev: offset === 0 && zone === UTC ? 'UTC' : zone.abbrevAt(ms),
  };
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** Epoch ns of a wall-clock time in a zone (Go's time.Date, with overflowing fields normalized). */
function fromCivil(y: number, mo: number, d: number, h: number, mi: number, s: number, nanos: number, zone: Zone): bigint {
  const dt = new Date(0);
  dt.setUTCFullYear(y, mo - 1, d);
  dt.setUTCHours(h, mi, s, 0);
  const wallMs = dt.getTime();
  if (!Number.isFinite(wallMs)) return INT64_MAX + 1n; // beyond JS dates: certainly outside Go's int64 range
  // Two passes settle the offset around transitions (as Go's lookup does).
  let off = zone.offsetAt(wallMs);
  off = zone.offsetAt(wallMs - off * 1000);
  return BigInt(wallMs - off * 1000) * NS_PER_MS + BigInt(nanos);
}

// ---- Go layouts

const LAYOUT_NAMES: Record<string, string> = {
  ANSIC: 'Mon Jan _2 15:04:05 2006',
  UnixDate: 'Mon Jan _2 15:04:05 MST 2006',
  RubyDate: 'Mon Jan 02 15:04:05 -0700 2006',
  RFC822: '02 Jan 06 15:04 MST',
  RFC822Z: '02 Jan 06 15:04 -0700',
  RFC850: 'Monday, 02-Jan-06 15:04:05 MST',
  RFC1123: 'Mon, 02 Jan 2006 15:04:05 MST',
  RFC1123Z: 'Mon, 02 Jan 2006 15:04:05 -0700',
  RFC3339: '2006-01-02T15:04:05Z07:00',
  RFC3339Nano: '2006-01-02T15:04:05.999999999Z07:00',
  Kitchen: '3:04PM',
  Stamp: 'Jan _2 15:04:05',
  StampMilli: 'Jan _2 15:04:05.000',
  StampMicro: 'Jan _2 15:04:05.000000',
  StampNano: 'Jan _2 15:04:05.000000000',
  DateTime: '2006-01-02 15:04:05',
  DateOnly: '2006-01-02',
  TimeOnly: '15:04:05',
};

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

type Tok = { lit: string } | { std: string; digits?: number };

/** Splits a layout into literals and std elements, following Go's nextStdChunk. */
function tokenize(layout: string): Tok[] {
  const out: Tok[] = [];
  let lit = '';
  let i = 0;
  const emit = (std: string, len: number, digits?: number) => {
    if (lit) out.push({ lit });
    lit = '';
    out.push(digits === undefined ? { std } : { std, digits });
    i += len;
  };
  while (i < layout.length) {
    const r = layout.slice(i);
    const c = layout[i]!;
    let hit: string | undefined;
    switch (c) {
      case 'J':
        hit = r.startsWith('January') ? 'January' : r.startsWith('Jan') ? 'Jan' : undefined;
        break;
      case 'M':
        hit = r.startsWith('Monday') ? 'Monday' : r.startsWith('Mon') ? 'Mon' : r.startsWith('MST') ? 'MST' : undefined;
        break;
      case '0':
        hit = /^0[1-6]/.test(r) ? r.slice(0, 2) : r.startsWith('002') ? '002' : undefined;
        break;
      case '1':
        hit = r.startsWith('15') ? '15' : '1';
        break;
      case '2':
        hit = r.startsWith('2006') ? '2006' : '2';
        break;
      case '_':
        if (r.startsWith('_2006')) {
          lit += '_';
          i++;
          continue;
        }
        hit = r.startsWith('__2') ? '__2' : r.startsWith('_2') ? '_2' : undefined;
        break;
      case '3':
      case '4':
      case '5':
        hit = c;
        break;
      case 'P':
        hit = r.startsWith('PM') ? 'PM' : undefined;
        break;
      case 'p':
        hit = r.startsWith('pm') ? 'pm' : undefined;
        break;
      case '-':
      case 'Z':
        for (const z of ['070000', '07:00:00', '0700', '07:00', '07']) {
          if (r.startsWith(c + z)) {
            hit = c + z;
            break;
          }
        }
        break;
      case '.':
      case ',': {
        const m = /^[.,](0+|9+)(?![0-9])/.exec(r);
        if (m) {
          emit(m[1]![0] === '0' ? 'frac0' : 'frac9', m[0].length, m[1]!.length);
          continue;
        }
        break;
      }
    }
    if (hit !== undefined) emit(hit, hit.length);
    else {
      lit += c;
      i++;
    }
  }
  if (lit) out.push({ lit });
  return out;
}

function pad(n: number, w: number, c = '0'): string {
  const s = String(Math.abs(n));
  return (n < 0 ? '-' : '') + s.padStart(w, c);
}

function fmtOffset(off: number, std: string): string {
  if (std.startsWith('Z') && off === 0) return 'Z';
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  const hh = pad(Math.floor(a / 3600), 2);
  const mm = pad(Math.floor((a % 3600) / 60), 2);
  const ss = pad(a % 60, 2);
  switch (std.replace(/^Z/, '-')) {
    case '-07':
      return sign + hh;
    case '-0700':
      return sign + hh + mm;
    case '-07:00':
      return sign + hh + ':' + mm;
    case '-070000':
      return sign + hh + mm + ss;
    default:
      return sign + hh + ':' + mm + ':' + ss;
  }
}

export function goFormat(c: Civil, layout: string): string {
  let out = '';
  for (const t of tokenize(layout)) {
    if ('lit' in t) {
      out += t.lit;
      continue;
    }
    const h12 = c.hour % 12 === 0 ? 12 : c.hour % 12;
    switch (t.std) {
      case '2006':
        out += pad(c.year, 4);
        break;
      case '06':
        out += pad(((c.year % 100) + 100) % 100, 2);
        break;
      case 'January':
        out += MONTHS[c.month - 1];
        break;
      case 'Jan':
        out += MONTHS[c.month - 1]!.slice(0, 3);
        break;
      case '01':
        out += pad(c.month, 2);
        break;
      case '1':
        out += String(c.month);
        break;
      case 'Monday':
        out += DAYS[c.weekday];
        break;
      case 'Mon':
        out += DAYS[c.weekday]!.slice(0, 3);
        break;
      case '02':
        out += pad(c.day, 2);
        break;
      case '_2':
        out += pad(c.day, 2, ' ');
        break;
      case '2':
        out += String(c.day);
        break;
      case '002':
        out += pad(c.yday, 3);
        break;
      case '__2':
        out += pad(c.yday, 3, ' ');
        break;
      case '15':
        out += pad(c.hour, 2);
        break;
      case '03':
        out += pad(h12, 2);
        break;
      case '3':
        out += String(h12);
        break;
      case '04':
        out += pad(c.minute, 2);
        break;
      case '4':
        out += String(c.minute);
        break;
      case '05':
        out += pad(c.second, 2);
        break;
      case '5':
        out += String(c.second);
        break;
      case 'PM':
        out += c.hour >= 12 ? 'PM' : 'AM';
        break;
      case 'pm':
        out += c.hour >= 12 ? 'pm' : 'am';
        break;
      case 'MST':
        out += c.abbrev;
        break;
      case 'frac0':
        out += '.' + pad(c.nanos, 9).slice(0, t.digits);
        break;
      case 'frac9': {
        const f = pad(c.nanos, 9).slice(0, t.digits).replace(/0+$/, '');
        out += f ? '.' + f : '';
        break;
      }
      default:
        out += fmtOffset(c.offset, t.std);
    }
  }
  return out;
}

class ParseFail extends Error {}

/** Go's time.Parse (with a default location for layouts without a zone). */
export function goParse(layout: string, value: string, defaultZone: Zone): bigint {
  let v = value;
  let year = 1;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let nanos = 0;
  let pm: boolean | undefined;
  let offset: number | undefined;
  let yday = -1;
  const fail = (elem: string) => {
    throw new ParseFail(`parsing time ${JSON.stringify(value)} as ${JSON.stringify(layout)}: cannot parse ${JSON.stringify(v)} as ${JSON.stringify(elem)}`);
  };
  const num = (elem: string, min: number, max: number): number => {
    const m = new RegExp(`^[0-9]{${min},${max}}`).exec(v);
    if (!m) fail(elem);
    v = v.slice(m![0].length);
    return Number(m![0]);
  };
  const toks = tokenize(layout);
  for (let ti = 0; ti < toks.length; ti++) {
    const t = toks[ti]!;
    if ('lit' in t) {
      // Go skips leading spaces in both when the literal starts with a space.
      if (!v.startsWith(t.lit)) fail(t.lit);
      v = v.slice(t.lit.length);
      continue;
    }
    const std = t.std;
    switch (std) {
      case '2006':
        year = num(std, 4, 4);
        break;
      case '06': {
        const yy = num(std, 2, 2);
        year = yy >= 69 ? 1900 + yy : 2000 + yy;
        break;
      }
      case 'January':
      case 'Jan': {
        const names = std === 'Jan' ? MONTHS.map((m) => m.slice(0, 3)) : MONTHS;
        const idx = names.findIndex((m) => v.toLowerCase().startsWith(m.toLowerCase()));
        if (idx < 0) fail(std);
        v = v.slice(names[idx]!.length);
        month = idx + 1;
        break;
      }
      case '01':
        month = num(std, 2, 2);
        break;
      case '1':
        month = num(std, 1, 2);
        break;
      case 'Monday':
      case 'Mon': {
        const names = std === 'Mon' ? DAYS.map((m) => m.slice(0, 3)) : DAYS;
        const idx = names.findIndex((m) => v.toLowerCase().startsWith(m.toLowerCase()));
        if (idx < 0) fail(std);
        v = v.slice(names[idx]!.length);
        break;
      }
      case '02':
        day = num(std, 2, 2);
        break;
      case '_2':
        if (v.startsWith(' ')) v = v.slice(1);
        day = num(std, 1, 2);
        break;
      case '2':
        day = num(std, 1, 2);
        break;
      case '002':
        yday = num(std, 3, 3);
        break;
      case '__2':
        v = v.replace(/^ {1,2}/, '');
        yday = num(std, 1, 3);
        break;
      case '15':
        hour = num(std, 1, 2);
        break;
      case '03':
        hour = num(std, 2, 2);
        break;
      case '3':
        hour = num(std, 1, 2);
        break;
      case '04':
        minute = num(std, 2, 2);
        break;
      case '4':
        minute = num(std, 1, 2);
        break;
      case '05':
      case '5': {
        second = num(std, std === '05' ? 2 : 1, 2);
        // A fraction after the seconds is accepted even when the layout has none (Go).
        const next = toks[ti + 1];
        const m = /^[.,]([0-9]+)/.exec(v);
        if (m && !(next && 'std' in next && next.std.startsWith('frac'))) {
          nanos = Number(m[1]!.slice(0, 9).padEnd(9, '0'));
          v = v.slice(m[0].length);
        }
        break;
      }
      case 'PM':
      case 'pm': {
        const ap = v.slice(0, 2).toUpperCase();
        if (ap !== 'AM' && ap !== 'PM') fail(std);
        pm = ap === 'PM';
        v = v.slice(2);
        break;
      }
      case 'MST': {
        const m = /^(UTC|GMT[+-]?\d*|[A-Z]{3,5}|[+-]\d\d)/.exec(v);
        if (!m) fail(std);
        v = v.slice(m![0].length);
        offset ??= 0;
        break;
      }
      case 'frac0': {
        const m = /^[.,]([0-9]+)/.exec(v);
        if (!m || m[1]!.length !== t.digits) fail('.' + '0'.repeat(t.digits!));
        nanos = Number(m![1]!.slice(0, 9).padEnd(9, '0'));
        v = v.slice(m![0].length);
        break;
      }
      case 'frac9': {
        const m = /^[.,]([0-9]+)/.exec(v);
        if (m) {
          nanos = Number(m[1]!.slice(0, 9).padEnd(9, '0'));
          v = v.slice(m[0].length);
        }
        break;
      }
      default: {
        if (std.startsWith('Z') && v.startsWith('Z')) {
          v = v.slice(1);
          offset = 0;
          break;
        }
        const shape = std.replace(/^Z/, '-');
        const re: Record<string, RegExp> = {
          '-07': /^([+-])(\d\d)/,
          '-0700': /^([+-])(\d\d)(\d\d)/,
          '-07:00': /^([+-])(\d\d):(\d\d)/,
          '-070000': /^([+-])(\d\d)(\d\d)(\d\d)/,
          '-07:00:00': /^([+-])(\d\d):(\d\d):(\d\d)/,
        };
        const m = re[shape]!.exec(v);
        if (!m) fail(std);
        const sec = Number(m![2]) * 3600 + Number(m![3] ?? 0) * 60 + Number(m![4] ?? 0);
        offset = m![1] === '-' ? -sec : sec;
        v = v.slice(m![0].length);
      }
    }
  }
  if (v !== '') throw new ParseFail(`parsing time ${JSON.stringify(value)}: extra text: ${JSON.stringify(v)}`);
  if (pm !== undefined) {
    if (hour > 12) throw new ParseFail(`parsing time ${JSON.stringify(value)}: hour out of range`);
    if (pm && hour < 12) hour += 12;
    else if (!pm && hour === 12) hour = 0;
  }
  if (yday >= 0) {
    const d = new Date(Date.UTC(2000, 0, yday));
    d.setUTCFullYear(year);
    const base = new Date(0);
    base.setUTCFullYear(year, 0, yday);
    month = base.getUTCMonth() + 1;
    day = base.getUTCDate();
  }
  const dim = [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (month < 1 || month > 12) throw new ParseFail(`parsing time ${JSON.stringify(value)}: month out of range`);
  if (day < 1 || day > dim[month - 1]!) throw new ParseFail(`parsing time ${JSON.stringify(value)}: day out of range`);
  if (hour > 23 || minute > 59 || second > 59) throw new ParseFail(`parsing time ${JSON.stringify(value)}: time out of range`);
  const zone = offset !== undefined ? fixedZone(offset, '') : defaultZone;
  return fromCivil(year, month, day, hour, minute, second, nanos, zone);
}

// ---- operands

function inRange(name: string, ns: bigint): bigint {
  if (ns < INT64_MIN || ns > INT64_MAX) throw builtinError(name, 'time outside of valid range');
  return ns;
}

function nsOf(name: string, v: Value, pos: number): bigint {
  if (!isNumber(v)) throw typeError(name, pos, 'number', v);
  const ns = typeof v === 'bigint' ? v : BigInt(Math.trunc(v));
  if (ns < INT64_MIN || ns > INT64_MAX) throw builtinError(name, 'timestamp too big');
  return ns;
}

/** A `ns` or `[ns, tz]` (or `[ns, tz, layout]`) operand. */
function instant(name: string, v: Value, pos: number, maxLen = 2): { ns: bigint; zone: Zone; layout?: string } {
  if (isNumber(v)) return { ns: nsOf(name, v, pos), zone: UTC };
  if (Array.isArray(v) && v.length >= 1 && v.length <= maxLen) {
    const ns = nsOf(name, v[0] as Value, pos);
    const tz = v.length > 1 ? v[1] : '';
    if (typeof tz !== 'string') throw typeError(name, pos, 'string', tz as Value);
    const layout = v.length > 2 ? v[2] : undefined;
    if (layout !== undefined && typeof layout !== 'string') throw typeError(name, pos, 'string', layout as Value);
    return { ns, zone: loadZone(tz, name), layout: layout === undefined ? undefined : (LAYOUT_NAMES[layout] ?? layout) };
  }
  throw typeError(name, pos, 'number|array', v);
}

function parseWith(name: string, layout: string, value: string): Value {
  let ns: bigint;
  try {
    ns = goParse(LAYOUT_NAMES[layout] ?? layout, value, UTC);
  } catch (e) {
    if (e instanceof ParseFail) throw builtinError(name, e.message);
    throw e;
  }
  return normNum(inRange(name, ns));
}

const UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1000n,
  'µs': 1000n,
  'μs': 1000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** Go's time.ParseDuration, exact. */
export function parseDuration(name: string, s: string): bigint {
  const orig = s;
  const bad = () => builtinError(name, `time: invalid duration ${JSON.stringify(orig)}`);
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw bad();
  let total = 0n;
  while (s !== '') {
    const m = /^([0-9]*)(?:\.([0-9]*))?/.exec(s)!;
    if (m[0] === '' || m[0] === '.') throw bad();
    s = s.slice(m[0].length);
    const u = /^[^0-9.]+/.exec(s);
    if (!u) throw builtinError(name, `time: missing unit in duration ${JSON.stringify(orig)}`);
    const unit = UNITS[u[0]];
    if (unit === undefined) throw builtinError(name, `time: unknown unit ${JSON.stringify(u[0])} in duration ${JSON.stringify(orig)}`);
    s = s.slice(u[0].length);
    const whole = BigInt(m[1] || '0') * unit;
    const frac = m[2] ?? '';
    const fracNs = frac ? (BigInt(frac) * unit) / 10n ** BigInt(frac.length) : 0n;
    total += whole + fracNs;
    if (total > INT64_MAX) throw builtinError(name, `time: invalid duration ${JSON.stringify(orig)}`);
  }
  return neg ? -total : total;
}

function diff(a: { ns: bigint; zone: Zone }, b: { ns: bigint; zone: Zone }): Value {
  let t1 = a.ns;
  let t2 = b.ns;
  if (t1 > t2) [t1, t2] = [t2, t1];
  const c1 = civil(t1, a.zone);
  const c2 = civil(t2, a.zone);
  let year = c2.year - c1.year;
  let month = c2.month - c1.month;
  let day = c2.day - c1.day;
  let hour = c2.hour - c1.hour;
  let min = c2.minute - c1.minute;
  let sec = c2.second - c1.second;
  if (sec < 0) {
    sec += 60;
    min--;
  }
  if (min < 0) {
    min += 60;
    hour--;
  }
  if (hour < 0) {
    hour += 24;
    day--;
  }
  if (day < 0) {
    const t = new Date(0);
    t.setUTCFullYear(c1.year, c1.month - 1, 32);
    day += 32 - t.getUTCDate();
    month--;
  }
  if (month < 0) {
    month += 12;
    year--;
  }
  return [year, month, day, hour, min, sec];
}

export const TIME_BUILTINS: BuiltinDef[] = [
  def('time.now_ns', [], 'number', (_args, ctx) => normNum(ctx.nowNs()), { nondeterministic: true }),
  def('time.parse_ns', ['string', 'string'], 'number', (args) =>
    parseWith('time.parse_ns', asString('time.parse_ns', args, 0), asString('time.parse_ns', args, 1)),
  ),
  def('time.parse_rfc3339_ns', ['string'], 'number', (args) =>
    parseWith('time.parse_rfc3339_ns', LAYOUT_NAMES.RFC3339!, asString('time.parse_rfc3339_ns', args, 0)),
  ),
  def('time.parse_duration_ns', ['string'], 'number', (args) =>
    normNum(parseDuration('time.parse_duration_ns', asString('time.parse_duration_ns', args, 0))),
  ),
  def('time.date', ['number|array' as 'any'], 'array', (args) => {
    const t = instant('time.date', args[0]!, 1);
    const c = civil(t.ns, t.zone);
    return [c.year, c.month, c.day];
  }),
  def('time.clock', ['number|array' as 'any'], 'array', (args) => {
    const t = instant('time.clock', args[0]!, 1);
    const c = civil(t.ns, t.zone);
    return [c.hour, c.minute, c.second];
  }),
  def('time.weekday', ['number|array' as 'any'], 'string', (args) => {
    const t = instant('time.weekday', args[0]!, 1);
    return DAYS[civil(t.ns, t.zone).weekday]!;
  }),
  def('time.add_date', ['number', 'number', 'number', 'number'], 'number', (args) => {
    const name = 'time.add_date';
    const ns = nsOf(name, args[0]!, 1);
    const [y, m, d] = [1, 2, 3].map((i) => Number(asNumber(name, args, i))) as [number, number, number];
    if (![y, m, d].every((x) => Number.isInteger(x) && Math.abs(x) < 1e7)) throw builtinError(name, 'time outside of valid range');
    const c = civil(ns, UTC);
    const out = fromCivil(c.year + y, c.month + m, c.day + d, c.hour, c.minute, c.second, c.nanos, UTC);
    return normNum(inRange(name, out));
  }),
  def('time.diff', ['any', 'any'], 'array', (args) => diff(instant('time.diff', args[0]!, 1), instant('time.diff', args[1]!, 2))),
  def('time.format', ['any'], 'string', (args) => {
    const t = instant('time.format', args[0]!, 1, 3);
    return goFormat(civil(t.ns, t.zone), t.layout ?? LAYOUT_NAMES.RFC3339Nano!);
  }),
];
