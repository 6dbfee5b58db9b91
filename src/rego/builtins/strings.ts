/** String built-ins. Indexes and lengths count Unicode code points, as OPA does (it works on Go runes). */
import { def, asString, asNumber, asObject, typeError, builtinError, BuiltinTypeError, RegoSet, isNumber } from './util.js';
import type { BuiltinDef, Value } from './util.js';
import { runeCount } from './aggregates.js';

function codePoints(s: string): string[] {
  return [...s];
}

/** Code-point index of the first occurrence of `sub` at or after UTF-16 offset `from`, or -1. */
function cpIndex(s: string, utf16Index: number): number {
  return runeCount(s.slice(0, utf16Index));
}

/** Go's unicode.IsSpace. */
export function isGoSpace(c: string): boolean {
  switch (c) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case '\u0085':
    case '\u00a0':
    case '\u1680':
    case '\u2028':
    case '\u2029':
    case '\u202f':
    case '\u205f':
    case '\u3000':
      return true;
  }
  return c >= '\u2000' && c <= '\u200a';
}

function trimLeftFn(s: string, f: (c: string) => boolean): string {
  const cps = codePoints(s);
  let i = 0;
  while (i < cps.length && f(cps[i]!)) i++;
  return cps.slice(i).join('');
}

function trimRightFn(s: string, f: (c: string) => boolean): string {
  const cps = codePoints(s);
  let j = cps.length;
  while (j > 0 && f(cps[j - 1]!)) j--;
  return cps.slice(0, j).join('');
}

function cutset(s: string): (c: string) => boolean {
  const set = new Set(codePoints(s));
  return (c) => set.has(c);
}

/** Strings of a string|array|set operand for any_prefix_match/any_suffix_match, with OPA's error wording. */
function stringsOf(name: string, args: Value[], i: number): string[] {
  const v = args[i]!;
  if (typeof v === 'string') return [v];
  const kind = Array.isArray(v) ? 'array' : v instanceof RegoSet ? 'set' : undefined;
  if (!kind) throw typeError(name, i + 1, 'string|set|array', v);
  const xs = Array.isArray(v) ? v : (v as RegoSet).values();
  return xs.map((x) => {
    if (typeof x !== 'string') throw new BuiltinTypeError(`${name}: operand ${i + 1} must be ${kind} of strings but got ${kind} containing ${typeOfName(x)}`);
    return x;
  });
}

function typeOfName(x: Value): string {
  return isNumber(x) ? 'number' : x === null ? 'null' : Array.isArray(x) ? 'array' : typeof x === 'object' ? (x instanceof RegoSet ? 'set' : 'object') : typeof x;
}

/** Go's strings.Replacer semantics: at each position the first (in sorted key order) matching old string wins. */
function replaceN(patterns: [string, string][], s: string): string {
  const pats = patterns.filter((p) => p[0] !== '');
  if (pats.length === 0) return s;
  let out = '';
  let i = 0;
  outer: while (i < s.length) {
    for (const [oldS, newS] of pats) {
      if (s.startsWith(oldS, i)) {
        out += newS;
        i += oldS.length;
        continue outer;
      }
    }
    const cp = String.fromCodePoint(s.codePointAt(i)!);
    out += cp;
    i += cp.length;
  }
  return out;
}

function indexOfAll(s: string, sub: string): number[] {
  const out: number[] = [];
  if (sub === '') return out;
  let from = 0;
  for (;;) {
    const k = s.indexOf(sub, from);
    if (k < 0) break;
    out.push(cpIndex(s, k));
    const cp = String.fromCodePoint(s.codePointAt(k)!);
    from = k + cp.length;
  }
  return out;
}

function countNonOverlapping(s: string, sub: string): number {
  if (sub === '') return runeCount(s) + 1;
  let n = 0;
  let from = 0;
  for (;;) {
    const k = s.indexOf(sub, from);
    if (k < 0) return n;
    n++;
    from = k + sub.length;
  }
}

function goSplit(s: string, sep: string): string[] {
  if (sep === '') return codePoints(s);
  return s.split(sep);
}

/** Go's strings.ToUpper/ToLower map rune by rune (no multi-character expansions such as ß → SS). */
function mapRunes(s: string, f: (c: string) => string): string {
  let out = '';
  for (const c of s) {
    const m = f(c);
    out += [...m].length === 1 ? m : c;
  }
  return out;
}

function formatInt(args: Value[]): Value {
  const n = asNumber('format_int', args, 0);
  const base = asNumber('format_int', args, 1);
  const b = Number(base);
  if (![2, 8, 10, 16].includes(b)) throw new BuiltinTypeError('format_int: operand 2 must be one of {2, 8, 10, 16}');
  const i = typeof n === 'bigint' ? n : BigInt(Math.trunc(n));
  return i.toString(b);
}

