/** Arrays and sets: array.*, set operators (`&` and `|`), intersection, union, to-collection helpers. */
import { def, asArray, asSet, asNumber, typeError, BuiltinTypeError, RegoSet, typeName } from './util.js';
import type { BuiltinDef, Value } from './util.js';

function setsOf(name: string, args: Value[]): RegoSet[] {
  const v = args[0]!;
  if (!(v instanceof RegoSet)) throw typeError(name, 1, 'set', v);
  return v.values().map((x) => {
    if (!(x instanceof RegoSet)) throw new BuiltinTypeError(`${name}: operand 1 must be set of sets but got set containing ${typeName(x)}`);
    return x;
  });
}

export function setUnion(sets: RegoSet[]): RegoSet {
  const all: Value[] = [];
  for (const s of sets) all.push(...s.values());
  return new RegoSet(all);
}

export function setIntersection(sets: RegoSet[]): RegoSet {
  if (sets.length === 0) return RegoSet.EMPTY;
  const [first, ...rest] = sets as [RegoSet, ...RegoSet[]];
  return new RegoSet(first.values().filter((x) => rest.every((s) => s.has(x))));
}

export const COLLECTION_BUILTINS: BuiltinDef[] = [
  def('and', ['set', 'set'], 'set', (args) => setIntersection([asSet('and', args, 0), asSet('and', args, 1)]), { infix: '&' }),
  def('or', ['set', 'set'], 'set', (args) => setUnion([asSet('or', args, 0), asSet('or', args, 1)]), { infix: '|' }),
  def('intersection', ['set'], 'set', (args) => setIntersection(setsOf('intersection', args))),
  def('union', ['set'], 'set', (args) => setUnion(setsOf('union', args))),
  def('array.concat', ['array', 'array'], 'array', (args) => [...asArray('array.concat', args, 0), ...asArray('array.concat', args, 1)]),
  def('array.reverse', ['array'], 'array', (args) => [...asArray('array.reverse', args, 0)].reverse()),
  def('array.slice', ['array', 'number', 'number'], 'array', (args) => {
    const a = asArray('array.slice', args, 0);
    const lo = asNumber('array.slice', args, 1);
    const hi = asNumber('array.slice', args, 2);
    // OPA clamps: negative start becomes 0, stop beyond the end becomes the length, start > stop gives [].
    let start = Math.trunc(Number(lo));
    let stop = Math.trunc(Number(hi));
    if (start < 0) start = 0;
    if (stop > a.length) stop = a.length;
    if (start >= stop) return [];
    return a.slice(start, stop);
  }),
];
