/** object.* and json.filter/json.remove/json.patch. */
import { def, asObject, asArray, typeError, BuiltinTypeError, RegoObject, RegoSet } from './util.js';
import type { BuiltinDef, Value } from './util.js';
import { equal, hashKey, typeName } from '../value.js';
import type { HashKey } from '../value.js';

/** Keys named by an array, set or object (its keys) operand. */
function keysOf(name: string, args: Value[], i: number): Value[] {
  const v = args[i]!;
  if (Array.isArray(v)) return v;
  if (v instanceof RegoSet) return v.values();
  if (v instanceof RegoObject) return v.keys();
  throw typeError(name, i + 1, 'object|set|array', v);
}

/** One step of OPA's term Find: object key, array index, set member. */
function step(v: Value, key: Value): Value | undefined {
  if (v instanceof RegoObject) return v.get(key);
  if (Array.isArray(v)) {
    if (typeof key !== 'number' || !Number.isInteger(key) || key < 0 || key >= v.length) return undefined;
    return v[key];
  }
  if (v instanceof RegoSet) return v.has(key) ? key : undefined;
  return undefined;
}

export function objectUnion(a: RegoObject, b: RegoObject): RegoObject {
  const out = new Map<HashKey, [Value, Value]>();
  for (const [k, v] of a.entries()) out.set(hashKey(k), [k, v]);
  for (const [k, v] of b.entries()) {
    const prev = a.get(k);
    if (prev instanceof RegoObject && v instanceof RegoObject) out.set(hashKey(k), [k, objectUnion(prev, v)]);
    else out.set(hashKey(k), [k, v]);
  }
  return RegoObject.fromMap(out);
}

function arraySubset(sup: Value[], sub: Value[]): boolean {
  if (sub.length === 0) return true;
  if (sub.length > sup.length) return false;
  for (let i = 0; i + sub.length <= sup.length; i++) {
    let ok = true;
    for (let j = 0; j < sub.length; j++) {
      if (!equal(sup[i + j] as Value, sub[j] as Value)) {
        ok = false;
        break;
      }
    }
    if (ok) return true;
  }
  return false;
}

function setSubset(sup: RegoSet, sub: RegoSet): boolean {
  return sub.values().every((x) => sup.has(x));
}

function objectSubset(sup: RegoObject, sub: RegoObject): boolean {
  for (const [k, sv] of sub.entries()) {
    const pv = sup.get(k);
    if (pv === undefined) return false;
    if (pv instanceof RegoObject && sv instanceof RegoObject) {
      if (!objectSubset(pv, sv)) return false;
    } else if (pv instanceof RegoSet && sv instanceof RegoSet) {
      if (!setSubset(pv, sv)) return false;
    } else if (Array.isArray(pv) && Array.isArray(sv)) {
      if (!arraySubset(pv, sv)) return false;
    } else if (!equal(pv, sv)) return false;
  }
  return true;
}

// ---- json.filter / json.remove: a tree of paths, leaves meaning "the whole value here".

interface PathTree {
  children: Map<HashKey, PathTree>;
  leaf: boolean;
}

function newTree(): PathTree {
  return { children: new Map(), leaf: false };
}

function parsePaths(name: string, args: Value[], i: number): PathTree {
  const v = args[i]!;
  const xs = Array.isArray(v) ? v : v instanceof RegoSet ? v.values() : undefined;
  if (!xs) throw typeError(name, i + 1, 'set|array', v);
  const root = newTree();
  for (const p of xs) {
    let segs: Value[];
    if (typeof p === 'string') segs = p.replace(/^\/+/, '').split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    else if (Array.isArray(p)) segs = p;
    else
      throw new BuiltinTypeError(
        `${name}: operand ${i + 1} must be one of {set, array} containing string paths or array of path segments but got ${typeName(p)}`,
      );
    let node = root;
    for (const s of segs) {
      if (node.leaf) break;
      const k = hashKey(s);
      let next = node.children.get(k);
      if (!next) {
        next = newTree();
        node.children.set(k, next);
      }
      node = next;
    }
    node.leaf = true;
    node.children.clear();
  }
  return root;
}

/** The subtree for an object key or array index; string paths name array indexes as decimal text. */
function childFor(tree: PathTree, key: Value): PathTree | undefined {
  const direct = tree.children.get(hashKey(key));
  if (direct) return direct;
  if (typeof key === 'number') return tree.children.get(String(key));
  return undefined;
}

