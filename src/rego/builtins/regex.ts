/**
 * Regular expressions with RE2 semantics (re2js — never JavaScript's RegExp, whose backtracking and syntax differ from
 * Go's regexp that OPA uses). Compiled patterns are kept in a bounded module-level LRU.
 */
import { RE2JS } from 're2js';
import { def, asString, asNumber, BuiltinError, Lru, typeError } from './util.js';
import type { BuiltinDef, Value } from './util.js';

const cache = new Lru<string, RE2JS>(256);

/** Compiles a Go/RE2 pattern or throws BuiltinError with Go's message (`error parsing regexp: …`). */
export function compileRegex(name: string, pattern: string): RE2JS {
  const hit = cache.get(pattern);
  if (hit) return hit;
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (e) {
    throw new BuiltinError(`${name}: ${(e as Error).message}`);
  }
  cache.set(pattern, re);
  return re;
}

export interface Match {
  start: number;
  end: number;
  /** Group texts; undefined for a group that did not participate. */
  groups: (string | undefined)[];
  /** Group spans (UTF-16 offsets), -1 when the group did not participate. */
  spans: [number, number][];
}

function charWidth(s: string, i: number): number {
  const c = s.codePointAt(i)!;
  return c > 0xffff ? 2 : 1;
}

/** Go's FindAll…: successive non-overlapping matches; an empty match right after a previous match is ignored. */
export function findAll(re: RE2JS, s: string, n: number): Match[] {
  const out: Match[] = [];
  const m = re.matcher(s);
  const ngroups = re.groupCount();
  let pos = 0;
  let prevEnd = -1;
  while ((n < 0 || out.length < n) && pos <= s.length) {
    if (!m.find(pos)) break;
    const start = m.start();
    const end = m.end();
    let accept = true;
    if (end === pos) {
      if (start === prevEnd) accept = false;
      pos += pos < s.length ? charWidth(s, pos) : 1;
    } else {
      pos = end;
    }
    prevEnd = end;
    if (accept) {
      const groups: (string | undefined)[] = [];
      const spans: [number, number][] = [];
      for (let g = 0; g <= ngroups; g++) {
        const t = m.group(g);
        groups.push(t === null ? undefined : t);
        spans.push(t === null ? [-1, -1] : [m.start(g), m.end(g)]);
      }
      out.push({ start, end, groups, spans });
    }
  }
  return out;
}

/** Go's Regexp.Split(s, -1). */
export function regexSplit(re: RE2JS, s: string): string[] {
  if (s === '' && re.pattern() !== '') return [''];
  const matches = findAll(re, s, -1);
  const out: string[] = [];
  let beg = 0;
  let end = 0;
  for (const mt of matches) {
    end = mt.start;
    if (mt.end !== 0) out.push(s.slice(beg, end));
    beg = mt.end;
  }
  if (end !== s.length) out.push(s.slice(beg));
  return out;
}

/** Go's Regexp.Expand template: `$1`, `${1}`, `$name`, `${name}`, `$$`. A name is the longest run of [A-Za-z0-9_]. */
export function expandTemplate(re: RE2JS, tpl: string, mt: Match): string {
  let out = '';
  const named = re.namedGroups();
  for (let i = 0; i < tpl.length; i++) {
    const c = tpl[i]!;
    if (c !== '$' || i + 1 >= tpl.length) {
      out += c;
      continue;
    }
    const next = tpl[i + 1]!;
    if (next === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string | undefined;
    let consumed = 0;
    if (next === '{') {
      const close = tpl.indexOf('}', i + 2);
      const inner = close < 0 ? '' : tpl.slice(i + 2, close);
      if (close >= 0 && /^[A-Za-z0-9_]+$/.test(inner)) {
        name = inner;
        consumed = close - i;
      }
    } else {
      const mm = /^[A-Za-z0-9_]+/.exec(tpl.slice(i + 1));
      if (mm) {
        name = mm[0];
        consumed = mm[0].length;
      }
    }
    if (name === undefined) {
      out += c; // malformed: Go copies the '$' literally
      continue;
    }
    i += consumed;
    let idx: number | undefined;
    if (/^[0-9]+$/.test(name)) idx = Number(name);
    else idx = named[name];
    if (idx !== undefined && idx < mt.groups.length) out += mt.groups[idx] ?? '';
  }
  return out;
}

function replaceAll(re: RE2JS, s: string, tpl: string): string {
  const matches = findAll(re, s, -1);
  let out = '';
  let last = 0;
  for (const mt of matches) {
    out += s.slice(last, mt.start) + expandTemplate(re, tpl, mt);
    last = mt.end;
  }
  return out + s.slice(last);
}

/** Go's regexp.QuoteMeta. */
export function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

function delimiterIndices(s: string, open: string, close: string): number[] {
  let level = 0;
  let idx = 0;
  const idxs: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === open) {
      if (++level === 1) idx = i;
    } else if (s[i] === close) {
      level--;
      if (level === 0) idxs.push(idx, i + 1);
      else if (level < 0) throw new BuiltinError(`regex.template_match: unbalanced braces in ${JSON.stringify(s)}`);
    }
  }
  if (level !== 0) throw new BuiltinError(`regex.template_match: unbalanced braces in ${JSON.stringify(s)}`);
  return idxs;
}

