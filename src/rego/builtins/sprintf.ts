/**
 * sprintf with Go's fmt semantics, as OPA calls it: integers are passed as big.Int, other numbers as float64 (or their
 * text when out of float range), strings as Go strings, everything else as an ast.Value printing its Rego form.
 */
import { def, asString, asArray, BuiltinError } from './util.js';
import type { BuiltinDef, Value } from './util.js';
import { termString, goQuote } from './format.js';
import { stringToBytes } from './bytes.js';

type Arg =
  | { kind: 'int'; v: bigint }
  | { kind: 'float'; v: number }
  | { kind: 'str'; v: string }
  | { kind: 'bool'; v: boolean }
  | { kind: 'term'; v: Value };

function toArg(v: Value): Arg {
  if (typeof v === 'bigint') return { kind: 'int', v };
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return { kind: 'int', v: BigInt(v) };
    if (!Number.isFinite(v)) return { kind: 'str', v: String(v) };
    return { kind: 'float', v };
  }
  if (typeof v === 'string') return { kind: 'str', v };
  if (typeof v === 'boolean') return { kind: 'bool', v };
  return { kind: 'term', v };
}

function goTypeName(a: Arg): string {
  switch (a.kind) {
    case 'int':
      return '*big.Int';
    case 'float':
      return 'float64';
    case 'str':
      return 'string';
    case 'bool':
      return 'ast.Boolean';
    case 'term':
      return a.v === null ? 'ast.Null' : Array.isArray(a.v) ? '*ast.Array' : typeof a.v === 'object' && 'getStr' in (a.v as object) ? '*ast.object' : 'ast.Set';
  }
}

interface Spec {
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width?: number;
  prec?: number;
}

function pad(s: string, spec: Spec, numeric: boolean): string {
  const w = spec.width ?? 0;
  const len = [...s].length;
  if (len >= w) return s;
  if (spec.minus) return s + ' '.repeat(w - len);
  if (spec.zero && numeric) {
    const sign = s[0] === '-' || s[0] === '+' || s[0] === ' ' ? s[0] : '';
    return sign + '0'.repeat(w - len) + s.slice(sign.length);
  }
  return ' '.repeat(w - len) + s;
}

function signed(neg: boolean, body: string, spec: Spec): string {
  return (neg ? '-' : spec.plus ? '+' : spec.space ? ' ' : '') + body;
}

function fmtInt(v: bigint, verb: string, spec: Spec): string {
  const neg = v < 0n;
  const abs = neg ? -v : v;
  let body: string;
  switch (verb) {
    case 'd':
    case 'v':
    case 's':
      body = abs.toString(10);
      break;
    case 'x':
      body = (spec.sharp ? '0x' : '') + abs.toString(16);
      break;
    case 'X':
      body = (spec.sharp ? '0X' : '') + abs.toString(16).toUpperCase();
      break;
    case 'o':
      body = (spec.sharp ? '0' : '') + abs.toString(8);
      break;
    case 'O':
      body = '0o' + abs.toString(8);
      break;
    case 'b':
      body = abs.toString(2);
      break;
    case 'c':
      return pad(String.fromCodePoint(Number(v)), spec, false);
    case 'q':
      return pad("'" + String.fromCodePoint(Number(v)) + "'", spec, false);
    case 'U':
      return pad('U+' + abs.toString(16).toUpperCase().padStart(4, '0'), spec, false);
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
      return fmtFloat(Number(v), verb, spec);
    default:
      return `%!${verb}(big.Int=${v})`;
  }
  if (spec.prec !== undefined) body = body.padStart(spec.prec, '0');
  return pad(signed(neg, body, spec), spec, spec.prec === undefined);
}

/** Go's %e exponent: sign and at least two digits. */
function goExp(e: number): string {
  return (e < 0 ? '-' : '+') + String(Math.abs(e)).padStart(2, '0');
}

function expForm(x: number, digitsAfter: number | undefined): { mant: string; exp: number } {
  const s = digitsAfter === undefined ? x.toExponential() : x.toExponential(digitsAfter);
  const [m, e] = s.split('e') as [string, string];
  return { mant: m, exp: Number(e) };
}

