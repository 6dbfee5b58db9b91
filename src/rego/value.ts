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

const isEnumerable = Object.prototype.propertyIsEnumerable;

/**
 * An object with keys of any type. Immutable once constructed.
 *
 * A *lazy* object (`RegoObject.lazy`, built by `lazyJSON` for the input and data documents) wraps a plain JS object
 * and converts a member only when it is first read (`getStr`/`get`/`has`); its members are lazy in turn. Anything
 * that needs every member (`entries`, `keys`, `values`, `size`, comparison, hashing) converts the one level it
 * needs. Converted members are cached, so one member always reads as the same value.
 */
export class RegoObject {
  /** Converted entries by hash key (for a lazy object: the members converted so far). Allocated on first use. */
  private map: Map<HashKey, [Value, Value]> | undefined;
  private sorted: [Value, Value][] | undefined;
  /** The plain-JSON source of a lazy object whose members are not all converted yet. */
  private src: Record<string, unknown> | undefined;
  private srcKeys: string[] | undefined;

  /** Entries with equal keys: the last wins. Use ObjectBuilder when conflicts must be detected. */
  constructor(entries?: Iterable<readonly [Value, Value]>) {
    this.map = undefined;
    this.sorted = undefined;
    this.src = undefined;
    this.srcKeys = undefined;
    if (entries !== undefined) {
      const map = new Map<HashKey, [Value, Value]>();
      for (const [k, v] of entries) map.set(hashKey(k), [k, v]);
      this.map = map;
    }
  }

  static fromMap(map: Map<HashKey, [Value, Value]>): RegoObject {
    const o = new RegoObject();
    o.map = map;
    return o;
  }

  /** A lazy object over a plain JS object (string keys; members converted by `lazyJSON` on first read). */
  static lazy(src: Record<string, unknown>): RegoObject {
    const o = new RegoObject();
    o.src = src;
    return o;
  }

  static readonly EMPTY = new RegoObject();

  get size(): number {
    if (this.src !== undefined) return (this.srcKeys ??= Object.keys(this.src)).length;
    return this.map === undefined ? 0 : this.map.size;
  }
  get(key: Value): Value | undefined {
    if (typeof key === 'string') return this.getStr(key);
    // a lazy object's keys are all strings
    if (this.src !== undefined || this.map === undefined) return undefined;
    return this.map.get(hashKey(key))?.[1];
  }
  /** Fast path for string keys. */
  getStr(key: string): Value | undefined {
    const e = this.map?.get(key);
    if (e !== undefined) return e[1];
    const src = this.src;
    if (src === undefined || !isEnumerable.call(src, key)) return undefined;
    const v = lazyJSON(src[key]);
    (this.map ??= new Map()).set(key, [key, v]);
    return v;
  }
  has(key: Value): boolean {
    return this.get(key) !== undefined;
  }
  /** Entries in OPA's sorted key order (cached). */
  entries(): [Value, Value][] {
    if (this.sorted === undefined) {
      if (this.src !== undefined) this.convertAll();
      this.sorted = this.map === undefined ? [] : [...this.map.values()].sort(compareEntries);
    }
    return this.sorted;
  }
  keys(): Value[] {
    return this.entries().map(entryKey);
  }
  values(): Value[] {
    return this.entries().map(entryValue);
  }
  /** Whether members of this object are still unconverted (a lazy object not yet fully read). */
  get isLazy(): boolean {
    return this.src !== undefined;
  }

  private convertAll(): void {
    const src = this.src!;
    const keys = (this.srcKeys ??= Object.keys(src));
    const map = (this.map ??= new Map());
    if (map.size !== keys.length) {
      for (const k of keys) if (!map.has(k)) map.set(k, [k, lazyJSON(src[k])]);
    }
    this.src = undefined;
    this.srcKeys = undefined;
  }
}

function compareEntries(x: [Value, Value], y: [Value, Value]): number {
  const a = x[0];
  const b = y[0];
  return typeof a === 'string' && typeof b === 'string' ? compareStr(a, b) : compare(a, b);
}
function entryKey(e: [Value, Value]): Value {
  return e[0];
}
function entryValue(e: [Value, Value]): Value {
  return e[1];
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

/**
 * Like `fromJSON`, but objects are converted lazily (see `RegoObject.lazy`): only the members a policy reads are
 * converted. Arrays are converted one level at a time (their object elements are lazy). The source must not change
 * while the value is in use; `checkJSON` it first to reject what `fromJSON` rejects.
 */
export function lazyJSON(x: unknown): Value {
  if (x === null || x === undefined) return null;
  switch (typeof x) {
    case 'boolean':
    case 'string':
      return x;
    case 'number':
    case 'bigint':
      return normNum(x);
  }
  if (Array.isArray(x)) {
    const out: Value[] = new Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = lazyJSON(x[i]);
    return out;
  }
  if (x instanceof RegoObject || x instanceof RegoSet) return x;
  if (x instanceof Map || x instanceof Set || x instanceof Uint8Array) return fromJSON(x);
  return RegoObject.lazy(x as Record<string, unknown>);
}

/**
 * Throws what `fromJSON(x)` would throw (TypeError for bytes, RangeError for a cyclic or too deeply nested
 * document) without converting anything.
 */
export function checkJSON(x: unknown): void {
  if (typeof x !== 'object' || x === null) return;
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) {
      const e: unknown = x[i];
      if (typeof e === 'object' && e !== null) checkJSON(e);
    }
    return;
  }
  const proto: unknown = Object.getPrototypeOf(x);
  if (proto === Object.prototype || proto === null) {
    // plain object (JSON.parse output): for-in needs no key array
    const o = x as Record<string, unknown>;
    for (const k in o) {
      const e = o[k];
      if (typeof e === 'object' && e !== null) checkJSON(e);
    }
    return;
  }
  if (x instanceof RegoObject || x instanceof RegoSet) return;
  if (x instanceof Uint8Array) throw new TypeError('bytes are not a Rego value; encode them first');
  if (x instanceof Map) {
    for (const [k, v] of x) {
      checkJSON(k);
      checkJSON(v);
    }
    return;
  }
  if (x instanceof Set) {
    for (const v of x) checkJSON(v);
    return;
  }
  const o = x as Record<string, unknown>;
  for (const k of Object.keys(o)) checkJSON(o[k]);
}

/** Converts every lazy object inside `v` (so the value no longer reads its plain-JSON source). */
export function forceDeep(v: Value): Value {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    for (const x of v) forceDeep(x);
  } else if (v instanceof RegoObject) {
    for (const e of v.entries()) forceDeep(e[1]);
  }
  // set members were hashed (every level converted) when the set was built
  return v;
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
    for (const [k, x] of v.entries()) {
      const key = typeof k === 'string' ? k : jsonText(k);
      if (key === '__proto__') Object.defineProperty(out, key, { value: toJSON(x), enumerable: true, writable: true, configurable: true });
      else out[key] = toJSON(x);
    }
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