function jsonFilter(v: Value, tree: PathTree): Value {
  if (v instanceof RegoObject) {
    const out: [Value, Value][] = [];
    for (const [k, x] of v.entries()) {
      const c = childFor(tree, k);
      if (c) out.push([k, c.leaf ? x : jsonFilter(x, c)]);
    }
    return new RegoObject(out);
  }
  if (Array.isArray(v)) {
    const out: Value[] = [];
    v.forEach((x, idx) => {
      const c = childFor(tree, idx);
      if (c) out.push(c.leaf ? x : jsonFilter(x, c));
    });
    return out;
  }
  if (v instanceof RegoSet) {
    const out: Value[] = [];
    for (const x of v.values()) {
      const c = childFor(tree, x);
      if (c) out.push(c.leaf ? x : jsonFilter(x, c));
    }
    return new RegoSet(out);
  }
  return v;
}

function jsonRemove(v: Value, tree: PathTree): Value {
  if (v instanceof RegoObject) {
    const out: [Value, Value][] = [];
    for (const [k, x] of v.entries()) {
      const c = childFor(tree, k);
      if (!c) out.push([k, x]);
      else if (!c.leaf) out.push([k, jsonRemove(x, c)]);
    }
    return new RegoObject(out);
  }
  if (Array.isArray(v)) {
    const out: Value[] = [];
    v.forEach((x, idx) => {
      const c = childFor(tree, idx);
      if (!c) out.push(x);
      else if (!c.leaf) out.push(jsonRemove(x, c));
    });
    return out;
  }
  if (v instanceof RegoSet) {
    const out: Value[] = [];
    for (const x of v.values()) {
      const c = childFor(tree, x);
      if (!c) out.push(x);
      else if (!c.leaf) out.push(jsonRemove(x, c));
    }
    return new RegoSet(out);
  }
  return v;
}

// ---- json.patch (RFC 6902) over Rego values; any failed operation makes the result undefined.

class PatchFailed extends Error {}

function pointer(p: Value): Value[] {
  if (Array.isArray(p)) return p;
  if (typeof p !== 'string') throw new PatchFailed();
  if (p === '') return [];
  // OPA accepts paths with or without the leading slash ("/a/b" and "a/b").
  return (p.startsWith('/') ? p.slice(1) : p)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(seg: Value, len: number, forAdd: boolean): number {
  if (forAdd && seg === '-') return len;
  let n: number;
  if (typeof seg === 'number') n = seg;
  else if (typeof seg === 'string' && /^(0|[1-9][0-9]*)$/.test(seg)) n = Number(seg);
  else throw new PatchFailed();
  if (!Number.isInteger(n) || n < 0 || n > (forAdd ? len : len - 1)) throw new PatchFailed();
  return n;
}

function getAt(doc: Value, path: Value[]): Value {
  let cur = doc;
  for (const seg of path) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(seg, cur.length, false)] as Value;
    else {
      const next = step(cur, seg);
      if (next === undefined) throw new PatchFailed();
      cur = next;
    }
  }
  return cur;
}

/** Rebuilds `doc` with `f` applied to the parent container of the last path segment. */
function updateAt(doc: Value, path: Value[], f: (parent: Value, last: Value) => Value): Value {
  if (path.length === 0) throw new PatchFailed();
  const [head, ...rest] = path as [Value, ...Value[]];
  if (rest.length === 0) return f(doc, head);
  if (doc instanceof RegoObject) {
    const child = doc.get(head);
    if (child === undefined) throw new PatchFailed();
    return new RegoObject([...doc.entries(), [head, updateAt(child, rest, f)]]);
  }
  if (Array.isArray(doc)) {
    const i = arrayIndex(head, doc.length, false);
    const copy = [...doc];
    copy[i] = updateAt(doc[i] as Value, rest, f);
    return copy;
  }
  if (doc instanceof RegoSet) {
    if (!doc.has(head)) throw new PatchFailed();
    const updated = updateAt(head, rest, f);
    return new RegoSet([...doc.values().filter((x) => !equal(x, head)), updated]);
  }
  throw new PatchFailed();
}

function addOp(doc: Value, path: Value[], value: Value): Value {
  if (path.length === 0) return value;
  return updateAt(doc, path, (parent, last) => {
    if (parent instanceof RegoObject) return new RegoObject([...parent.entries(), [last, value]]);
    if (Array.isArray(parent)) {
      const i = arrayIndex(last, parent.length, true);
      return [...parent.slice(0, i), value, ...parent.slice(i)];
    }
    if (parent instanceof RegoSet) {
      // A set member is addressed by itself: the path's last segment must be the value added.
      if (!equal(last, value)) throw new PatchFailed();
      return new RegoSet([...parent.values(), value]);
    }
    throw new PatchFailed();
  });
}

function removeOp(doc: Value, path: Value[]): Value {
  return updateAt(doc, path, (parent, last) => {
    if (parent instanceof RegoObject) {
      if (!parent.has(last)) throw new PatchFailed();
      return new RegoObject(parent.entries().filter(([k]) => !equal(k, last)));
    }
    if (Array.isArray(parent)) {
      const i = arrayIndex(last, parent.length, false);
      return [...parent.slice(0, i), ...parent.slice(i + 1)];
    }
    if (parent instanceof RegoSet) {
      if (!parent.has(last)) throw new PatchFailed();
      return new RegoSet(parent.values().filter((x) => !equal(x, last)));
    }
    throw new PatchFailed();
  });
}

