/**
 * glob.match with gobwas/glob semantics (what OPA uses): `*` any run of non-delimiter characters, `**` any run,
 * `?` one non-delimiter character, `[abc]` `[!abc]` `[a-z]` character lists, `{a,b}` alternatives, `\` escapes.
 * Patterns are translated to RE2 and compiled through the regex cache.
 */
import { def, asString, BuiltinError, BuiltinTypeError, RegoSet, Lru, typeName } from './util.js';
import type { BuiltinDef, Value } from './util.js';
import { compileRegex, quoteMeta } from './regex.js';
import type { RE2JS } from 're2js';

function reClassEscape(c: string): string {
  return /[\\\]\[^-]/.test(c) ? '\\' + c : c;
}

/** Translates a glob to an anchored RE2 pattern. */
export function globToRegex(glob: string, delimiters: string[]): string {
  const notDelim = delimiters.length ? '[^' + delimiters.map((d) => [...d].map(reClassEscape).join('')).join('') + ']' : '(?s:.)';
  let out = '';
  let depth = 0;
  const cps = [...glob];
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!;
    switch (c) {
      case '\\':
        if (i + 1 >= cps.length) throw new BuiltinError('glob.match: unexpected end of input after escape');
        out += quoteMeta(cps[++i]!);
        break;
      case '*':
        if (cps[i + 1] === '*') {
          out += '(?s:.*)';
          i++;
        } else out += notDelim + '*';
        break;
      case '?':
        out += notDelim;
        break;
      case '[': {
        let j = i + 1;
        let negate = false;
        if (cps[j] === '!') {
          negate = true;
          j++;
        }
        let cls = '';
        let closed = false;
        for (; j < cps.length; j++) {
          const d = cps[j]!;
          if (d === ']') {
            closed = true;
            break;
          }
          if (d === '\\' && j + 1 < cps.length) {
            cls += reClassEscape(cps[++j]!);
            continue;
          }
          if (d === '-' && cls !== '' && cps[j + 1] !== ']') {
            cls += '-';
            continue;
          }
          cls += reClassEscape(d);
        }
        if (!closed || cls === '') throw new BuiltinError(`glob.match: unexpected end of input in character class`);
        out += '[' + (negate ? '^' : '') + cls + ']';
        i = j;
        break;
      }
      case '{':
        depth++;
        out += '(?:';
        break;
      case '}':
        if (depth === 0) throw new BuiltinError('glob.match: unexpected }');
        depth--;
        out += ')';
        break;
      case ',':
        out += depth > 0 ? '|' : ',';
        break;
      default:
        out += quoteMeta(c);
    }
  }
  if (depth !== 0) throw new BuiltinError('glob.match: unclosed {');
  return '^(?:' + out + ')$';
}

const globCache = new Lru<string, RE2JS>(256);

function delimitersOf(v: Value): string[] {
  if (v === null) return [];
  const xs = Array.isArray(v) ? v : v instanceof RegoSet ? v.values() : undefined;
  if (!xs) throw new BuiltinTypeError(`glob.match: operand 2 must be one of {array, null} but got ${typeName(v)}`);
  const ds = xs.map((x) => {
    if (typeof x !== 'string') throw new BuiltinTypeError(`glob.match: operand 2 must be array of strings but got array containing ${typeName(x)}`);
    return x;
  });
  return ds.length === 0 ? ['.'] : ds;
}

export const GLOB_BUILTINS: BuiltinDef[] = [
  def('glob.match', ['string', 'any', 'string'], 'boolean', (args) => {
    const pattern = asString('glob.match', args, 0);
    const delims = delimitersOf(args[1]!);
    const s = asString('glob.match', args, 2);
    const key = JSON.stringify([pattern, delims]);
    let re = globCache.get(key);
    if (!re) {
      re = compileRegex('glob.match', globToRegex(pattern, delims));
      globCache.set(key, re);
    }
    return re.test(s);
  }),
  def('glob.quote_meta', ['string'], 'string', (args) => asString('glob.quote_meta', args, 0).replace(/[*?\\[\]{}]/g, '\\$&')),
];
