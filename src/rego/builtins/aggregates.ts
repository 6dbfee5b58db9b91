/** Aggregates: count sum product max min sort all any, and the `in` operator helpers OPA names internal.member_*. */
import { def, typeError, asCollection, isNumber, RegoObject, RegoSet } from './util.js';
import type { BuiltinDef, Value } from './util.js';
import { compare, equal } from '../value.js';
import { toDec, fromDec, decAdd, decMul } from './decimal.js';

/** Number of Unicode code points, counting each byte of an invalid UTF-8 sequence as one (Go's range over string). */
export function runeCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function numericFold(name: string, init: number, f: typeof decAdd) {
  return (args: Value[]): Value => {
    const xs = asCollection(name, args, 0);
    let acc = toDec(init);
    for (const x of xs) {
      if (!isNumber(x)) throw typeError(name, 1, 'array|set', args[0]!);
      acc = f(acc, toDec(x));
    }
    return fromDec(acc);
  };
}

function extreme(name: string, sign: number) {
  return (args: Value[]): Value | undefined => {
    const xs = asCollection(name, args, 0);
    if (xs.length === 0) return undefined;
    let best: Value = xs[0] as Value;
    for (const x of xs) if (compare(x, best) * sign > 0) best = x;
    return best;
  };
}

function truthiness(name: string, want: boolean) {
  return (args: Value[]): Value => {
    const xs = asCollection(name, args, 0);
    return want ? xs.every((x) => x === true) : xs.some((x) => x === true);
  };
}

export function member(x: Value, coll: Value): boolean {
  if (Array.isArray(coll)) return coll.some((y) => equal(x, y));
  if (coll instanceof RegoSet) return coll.has(x);
  if (coll instanceof RegoObject) return coll.values().some((y) => equal(x, y));
  return false;
}

export const AGGREGATE_BUILTINS: BuiltinDef[] = [
  def('count', ['any'], 'number', (args) => {
    const v = args[0]!;
    if (typeof v === 'string') return runeCount(v);
    if (Array.isArray(v)) return v.length;
    if (v instanceof RegoObject || v instanceof RegoSet) return v.size;
    throw typeError('count', 1, 'array|object|set|string', v);
  }),
  def('sum', ['array|set'], 'number', numericFold('sum', 0, decAdd)),
  def('product', ['array|set'], 'number', numericFold('product', 1, decMul)),
  def('max', ['array|set'], 'any', extreme('max', 1)),
  def('min', ['array|set'], 'any', extreme('min', -1)),
  def('sort', ['array|set'], 'array', (args) => {
    const v = args[0]!;
    if (v instanceof RegoSet) return [...v.values()];
    if (Array.isArray(v)) return [...v].sort(compare);
    throw typeError('sort', 1, 'array|set', v);
  }),
  def('all', ['array|set'], 'boolean', truthiness('all', true)),
  def('any', ['array|set'], 'boolean', truthiness('any', false)),
  def('internal.member_2', ['any', 'any'], 'boolean', (args) => member(args[0]!, args[1]!)),
  def('internal.member_3', ['any', 'any', 'any'], 'boolean', (args) => {
    const [k, v, coll] = args as [Value, Value, Value];
    if (Array.isArray(coll)) {
      if (!isNumber(k) || typeof k === 'bigint' || !Number.isInteger(k) || k < 0 || k >= coll.length) return false;
      return equal(coll[k]!, v);
    }
    if (coll instanceof RegoObject) {
      const x = coll.get(k);
      return x !== undefined && equal(x, v);
    }
    return false;
  }),
];