function templateRegex(tpl: string, open: string, close: string): RE2JS {
  const idxs = delimiterIndices(tpl, open, close);
  let pattern = '^';
  let end = 0;
  for (let i = 0; i < idxs.length; i += 2) {
    const raw = tpl.slice(end, idxs[i]);
    end = idxs[i + 1]!;
    const patt = tpl.slice(idxs[i]! + 1, end - 1);
    compileRegex('regex.template_match', `^${patt}$`);
    pattern += `${quoteMeta(raw)}(${patt})`;
  }
  pattern += quoteMeta(tpl.slice(end)) + '$';
  return compileRegex('regex.template_match', pattern);
}

function count(name: string, args: Value[], i: number): number {
  const n = asNumber(name, args, i);
  return Number(n);
}

export const REGEX_BUILTINS: BuiltinDef[] = [
  def('regex.match', ['string', 'string'], 'boolean', (args) =>
    compileRegex('regex.match', asString('regex.match', args, 0)).test(asString('regex.match', args, 1)),
  ),
  def('re_match', ['string', 'string'], 'boolean', (args) =>
    compileRegex('re_match', asString('re_match', args, 0)).test(asString('re_match', args, 1)),
  ),
  def('regex.is_valid', ['any'], 'boolean', (args) => {
    const p = args[0];
    if (typeof p !== 'string') return false;
    try {
      compileRegex('regex.is_valid', p);
      return true;
    } catch {
      return false;
    }
  }),
  def('regex.split', ['string', 'string'], 'array', (args) =>
    regexSplit(compileRegex('regex.split', asString('regex.split', args, 0)), asString('regex.split', args, 1)),
  ),
  def('regex.find_n', ['string', 'string', 'number'], 'array', (args) => {
    const re = compileRegex('regex.find_n', asString('regex.find_n', args, 0));
    return findAll(re, asString('regex.find_n', args, 1), count('regex.find_n', args, 2)).map((m) => m.groups[0]!);
  }),
  def('regex.find_all_string_submatch_n', ['string', 'string', 'number'], 'array', (args) => {
    const name = 'regex.find_all_string_submatch_n';
    const re = compileRegex(name, asString(name, args, 0));
    return findAll(re, asString(name, args, 1), count(name, args, 2)).map((m) => m.groups.map((g) => g ?? ''));
  }),
  def('regex.replace', ['string', 'string', 'string'], 'string', (args) => {
    const s = asString('regex.replace', args, 0);
    const re = compileRegex('regex.replace', asString('regex.replace', args, 1));
    return replaceAll(re, s, asString('regex.replace', args, 2));
  }),
  def('regex.template_match', ['string', 'string', 'string', 'string'], 'boolean', (args) => {
    const name = 'regex.template_match';
    const tpl = asString(name, args, 0);
    const s = asString(name, args, 1);
    const open = asString(name, args, 2);
    const close = asString(name, args, 3);
    if (open.length === 0) throw typeError(name, 3, 'string', open);
    if (close.length === 0) throw typeError(name, 4, 'string', close);
    return templateRegex(tpl, open[0]!, close[0]!).test(s);
  }),
];
