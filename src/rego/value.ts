/**
 * Rego values: the one representation shared by the evaluator and the built-ins.
 *
 * - null, boolean, string: JS primitives.
 * - number: a JS `number`, or a `bigint` for integers outside the safe-integer range (OPA numbers are arbitrary
 *   precision; `normNum` keeps the representation canonical: a bigint that fits is turned back into a number).
 * - array: a frozen-by-convention JS array of values.
 * - object: `RegoObject` (keys of any type, iterated in OPA's sorted order).
 * - set: `RegoSet` (iterated in OPA's sorted order).
 *
 * Values are immutable once built: builders (`ObjectBuilder`, `SetBuilder`) collect entries, then `build()`.
 * Ordering follows OPA's `ast.Compare`: null < boolean < number < string < array < object < set.
 */

export type Value = null | boolean | number | bigint | string | Value[] | RegoObject | RegoSet;

export type TypeName = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object' | 'set';

const TYPE_RANK: Record<TypeName, number> = { null: 0, boolean: 1, number: 2, string: 3, array: 4, object: 5, set: 6 };

export function typeName(v: Value): TypeName {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return 'boolean';
    case 'number':
    case 'bigint':
      return 'number';
    case 'string':
      return 'string';
  }
  if (Array.isArray(v)) return 'array';
  if (v instanceof RegoObject) return 'object';
  return 'set';
}

export function isNumber(v: Value): v is number | bigint {
  return typeof v === 'number' || typeof v === 'bigint';
}

/** Canonical number: integers that fit in a JS safe integer are `number`, larger integers `bigint`. */
export function normNum(n: number | bigint): number | bigint {
  if (typeof n === 'bigint') {
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
  }
  return Object.is(n, -0) ? 0 : n;
}

function compareNum(a: number | bigint, b: number | bigint): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  // Mixed: compare exactly. A bigint is an integer; compare against the number's floor/fraction.
  if (typeof a === 'bigint') return -compareNum(b, a);
  const x = a as number;
  const y = b as bigint;
  if (!Number.isFinite(x)) return x > 0 ? 1 : -1;
  const fl = Math.floor(x);
  const bf = BigInt(fl);
  if (bf < y) return -1;
  if (bf > y) return 1;
  return x > fl ? 1 : 0;
}

function compareStr(a: string, b: string): number {
  // OPA compares Go strings byte-wise (UTF-8). For code points outside the BMP, UTF-16 order differs from UTF-8
  // order only against U+E000..U+FFFF; handle it by comparing code points.
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca !== cb) {
      const sa = ca >= 0xd800 && ca <= 0xdfff;
      const sb = cb >= 0xd800 && cb <= 0xdfff;
      if (sa === sb) return ca < cb ? -1 : 1;
      return sa ? 1 : -1; // a surrogate (astral code point) sorts after any BMP code unit
    }
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/** Total order over values, as OPA's ast.Compare. */
export function compare(a: Value, b: Value): number {
  if (a === b) return 0;
  const ta = typeName(a);
  const tb = typeName(b);
  if (ta !== tb) return TYPE_RANK[ta] < TYPE_RANK[tb] ? -1 : 1;
  switch (ta) {
    case 'null':
      return 0;
    case 'boolean':
      return a === b ? 0 : a === false ? -1 : 1;
    case 'number':
      return compareNum(a as number | bigint, b as number | bigint);
    case 'string':
      return compareStr(a as string, b as string);
    case 'array': {
      const x = a as Value[];
      const y = b as Value[];
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = compare(x[i]!, y[i]!);
        if (c !== 0) return c;
      }
      return x.length < y.length ? -1 : x.length > y.length ? 1 : 0;
    }
    case 'object': {
      // OPA: compare sorted keys pairwise, then values pairwise, interleaved; then length.
      const x = (a as RegoObject).entries();
      const y = (b as RegoObject).entries();
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = compare(x[i]![0], y[i]![0]);
        if (c !== 0) return c;
        const d = compare(x[i]![1], y[i]![1]);
        if (d !== 0) return d;
      }
      return x.length < y.length ? -1 : x.length > y.length ? 1 : 0;
    }
    case 'set': {
      const x = (a as RegoSet).values();
      const y = (b as RegoSet).values();
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = compare(x[i]!, y[i]!);
        if (c !== 0) return c;
      }
      return x.length < y.length ? -1 : x.length > y.length ? 1 : 0;
    }
  }
}

