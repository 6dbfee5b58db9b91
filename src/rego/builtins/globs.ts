/**
 * regex.globs_match: whether two "globs" (OPA's glob-intersection dialect: literals, `.`, `[...]` classes with ranges
 * and `^` negation, `\` escapes, `*` and `+` quantifiers) match at least one common string. Each glob becomes a list
 * of (character set, repeat) tokens; a breadth-first walk over pairs of positions decides the intersection.
 */
import { def, asString, BuiltinError } from './util.js';
import type { BuiltinDef } from './util.js';

/** Sorted, disjoint, inclusive code-point ranges. */
type CharSet = [number, number][];

const MAX_CP = 0x10ffff;
const ANY: CharSet = [[0, MAX_CP]];

interface Tok {
  set: CharSet;
  star: boolean;
}

function normalize(rs: CharSet): CharSet {
  const sorted = [...rs].sort((a, b) => a[0] - b[0]);
  const out: CharSet = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}

function complement(rs: CharSet): CharSet {
  const out: CharSet = [];
  let next = 0;
  for (const [a, b] of normalize(rs)) {
    if (a > next) out.push([next, a - 1]);
    next = b + 1;
  }
  if (next <= MAX_CP) out.push([next, MAX_CP]);
  return out;
}

function intersects(x: CharSet, y: CharSet): boolean {
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    const [a1, b1] = x[i]!;
    const [a2, b2] = y[j]!;
    if (Math.max(a1, a2) <= Math.min(b1, b2)) return true;
    if (b1 < b2) i++;
    else j++;
  }
  return false;
}

function invalid(input: string, pos: number, what: string): BuiltinError {
  return new BuiltinError(`regex.globs_match: input:${input}, pos:${pos}, ${what}: the input provided is invalid`);
}

export function parseGlob(input: string): Tok[] {
  const cps = [...input];
  const toks: Tok[] = [];
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!;
    switch (c) {
      case '*':
      case '+': {
        const prev = toks[toks.length - 1];
        if (!prev || prev.star) throw invalid(input, i + 1, `quantifier '${c}' with no preceding character`);
        if (c === '*') prev.star = true;
        else toks.push({ set: prev.set, star: true });
        break;
      }
      case '.':
        toks.push({ set: ANY, star: false });
        break;
      case ']':
        throw invalid(input, i + 1, "set-close ']' with no preceding '['");
      case '[': {
        let j = i + 1;
        let negate = false;
        if (cps[j] === '^') {
          negate = true;
          j++;
        }
        const ranges: CharSet = [];
        let closed = false;
        for (; j < cps.length; j++) {
          let d = cps[j]!;
          if (d === ']') {
            closed = true;
            break;
          }
          if (d === '\\') {
            if (++j >= cps.length) break;
            d = cps[j]!;
          }
          const lo = d.codePointAt(0)!;
          if (cps[j + 1] === '-' && cps[j + 2] !== undefined && cps[j + 2] !== ']') {
            const hi = cps[j + 2]!.codePointAt(0)!;
            if (hi < lo) throw invalid(input, j + 3, 'range with end before start');
            ranges.push([lo, hi]);
            j += 2;
          } else ranges.push([lo, lo]);
        }
        if (!closed) throw invalid(input, cps.length, "set-open '[' with no closing ']'");
        toks.push({ set: negate ? complement(ranges) : normalize(ranges), star: false });
        i = j;
        break;
      }
      case '\\': {
        if (i + 1 >= cps.length) throw invalid(input, i + 1, "escape '\\' at end of input");
        const cp = cps[++i]!.codePointAt(0)!;
        toks.push({ set: [[cp, cp]], star: false });
        break;
      }
      default: {
        const cp = c.codePointAt(0)!;
        toks.push({ set: [[cp, cp]], star: false });
      }
    }
  }
  return toks;
}

/** Non-empty intersection of the languages of two token lists. */
export function globsIntersect(a: Tok[], b: Tok[]): boolean {
  const seen = new Set<number>();
  const key = (i: number, j: number) => i * (b.length + 1) + j;
  const queue: [number, number][] = [[0, 0]];
  seen.add(key(0, 0));
  const push = (i: number, j: number) => {
    const k = key(i, j);
    if (!seen.has(k)) {
      seen.add(k);
      queue.push([i, j]);
    }
  };
  while (queue.length) {
    const [i, j] = queue.shift()!;
    if (i === a.length && j === b.length) return true;
    if (i < a.length && a[i]!.star) push(i + 1, j);
    if (j < b.length && b[j]!.star) push(i, j + 1);
    if (i < a.length && j < b.length && intersects(a[i]!.set, b[j]!.set)) {
      push(a[i]!.star ? i : i + 1, b[j]!.star ? j : j + 1);
    }
  }
  return false;
}

export const GLOBS_BUILTINS: BuiltinDef[] = [
  def('regex.globs_match', ['string', 'string'], 'boolean', (args) => {
    const a = parseGlob(asString('regex.globs_match', args, 0));
    const b = parseGlob(asString('regex.globs_match', args, 1));
    return globsIntersect(a, b);
  }),
];
