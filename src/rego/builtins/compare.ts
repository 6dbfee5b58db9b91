/** Comparison operators over OPA's total order of values. */
import { def } from './util.js';
import type { BuiltinDef, Value } from './util.js';
import { compare, equal } from '../value.js';

function cmp(name: string, infix: string, f: (c: number) => boolean, eq?: boolean): BuiltinDef {
  return def(name, ['any', 'any'], 'boolean', (args) => {
    const [a, b] = args as [Value, Value];
    if (eq !== undefined) return equal(a, b) === eq;
    return f(compare(a, b));
  }, { infix });
}

export const COMPARE_BUILTINS: BuiltinDef[] = [
  cmp('equal', '==', () => false, true),
  cmp('neq', '!=', () => false, false),
  cmp('lt', '<', (c) => c < 0),
  cmp('gt', '>', (c) => c > 0),
  cmp('lte', '<=', (c) => c <= 0),
  cmp('gte', '>=', (c) => c >= 0),
];