export function equal(a: Value, b: Value): boolean {
  if (a === b) return true;
  const ta = typeof a;
  if (ta === 'string' || ta === 'boolean' || b === null || a === null) return false;
  return compare(a, b) === 0;
}

/**
 * Hash key for Map lookups: primitives map to themselves (a Map keeps "1", 1 and true apart), compound values to a
 * canonical string wrapped in a `CompoundKey` interned per canonical text, so they can never collide with a string.
 */
export type HashKey = string | number | boolean | null | bigint | CompoundKey;

export class CompoundKey {
  private constructor(readonly text: string) {}
  private static readonly interned = new Map<string, WeakRef<CompoundKey>>();
  static of(text: string): CompoundKey {
    const ref = CompoundKey.interned.get(text)?.deref();
    if (ref) return ref;
    const k = new CompoundKey(text);
    CompoundKey.interned.set(text, new WeakRef(k));
    if (CompoundKey.interned.size > 100_000) CompoundKey.sweep();
    return k;
  }
  private static sweep(): void {
    for (const [t, r] of CompoundKey.interned) if (!r.deref()) CompoundKey.interned.delete(t);
  }
}

export function hashKey(v: Value): HashKey {
  if (v === null) return null;
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Object.is(v, -0) ? 0 : v;
    case 'bigint':
      return normNum(v);
  }
  return CompoundKey.of(canonicalText(v));
}

/** A canonical, unambiguous text for any value (used for hashing compound keys; not OPA's print format). */
export function canonicalText(v: Value): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      return 'n' + String(Object.is(v, -0) ? 0 : v);
    case 'bigint':
      return 'n' + v.toString();
    case 'string':
      return JSON.stringify(v);
  }
  if (Array.isArray(v)) return '[' + v.map(canonicalText).join(',') + ']';
  if (v instanceof RegoObject) return '{' + v.entries().map(([k, x]) => canonicalText(k) + ':' + canonicalText(x)).join(',') + '}';
  return 's{' + (v as RegoSet).values().map(canonicalText).join(',') + '}';
}

/** An object with keys of any type. Immutable once constructed. */
export class RegoObject {
  private readonly map: Map<HashKey, [Value, Value]>;
  private sorted: [Value, Value][] | undefined;

  /** Entries with equal keys: the last wins. Use ObjectBuilder when conflicts must be detected. */
  constructor(entries: Iterable<readonly [Value, Value]> = []) {
    this.map = new Map();
    for (const [k, v] of entries) this.map.set(hashKey(k), [k, v]);
  }

  static fromMap(map: Map<HashKey, [Value, Value]>): RegoObject {
    const o = new RegoObject();
    (o as unknown as { map: Map<HashKey, [Value, Value]> }).map = map;
    return o;
  }

  static readonly EMPTY = new RegoObject();

  get size(): number {
    return this.map.size;
  }
  get(key: Value): Value | undefined {
    return this.map.get(hashKey(key))?.[1];
  }
  /** Fast path for string keys. */
  getStr(key: string): Value | undefined {
    return this.map.get(key)?.[1];
  }
  has(key: Value): boolean {
    return this.map.has(hashKey(key));
  }
  /** Entries in OPA's sorted key order (cached). */
  entries(): [Value, Value][] {
    if (!this.sorted) this.sorted = [...this.map.values()].sort((x, y) => compare(x[0], y[0]));
    return this.sorted;
  }
  keys(): Value[] {
    return this.entries().map((e) => e[0]);
  }
  values(): Value[] {
    return this.entries().map((e) => e[1]);
  }
}