export const STRING_BUILTINS: BuiltinDef[] = [
  def('concat', ['string', 'array|set'], 'string', (args) => {
    const delim = asString('concat', args, 0);
    const v = args[1]!;
    const xs = Array.isArray(v) ? v : v instanceof RegoSet ? v.values() : undefined;
    if (!xs) throw typeError('concat', 2, 'set|array', v);
    return xs
      .map((x) => {
        if (typeof x !== 'string') throw new BuiltinTypeError(`concat: operand 2 must be array of strings but got ${Array.isArray(v) ? 'array' : 'set'} containing ${typeOfName(x)}`);
        return x;
      })
      .join(delim);
  }),
  def('contains', ['string', 'string'], 'boolean', (args) => asString('contains', args, 0).includes(asString('contains', args, 1))),
  def('startswith', ['string', 'string'], 'boolean', (args) => asString('startswith', args, 0).startsWith(asString('startswith', args, 1))),
  def('endswith', ['string', 'string'], 'boolean', (args) => asString('endswith', args, 0).endsWith(asString('endswith', args, 1))),
  def('format_int', ['number', 'number'], 'string', formatInt),
  def('indexof', ['string', 'string'], 'number', (args) => {
    const s = asString('indexof', args, 0);
    const sub = asString('indexof', args, 1);
    const k = s.indexOf(sub);
    return k < 0 ? -1 : cpIndex(s, k);
  }),
  def('indexof_n', ['string', 'string'], 'array', (args) => indexOfAll(asString('indexof_n', args, 0), asString('indexof_n', args, 1))),
  def('lower', ['string'], 'string', (args) => mapRunes(asString('lower', args, 0), (c) => c.toLowerCase())),
  def('upper', ['string'], 'string', (args) => mapRunes(asString('upper', args, 0), (c) => c.toUpperCase())),
  def('replace', ['string', 'string', 'string'], 'string', (args) => {
    const s = asString('replace', args, 0);
    const oldS = asString('replace', args, 1);
    const newS = asString('replace', args, 2);
    if (oldS === '') return newS + codePoints(s).map((c) => c + newS).join('');
    return s.split(oldS).join(newS);
  }),
  def('strings.replace_n', ['object', 'string'], 'string', (args) => {
    const obj = asObject('strings.replace_n', args, 0);
    const s = asString('strings.replace_n', args, 1);
    const pats: [string, string][] = [];
    for (const [k, v] of obj.entries()) {
      if (typeof k !== 'string') throw new BuiltinTypeError('strings.replace_n: operand 1 non-string key found in pattern object');
      if (typeof v !== 'string') throw new BuiltinTypeError('strings.replace_n: operand 1 non-string value found in pattern object');
      pats.push([k, v]);
    }
    return replaceN(pats, s);
  }),
  def('strings.reverse', ['string'], 'string', (args) => {
    const v = args[0]!;
    if (typeof v !== 'string') throw typeError('reverse', 1, 'string', v);
    return codePoints(v).reverse().join('');
  }),
  def('strings.count', ['string', 'string'], 'number', (args) =>
    countNonOverlapping(asString('strings.count', args, 0), asString('strings.count', args, 1)),
  ),
  def('strings.any_prefix_match', ['string|array|set', 'string|array|set'], 'boolean', (args) => {
    const ss = stringsOf('strings.any_prefix_match', args, 0);
    const ps = stringsOf('strings.any_prefix_match', args, 1);
    return ss.some((s) => ps.some((p) => s.startsWith(p)));
  }),
  def('strings.any_suffix_match', ['string|array|set', 'string|array|set'], 'boolean', (args) => {
    const ss = stringsOf('strings.any_suffix_match', args, 0);
    const ps = stringsOf('strings.any_suffix_match', args, 1);
    return ss.some((s) => ps.some((p) => s.endsWith(p)));
  }),
  def('split', ['string', 'string'], 'array', (args) => goSplit(asString('split', args, 0), asString('split', args, 1))),
  def('substring', ['string', 'number', 'number'], 'string', (args) => {
    const s = asString('substring', args, 0);
    const off = asNumber('substring', args, 1);
    const len = asNumber('substring', args, 2);
    const o = Number(off);
    const l = Number(len);
    if (!Number.isInteger(o)) throw new BuiltinTypeError('substring: operand 2 must be integer number but got floating-point number');
    if (!Number.isInteger(l)) throw new BuiltinTypeError('substring: operand 3 must be integer number but got floating-point number');
    if (o < 0) throw builtinError('substring', 'negative offset');
    const cps = codePoints(s);
    if (o >= cps.length) return '';
    if (l < 0) return cps.slice(o).join('');
    return cps.slice(o, o + l).join('');
  }),
  def('trim', ['string', 'string'], 'string', (args) => {
    const f = cutset(asString('trim', args, 1));
    return trimRightFn(trimLeftFn(asString('trim', args, 0), f), f);
  }),
  def('trim_left', ['string', 'string'], 'string', (args) => trimLeftFn(asString('trim_left', args, 0), cutset(asString('trim_left', args, 1)))),
  def('trim_right', ['string', 'string'], 'string', (args) => trimRightFn(asString('trim_right', args, 0), cutset(asString('trim_right', args, 1)))),
  def('trim_prefix', ['string', 'string'], 'string', (args) => {
    const s = asString('trim_prefix', args, 0);
    const p = asString('trim_prefix', args, 1);
    return s.startsWith(p) ? s.slice(p.length) : s;
  }),
  def('trim_suffix', ['string', 'string'], 'string', (args) => {
    const s = asString('trim_suffix', args, 0);
    const p = asString('trim_suffix', args, 1);
    return p !== '' && s.endsWith(p) ? s.slice(0, s.length - p.length) : s;
  }),
  def('trim_space', ['string'], 'string', (args) => trimRightFn(trimLeftFn(asString('trim_space', args, 0), isGoSpace), isGoSpace)),
];
