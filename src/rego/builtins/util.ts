/**
 * Operand decoding shared by the built-in families: each helper returns the typed operand or throws OPA's type error
 * (`<name>: operand <n> must be <type> but got <type>`).
 */
import { BuiltinTypeError, BuiltinError } from './types.js';
import type { BuiltinDef, BuiltinType, BuiltinContext } from './types.js';
import { RegoObject, RegoSet, typeName, isNumber } from '../value.js';
import type { Value } from '../value.js';

export { BuiltinTypeError, BuiltinError, RegoObject, RegoSet, typeName, isNumber };
export type { BuiltinDef, BuiltinType, BuiltinContext, Value };

/** OPA's wording for a type expectation: `string`, or `one of {array, set}` for unions. */
export function typeWords(expected: string): string {
  return expected.includes('|') ? `one of {${expected.split('|').join(', ')}}` : expected;
}

export function typeError(name: string, pos: number, expected: string, got: Value): BuiltinTypeError {
  return new BuiltinTypeError(`${name}: operand ${pos} must be ${typeWords(expected)} but got ${typeName(got)}`);
}

export function builtinError(name: string, message: string): BuiltinError {
  return new BuiltinError(`${name}: ${message}`);
}

export function asString(name: string, args: Value[], i: number): string {
  const v = args[i]!;
  if (typeof v !== 'string') throw typeError(name, i + 1, 'string', v);
  return v;
}

export function asNumber(name: string, args: Value[], i: number): number | bigint {
  const v = args[i]!;
  if (!isNumber(v)) throw typeError(name, i + 1, 'number', v);
  return v;
}

export function asBoolean(name: string, args: Value[], i: number): boolean {
  const v = args[i]!;
  if (typeof v !== 'boolean') throw typeError(name, i + 1, 'boolean', v);
  return v;
}

export function asArray(name: string, args: Value[], i: number): Value[] {
  const v = args[i]!;
  if (!Array.isArray(v)) throw typeError(name, i + 1, 'array', v);
  return v;
}

export function asObject(name: string, args: Value[], i: number): RegoObject {
  const v = args[i]!;
  if (!(v instanceof RegoObject)) throw typeError(name, i + 1, 'object', v);
  return v;
}

export function asSet(name: string, args: Value[], i: number): RegoSet {
  const v = args[i]!;
  if (!(v instanceof RegoSet)) throw typeError(name, i + 1, 'set', v);
  return v;
}

/** An integer operand as a bigint; floats are rejected with OPA's `operand n must be integer number` wording. */
export function asInteger(name: string, args: Value[], i: number): bigint {
  const v = asNumber(name, args, i);
  if (typeof v === 'bigint') return v;
  if (!Number.isInteger(v)) throw new BuiltinTypeError(`${name}: operand ${i + 1} must be integer number but got floating-point number`);
  return BigInt(v);
}

/** Members of an array or set (OPA's "collection" operands). */
export function asCollection(name: string, args: Value[], i: number, expected = 'array|set'): Value[] {
  const v = args[i]!;
  if (Array.isArray(v)) return v;
  if (v instanceof RegoSet) return v.values();
  throw typeError(name, i + 1, expected, v);
}

/** Small helper to declare a def concisely. */
export function def(
  name: string,
  args: BuiltinType[],
  result: BuiltinType,
  fn: (args: Value[], ctx: BuiltinContext) => Value | undefined,
  extra: Partial<Pick<BuiltinDef, 'network' | 'nondeterministic' | 'infix'>> = {},
): BuiltinDef {
  return { name, args, result, fn, ...extra };
}

/** A bounded least-recently-used cache (module-level caches must not grow without limit). */
export { Lru } from '../../util/lru.js';