/** A set of values. Immutable once constructed. */
export class RegoSet {
  private readonly map: Map<HashKey, Value>;
  private sorted: Value[] | undefined;

  constructor(values: Iterable<Value> = []) {
    this.map = new Map();
    for (const v of values) this.map.set(hashKey(v), v);
  }

  static readonly EMPTY = new RegoSet();

  get size(): number {
    return this.map.size;
  }
  has(v: Value): boolean {
    return this.map.has(hashKey(v));
  }
  /** Members in OPA's sorted order (cached). */
  values(): Value[] {
    if (!this.sorted) this.sorted = [...this.map.values()].sort(compare);
    return this.sorted;
  }
}

/** Collects object entries; reports a conflict when one key gets two different values. */
export class ObjectBuilder {
  private readonly map = new Map<HashKey, [Value, Value]>();
  /** Returns false when the key is present with a different value (caller raises eval_conflict_error). */
  put(key: Value, value: Value): boolean {
    const h = hashKey(key);
    const prev = this.map.get(h);
    if (prev) return equal(prev[1], value);
    this.map.set(h, [key, value]);
    return true;
  }
  get size(): number {
    return this.map.size;
  }
  build(): RegoObject {
    return RegoObject.fromMap(this.map);
  }
}

export class SetBuilder {
  private readonly items: Value[] = [];
  add(v: Value): void {
    this.items.push(v);
  }
  build(): RegoSet {
    return new RegoSet(this.items);
  }
}

/** Converts parsed JSON (or any plain JS data: arrays, plain objects, Map, Set) into a Rego value. */
export function fromJSON(x: unknown): Value {
  if (x === null || x === undefined) return null;
  switch (typeof x) {
    case 'boolean':
    case 'string':
      return x;
    case 'number':
      return normNum(x);
    case 'bigint':
      return normNum(x);
  }
  if (Array.isArray(x)) return x.map(fromJSON);
  if (x instanceof RegoObject || x instanceof RegoSet) return x;
  if (x instanceof Uint8Array) throw new TypeError('bytes are not a Rego value; encode them first');
  if (x instanceof Map) return new RegoObject([...x].map(([k, v]) => [fromJSON(k), fromJSON(v)] as [Value, Value]));
  if (x instanceof Set) return new RegoSet([...x].map(fromJSON));
  const entries: [Value, Value][] = [];
  for (const k of Object.keys(x as object)) entries.push([k, fromJSON((x as Record<string, unknown>)[k])]);
  return new RegoObject(entries);
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

/**
 * Converts a Rego value to plain JSON as OPA serializes it: sets become sorted arrays, object keys sorted, non-string
 * object keys become their JSON text. Big integers become JS numbers (precision loss is JSON's, as in OPA clients).
 */
export function toJSON(v: Value): JsonValue {
  if (v === null) return null;
  switch (typeof v) {
    case 'boolean':
    case 'string':
      return v;
    case 'number':
      return v;
    case 'bigint':
      return Number(v);
  }
  if (Array.isArray(v)) return v.map(toJSON);
  if (v instanceof RegoObject) {
    const out: { [k: string]: JsonValue } = {};
    for (const [k, x] of v.entries()) out[typeof k === 'string' ? k : jsonText(k)] = toJSON(x);
    return out;
  }
  return (v as RegoSet).values().map(toJSON);
}

/** JSON text of a value as OPA prints it (compact, sorted keys, sets as arrays, big integers exact). */
export function jsonText(v: Value): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      return Number.isFinite(v) ? JSON.stringify(v) : 'null';
    case 'bigint':
      return v.toString();
    case 'string':
      return JSON.stringify(v);
  }
  if (Array.isArray(v)) return '[' + v.map(jsonText).join(',') + ']';
  if (v instanceof RegoObject) {
    return '{' + v.entries().map(([k, x]) => JSON.stringify(typeof k === 'string' ? k : jsonText(k)) + ':' + jsonText(x)).join(',') + '}';
  }
  return '[' + (v as RegoSet).values().map(jsonText).join(',') + ']';
}
