/** Arithmetic: + - * / % abs round ceil floor numbers.range numbers.range_step, and set difference through `minus`. */
import { def, asNumber, asInteger, asSet, typeError, builtinError, BuiltinError, BuiltinTypeError, RegoSet, isNumber } from './util.js';
import type { BuiltinDef, Value } from './util.js';
import { toDec, fromDec, decAdd, decSub, decMul, decDiv, isInt } from './decimal.js';
import { normNum } from '../value.js';

function checkFinite(name: string, n: number | bigint): number | bigint {
  if (typeof n === 'number' && !Number.isFinite(n)) throw builtinError(name, 'number out of range');
  return n;
}

function binNum(name: string, op: (a: number | bigint, b: number | bigint) => number | bigint) {
  return (args: Value[]): Value => {
    const a = asNumber(name, args, 0);
    const b = asNumber(name, args, 1);
    return checkFinite(name, op(a, b));
  };
}

function plus(a: number | bigint, b: number | bigint): number | bigint {
  if (typeof a === 'number' && typeof b === 'number' && Number.isSafeInteger(a) && Number.isSafeInteger(b)) {
    const r = a + b;
    return Number.isSafeInteger(r) ? r : normNum(BigInt(a) + BigInt(b));
  }
  return fromDec(decAdd(toDec(a), toDec(b)));
}

function sub(a: number | bigint, b: number | bigint): number | bigint {
  if (typeof a === 'number' && typeof b === 'number' && Number.isSafeInteger(a) && Number.isSafeInteger(b)) {
    const r = a - b;
    return Number.isSafeInteger(r) ? r : normNum(BigInt(a) - BigInt(b));
  }
  return fromDec(decSub(toDec(a), toDec(b)));
}

function mul(a: number | bigint, b: number | bigint): number | bigint {
  return fromDec(decMul(toDec(a), toDec(b)));
}

export function divide(name: string, a: number | bigint, b: number | bigint): number | bigint {
  if (b === 0 || b === 0n) throw builtinError(name, 'divide by zero');
  return fromDec(decDiv(toDec(a), toDec(b)));
}

function minus(args: Value[]): Value {
  const [a, b] = args as [Value, Value];
  if (isNumber(a)) {
    if (!isNumber(b)) throw typeError('minus', 2, 'number', b);
    return checkFinite('minus', sub(a, b));
  }
  if (a instanceof RegoSet) {
    if (!(b instanceof RegoSet)) throw typeError('minus', 2, 'set', b);
    return new RegoSet(a.values().filter((x) => !b.has(x)));
  }
  throw typeError('minus', 1, 'number|set', a);
}

function rem(args: Value[]): Value {
  const a = asNumber('rem', args, 0);
  const b = asNumber('rem', args, 1);
  if (!isInt(a) || !isInt(b)) throw builtinError('rem', 'modulo on floating-point number');
  if (b === 0 || b === 0n) throw builtinError('rem', 'modulo by zero');
  if (typeof a === 'number' && typeof b === 'number') return normNum(a % b);
  return normNum(BigInt(a) % BigInt(b));
}

function unaryInt(name: string, f: (x: number) => number) {
  return (args: Value[]): Value => {
    const a = asNumber(name, args, 0);
    if (typeof a === 'bigint') return a;
    return checkFinite(name, normNum(f(a)));
  };
}

function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

function range(name: string, a: bigint, b: bigint, step: bigint): Value {
  const out: Value[] = [];
  const count = (a <= b ? b - a : a - b) / step + 1n;
  if (count > 1_000_000n) throw builtinError(name, 'range too large');
  if (a <= b) for (let x = a; x <= b; x += step) out.push(normNum(x));
  else for (let x = a; x >= b; x -= step) out.push(normNum(x));
  return out;
}

export const ARITH_BUILTINS: BuiltinDef[] = [
  def('plus', ['number', 'number'], 'number', binNum('plus', plus), { infix: '+' }),
  def('minus', ['any', 'any'], 'any', minus, { infix: '-' }),
  def('set_diff', ['set', 'set'], 'set', (args) => {
    const a = asSet('set_diff', args, 0);
    const b = asSet('set_diff', args, 1);
    return new RegoSet(a.values().filter((x) => !b.has(x)));
  }),
  def('mul', ['number', 'number'], 'number', binNum('mul', mul), { infix: '*' }),
  def('div', ['number', 'number'], 'number', binNum('div', (a, b) => divide('div', a, b)), { infix: '/' }),
  def('rem', ['number', 'number'], 'number', rem, { infix: '%' }),
  def('abs', ['number'], 'number', (args) => {
    const a = asNumber('abs', args, 0);
    return typeof a === 'bigint' ? normNum(a < 0n ? -a : a) : normNum(Math.abs(a));
  }),
  def('round', ['number'], 'number', unaryInt('round', roundHalfAway)),
  def('ceil', ['number'], 'number', unaryInt('ceil', Math.ceil)),
  def('floor', ['number'], 'number', unaryInt('floor', Math.floor)),
  def('numbers.range', ['number', 'number'], 'array', (args) =>
    range('numbers.range', asInteger('numbers.range', args, 0), asInteger('numbers.range', args, 1), 1n),
  ),
  def('numbers.range_step', ['number', 'number', 'number'], 'array', (args) => {
    const a = asInteger('numbers.range_step', args, 0);
    const b = asInteger('numbers.range_step', args, 1);
    const s = asNumber('numbers.range_step', args, 2);
    if (!isInt(s)) throw new BuiltinTypeError('numbers.range_step: operand 3 must be integer number but got floating-point number');
    const step = BigInt(s);
    if (step <= 0n) throw new BuiltinError('numbers.range_step: step must be a positive number above zero');
    return range('numbers.range_step', a, b, step);
  }),
];