function applyPatch(doc: Value, op: Value): Value {
  if (!(op instanceof RegoObject)) throw new PatchFailed();
  const kind = op.getStr('op');
  const pathV = op.getStr('path');
  if (pathV === undefined) throw new PatchFailed();
  const path = pointer(pathV);
  switch (kind) {
    case 'add': {
      const value = op.getStr('value');
      if (value === undefined) throw new PatchFailed();
      return addOp(doc, path, value);
    }
    case 'remove':
      return removeOp(doc, path);
    case 'replace': {
      const value = op.getStr('value');
      if (value === undefined) throw new PatchFailed();
      getAt(doc, path);
      return addOp(path.length ? removeOp(doc, path) : doc, path, value);
    }
    case 'move': {
      const fromV = op.getStr('from');
      if (fromV === undefined) throw new PatchFailed();
      const from = pointer(fromV);
      const value = getAt(doc, from);
      return addOp(removeOp(doc, from), path, value);
    }
    case 'copy': {
      const fromV = op.getStr('from');
      if (fromV === undefined) throw new PatchFailed();
      return addOp(doc, path, getAt(doc, pointer(fromV)));
    }
    case 'test': {
      const value = op.getStr('value');
      if (value === undefined || !equal(getAt(doc, path), value)) throw new PatchFailed();
      return doc;
    }
    default:
      throw new PatchFailed();
  }
}

export const OBJECT_BUILTINS: BuiltinDef[] = [
  def('object.get', ['object', 'any', 'any'], 'any', (args) => {
    const obj = asObject('object.get', args, 0);
    const key = args[1]!;
    const dflt = args[2]!;
    if (!Array.isArray(key)) return obj.get(key) ?? dflt;
    let cur: Value = obj;
    for (const seg of key) {
      const next = step(cur, seg);
      if (next === undefined) return dflt;
      cur = next;
    }
    return cur;
  }),
  def('object.keys', ['object'], 'set', (args) => new RegoSet(asObject('object.keys', args, 0).keys())),
  def('object.union', ['object', 'object'], 'object', (args) => objectUnion(asObject('object.union', args, 0), asObject('object.union', args, 1))),
  def('object.union_n', ['array'], 'object', (args) => {
    const xs = asArray('object.union_n', args, 0);
    let acc = RegoObject.EMPTY;
    for (const x of xs) {
      if (!(x instanceof RegoObject)) throw new BuiltinTypeError(`object.union_n: operand 1 must be array of objects but got array containing ${typeName(x)}`);
      acc = objectUnion(acc, x);
    }
    return acc;
  }),
  def('object.remove', ['object', 'array|object|set'], 'object', (args) => {
    const obj = asObject('object.remove', args, 0);
    const drop = new RegoSet(keysOf('object.remove', args, 1));
    return new RegoObject(obj.entries().filter(([k]) => !drop.has(k)));
  }),
  def('object.filter', ['object', 'array|object|set'], 'object', (args) => {
    const obj = asObject('object.filter', args, 0);
    const keep = new RegoSet(keysOf('object.filter', args, 1));
    return new RegoObject(obj.entries().filter(([k]) => keep.has(k)));
  }),
  def('object.subset', ['any', 'any'], 'boolean', (args) => {
    const [sup, sub] = args as [Value, Value];
    if (sup instanceof RegoObject && sub instanceof RegoObject) return objectSubset(sup, sub);
    if (sup instanceof RegoSet && sub instanceof RegoSet) return setSubset(sup, sub);
    if (Array.isArray(sup) && Array.isArray(sub)) return arraySubset(sup, sub);
    if (Array.isArray(sup) && sub instanceof RegoSet) return sub.values().every((x) => sup.some((y) => equal(x, y as Value)));
    if (!(sup instanceof RegoObject || sup instanceof RegoSet || Array.isArray(sup))) throw typeError('object.subset', 1, 'object|set|array', sup);
    throw typeError('object.subset', 2, 'object|set|array', sub);
  }),
  def('json.filter', ['object', 'array|set'], 'any', (args) => jsonFilter(asObject('json.filter', args, 0), parsePaths('json.filter', args, 1))),
  def('json.remove', ['object', 'array|set'], 'any', (args) => jsonRemove(asObject('json.remove', args, 0), parsePaths('json.remove', args, 1))),
  def('json.patch', ['any', 'array'], 'any', (args) => {
    const ops = asArray('json.patch', args, 1);
    let doc: Value = args[0] as Value;
    try {
      for (const op of ops) doc = applyPatch(doc, op as Value);
    } catch (e) {
      if (e instanceof PatchFailed) return undefined;
      throw e;
    }
    return doc;
  }),
];