export function fmtFloat(v: number, verb: string, spec: Spec): string {
  const neg = v < 0 || Object.is(v, -0);
  const x = Math.abs(v);
  let body: string;
  if (!Number.isFinite(x)) {
    body = Number.isNaN(x) ? 'NaN' : 'Inf';
    return pad(signed(neg && !Number.isNaN(x), body, spec), spec, false);
  }
  switch (verb) {
    case 'e':
    case 'E': {
      const { mant, exp } = expForm(x, spec.prec ?? 6);
      body = mant + 'e' + goExp(exp);
      if (verb === 'E') body = body.toUpperCase();
      break;
    }
    case 'f':
    case 'F':
      body = fixed(x, spec.prec ?? 6);
      break;
    case 'g':
    case 'G':
    case 'v': {
      const shortest = spec.prec === undefined;
      const p = spec.prec === 0 ? 1 : spec.prec;
      const { mant, exp } = expForm(x, shortest ? undefined : p! - 1);
      let digits = mant.replace('.', '');
      if (!spec.sharp) digits = digits.replace(/0+$/, '') || '0';
      const nd = digits.length;
      const dp = exp + 1;
      let eprec = shortest ? 6 : p!;
      if (!shortest && eprec > nd && nd >= dp) eprec = nd;
      if (exp < -4 || exp >= eprec) {
        body = digits[0]! + (nd > 1 ? '.' + digits.slice(1) : '') + 'e' + goExp(exp);
      } else {
        body = fixed(x, Math.max(nd - dp, 0));
      }
      if (verb === 'G') body = body.toUpperCase();
      break;
    }
    case 's':
    case 'd':
    default:
      return `%!${verb}(float64=${fmtFloat(v, 'g', { minus: false, plus: false, sharp: false, space: false, zero: false })})`;
  }
  return pad(signed(neg, body, spec), spec, true);
}

function fixed(x: number, prec: number): string {
  if (x < 1e21) return x.toFixed(Math.min(prec, 100));
  // toFixed switches to exponent form at 1e21; go through BigInt for the integer part.
  return BigInt(x).toString() + (prec > 0 ? '.' + '0'.repeat(prec) : '');
}

function fmtString(s: string, verb: string, spec: Spec): string {
  if (spec.prec !== undefined) s = [...s].slice(0, spec.prec).join('');
  switch (verb) {
    case 's':
    case 'v':
      return pad(s, spec, false);
    case 'q':
      return pad(goQuote(s), spec, false);
    case 'x':
    case 'X': {
      let h = stringToBytes(s).toString('hex');
      if (verb === 'X') h = h.toUpperCase();
      return pad(h, spec, false);
    }
    default:
      return `%!${verb}(string=${s})`;
  }
}

function fmtArg(a: Arg, verb: string, spec: Spec): string {
  switch (a.kind) {
    case 'int':
      return fmtInt(a.v, verb, spec);
    case 'float':
      return fmtFloat(a.v, verb, spec);
    case 'str':
      return fmtString(a.v, verb, spec);
    case 'bool':
      if (verb === 't' || verb === 'v' || verb === 's') return pad(a.v ? 'true' : 'false', spec, false);
      return `%!${verb}(ast.Boolean=${a.v})`;
    case 'term': {
      const text = termString(a.v);
      if (verb === 'v' || verb === 's') return pad(text, spec, false);
      if (verb === 'q') return pad(goQuote(text), spec, false);
      return `%!${verb}(${goTypeName(a)}=${text})`;
    }
  }
}

function argText(a: Arg): string {
  return fmtArg(a, 'v', { minus: false, plus: false, sharp: false, space: false, zero: false });
}

/** Go allows widths up to 1e6; larger ones would only serve to exhaust memory. */
function limited(n: number): number {
  if (n > 1_000_000) throw new BuiltinError('sprintf: width or precision too large');
  return n;
}

export function goSprintf(format: string, values: Value[]): string {
  const args = values.map(toArg);
  let out = '';
  let argi = 0;
  let i = 0;
  const n = format.length;
  while (i < n) {
    const c = format[i]!;
    if (c !== '%') {
      out += c;
      i++;
      continue;
    }
    i++;
    const spec: Spec = { minus: false, plus: false, sharp: false, space: false, zero: false };
    for (; i < n; i++) {
      const f = format[i];
      if (f === '-') spec.minus = true;
      else if (f === '+') spec.plus = true;
      else if (f === '#') spec.sharp = true;
      else if (f === ' ') spec.space = true;
      else if (f === '0') spec.zero = !spec.minus;
      else break;
    }
    let m = /^\d+/.exec(format.slice(i));
    if (m) {
      spec.width = limited(Number(m[0]));
      i += m[0].length;
    }
    if (format[i] === '.') {
      i++;
      m = /^\d+/.exec(format.slice(i));
      spec.prec = m ? limited(Number(m[0])) : 0;
      if (m) i += m[0].length;
    }
    if (i >= n) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += fmtArg(args[argi++]!, verb, spec);
  }
  if (argi < args.length) {
    out += '%!(EXTRA ' + args.slice(argi).map((a) => `${goTypeName(a)}=${argText(a)}`).join(', ') + ')';
  }
  return out;
}

export const SPRINTF_BUILTINS: BuiltinDef[] = [
  def('sprintf', ['string', 'array'], 'string', (args) => goSprintf(asString('sprintf', args, 0), asArray('sprintf', args, 1))),
];
