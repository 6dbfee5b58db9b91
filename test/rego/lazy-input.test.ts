/**
 * Lazy input/data documents (value.ts `lazyJSON`), direct evaluation of single-valued terms (eval.ts `value`) and
 * `evaluateMany`: each checked against the eager path (input given as an already converted Rego value), which
 * `evaluate` passes through unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, RegoError } from '../../src/rego/index.js';
import { checkJSON, equal, forceDeep, fromJSON, hashKey, jsonText, lazyJSON, RegoObject, RegoSet, toJSON, type Value } from '../../src/rego/value.js';

const pol = (source: string) => compile([{ filename: 'lazy.rego', source }]);

const INPUT = {
  submods: {
    cpu0: { 'ear.status': 'affirming', 'ear.veraison.annotated-evidence': { sample: { svn: '1', debug: false }, report_data: 'abc' } },
    gpu0: { 'ear.status': 'warning', 'ear.veraison.annotated-evidence': { sampledevice: { svn: '2' } } },
  },
  list: [3, 1, { z: 1, a: [true, null] }, 'x'],
  b: 'zeta',
  a: 'alpha',
  '0': 'zero',
  big: 9007199254740993n,
  neg0: -0,
};

/** Evaluates `query` with the input as plain JSON (lazy) and as an eagerly converted value; both must agree. */
function both(source: string, query: string, input: unknown = INPUT, extra: Parameters<ReturnType<typeof pol>['evaluate']>[1] = {}) {
  const p = pol(source);
  const lazy = p.evaluate(query, { ...extra, input });
  const eager = p.evaluate(query, { ...extra, input: fromJSON(input) });
  assert.deepEqual(lazy, eager, `lazy and eager input disagree on ${query}`);
  return lazy;
}

test('lazy object: reading one member converts only that member; converted members keep their identity', () => {
  const src = { a: { deep: [1, 2] }, b: { c: 1 } };
  const o = lazyJSON(src) as RegoObject;
  assert.ok(o instanceof RegoObject && o.isLazy);
  const a1 = o.getStr('a');
  assert.ok(a1 instanceof RegoObject && a1.isLazy, 'a nested object is lazy too');
  assert.equal(o.getStr('a'), a1, 'a member converted twice would break identity');
  assert.equal(o.size, 2);
  assert.equal(o.isLazy, true, 'size does not convert members');
  assert.equal(o.get(1), undefined, 'a JSON object has no non-string keys');
  assert.deepEqual(o.keys(), ['a', 'b']);
  assert.equal(o.isLazy, false);
  assert.equal(o.getStr('a'), a1, 'forcing keeps already converted members');
});

test('lazy object: inherited and prototype names are not members', () => {
  const o = lazyJSON(JSON.parse('{"__proto__": {"x": 1}, "k": 2}')) as RegoObject;
  assert.equal(o.getStr('constructor'), undefined);
  assert.equal(o.getStr('toString'), undefined);
  assert.equal(o.getStr('hasOwnProperty'), undefined);
  assert.ok(o.getStr('__proto__') instanceof RegoObject, 'an own "__proto__" member (JSON.parse makes one) is data');
  assert.deepEqual(o.keys(), ['__proto__', 'k']);
  const p = pol('package p\nimport rego.v1\nc := input.constructor\nt := input.toString\nk := input.__proto__.x\nm := json.marshal(input)');
  const input = JSON.parse('{"__proto__": {"x": 1}, "k": 2}');
  assert.equal(p.evaluate('data.p.c', { input }), undefined);
  assert.equal(p.evaluate('data.p.t', { input }), undefined);
  assert.equal(p.evaluate('data.p.k', { input }), 1);
  assert.equal(p.evaluate('data.p.m', { input }), '{"__proto__":{"x":1},"k":2}');
  const out = p.evaluate('input', { input }) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(out), Object.prototype, 'toJSON must not set a prototype from data');
  assert.deepEqual(Object.keys(out), ['__proto__', 'k']);
});

test('lazy values are equal to, compare and hash like eagerly converted ones', () => {
  const lazy = lazyJSON(INPUT);
  const eager = fromJSON(INPUT);
  assert.ok(equal(lazy, eager));
  assert.equal(jsonText(lazy), jsonText(eager));
  assert.equal(hashKey(lazyJSON(INPUT)), hashKey(eager));
  assert.deepEqual(toJSON(lazyJSON(INPUT)), toJSON(eager));
  assert.ok(!equal(lazyJSON({ a: 1 }), lazyJSON({ a: 1, b: 2 })));
  assert.ok(!equal(lazyJSON({ a: 1 }), lazyJSON({ a: 2 })));
  // numbers: -0 is 0, big integers stay exact
  assert.equal((lazyJSON({ n: -0 }) as RegoObject).getStr('n'), 0);
  assert.equal((lazyJSON({ n: 2n ** 70n }) as RegoObject).getStr('n'), 2n ** 70n);
  assert.equal((lazyJSON({ n: 5n }) as RegoObject).getStr('n'), 5);
});

test('policies read lazy input exactly as eager input: refs, equality, iteration order, counting', () => {
  const src = `package p
import rego.v1
status := input.submods.cpu0["ear.status"]
keys := [k | some k, _ in input]
sub_keys := [k | input.submods[k]]
statuses contains s if s := input.submods[_]["ear.status"]
n := count(input)
n_sub := count(input.submods)
n_list := count(input.list)
same if input.submods.cpu0 == {"ear.status": "affirming", "ear.veraison.annotated-evidence": {"sample": {"svn": "1", "debug": false}, "report_data": "abc"}}
differs if input.submods.cpu0 != input.submods.gpu0
whole := input
sorted_list := sort([x | x := input.list[_]; is_number(x)])
first_obj := [k | some k, _ in input.list[2]]
`;
  assert.equal(both(src, 'data.p.status'), 'affirming');
  assert.deepEqual(both(src, 'data.p.keys'), ['0', 'a', 'b', 'big', 'list', 'neg0', 'submods']);
  assert.deepEqual(both(src, 'data.p.sub_keys'), ['cpu0', 'gpu0']);
  assert.deepEqual(both(src, 'data.p.statuses'), ['affirming', 'warning']);
  assert.equal(both(src, 'data.p.n'), 7);
  assert.equal(both(src, 'data.p.n_sub'), 2);
  assert.equal(both(src, 'data.p.n_list'), 4);
  assert.equal(both(src, 'data.p.same'), true);
  assert.equal(both(src, 'data.p.differs'), true);
  assert.deepEqual(both(src, 'data.p.sorted_list'), [1, 3]);
  assert.deepEqual(both(src, 'data.p.first_obj'), ['a', 'z']);
  const whole = both(src, 'data.p.whole') as Record<string, unknown>;
  assert.deepEqual(Object.keys(whole), ['0', 'a', 'b', 'big', 'list', 'neg0', 'submods'], 'OPA order: sorted keys');
});

test('lazy input in sets: membership, set of input objects, objects as keys', () => {
  const src = `package p
import rego.v1
subs := {s | some s in input.submods}
member if input.submods.cpu0 in subs
literal_member if {"ear.status": "warning", "ear.veraison.annotated-evidence": {"sampledevice": {"svn": "2"}}} in subs
by_obj := {input.submods.gpu0: 1}
lookup := by_obj[{"ear.status": "warning", "ear.veraison.annotated-evidence": {"sampledevice": {"svn": "2"}}}]
n := count(subs)
`;
  assert.equal(both(src, 'data.p.member'), true);
  assert.equal(both(src, 'data.p.literal_member'), true);
  assert.equal(both(src, 'data.p.lookup'), 1);
  assert.equal(both(src, 'data.p.n'), 2);
  // two different input objects with equal contents collapse in a set
  assert.equal(both(src, 'data.p.n', { submods: { x: { a: [1] }, y: { a: [1] } } }), 1);
});

test('with replaces parts of lazy input, leaving the rest readable', () => {
  const src = `package p
import rego.v1
st := input.submods.cpu0["ear.status"]
other := input.submods.gpu0["ear.status"]
mocked := [st, other] if {
  true
} 
r1 := x if x := st with input.submods.cpu0["ear.status"] as "contraindicated"
r2 := x if x := other with input.submods.cpu0 as {}
r3 := x if x := input.a with input as {"a": 1}
r4 := n if n := count(input.submods) with input.submods.new as 1
after := st
`;
  assert.equal(both(src, 'data.p.r1'), 'contraindicated');
  assert.equal(both(src, 'data.p.r2'), 'warning');
  assert.equal(both(src, 'data.p.r3'), 1);
  assert.equal(both(src, 'data.p.r4'), 3);
  assert.equal(both(src, 'data.p.after'), 'affirming');
  assert.deepEqual(both(src, 'data.p.mocked'), ['affirming', 'warning']);
});

test('walk, json.marshal, object.get, object.keys, comprehensions over lazy input', () => {
  const src = `package p
import rego.v1
paths := [p | walk(input.submods.cpu0, [p, _])]
leaves := [v | walk(input.list, [_, v]); not is_array(v); not is_object(v)]
m := json.marshal(input.submods)
g := object.get(input, ["submods", "cpu0", "ear.veraison.annotated-evidence", "sample", "svn"], "none")
g_missing := object.get(input, ["submods", "tpm0", "ear.status"], "none")
g_key := object.get(input.submods, "gpu0", {})
ks := object.keys(input.submods)
objcomp := {k: v["ear.status"] | some k, v in input.submods}
every_ok if every _, s in input.submods { is_string(s["ear.status"]) }
u := object.union(input.submods.cpu0, {"extra": 1})
f := object.filter(input, ["a", "b"])
`;
  assert.deepEqual(both(src, 'data.p.paths'), [[], ['ear.status'], ['ear.veraison.annotated-evidence'], ['ear.veraison.annotated-evidence', 'report_data'], ['ear.veraison.annotated-evidence', 'sample'], ['ear.veraison.annotated-evidence', 'sample', 'debug'], ['ear.veraison.annotated-evidence', 'sample', 'svn']]);
  assert.deepEqual(both(src, 'data.p.leaves'), [3, 1, true, null, 1, 'x'], 'walk visits object members in key order');
  assert.equal(both(src, 'data.p.m'), JSON.stringify(toJSON(fromJSON(INPUT.submods))));
  assert.equal(both(src, 'data.p.g'), '1');
  assert.equal(both(src, 'data.p.g_missing'), 'none');
  assert.equal((both(src, 'data.p.g_key') as Record<string, unknown>)['ear.status'], 'warning');
  assert.deepEqual(both(src, 'data.p.ks'), ['cpu0', 'gpu0']);
  assert.deepEqual(both(src, 'data.p.objcomp'), { cpu0: 'affirming', gpu0: 'warning' });
  assert.equal(both(src, 'data.p.every_ok'), true);
  assert.equal((both(src, 'data.p.u') as Record<string, unknown>).extra, 1);
  assert.deepEqual(both(src, 'data.p.f'), { a: 'alpha', b: 'zeta' });
});

test('big numbers in lazy input stay exact', () => {
  const src = `package p
import rego.v1
big := input.big
plus := input.big + 1
cmp if input.big > 9007199254740992
eq if input.big == 9007199254740993
text := json.marshal(input.big)
`;
  const p = pol(src);
  assert.equal(p.evaluateValue('data.p.big', { input: INPUT }), 9007199254740993n);
  assert.equal(p.evaluateValue('data.p.plus', { input: INPUT }), 9007199254740994n);
  assert.equal(both(src, 'data.p.cmp'), true);
  assert.equal(both(src, 'data.p.eq'), true);
  assert.equal(both(src, 'data.p.text'), '9007199254740993');
});

test('lazy data document: rules and base documents merge as before', () => {
  const src = `package p
import rego.v1
plugin_ok if data.plugin == "resource"
path := concat("/", data["resource-path"])
q := data.query
n := count(data.extra.items)
`;
  const p = pol(src);
  const data = { plugin: 'resource', 'resource-path': ['default', 'key', '1'], query: { a: '1' }, extra: { items: [1, 2, 3] } };
  for (const d of [data, fromJSON(data)]) {
    assert.equal(p.evaluate('data.p.plugin_ok', { data: d }), true);
    assert.equal(p.evaluate('data.p.path', { data: d }), 'default/key/1');
    assert.deepEqual(p.evaluate('data.p.q', { data: d }), { a: '1' });
    assert.equal(p.evaluate('data.p.n', { data: d }), 3);
  }
  const doc = p.evaluate('data', { data }) as Record<string, unknown>;
  assert.deepEqual(Object.keys(doc), ['extra', 'p', 'plugin', 'query', 'resource-path']);
});

test('input that is not JSON data is refused before evaluation, even where the policy never reads it', () => {
  const p = pol('package p\nx := input.a');
  assert.throws(() => checkJSON({ a: [{ b: new Uint8Array(1) }] }), TypeError);
  assert.doesNotThrow(() => checkJSON({ a: [{ b: 'x' }], m: new Map([['k', 1]]), s: new Set([1]) }));
  const deep = { untouched: { nested: [new Uint8Array(1)] }, a: 1 };
  assert.throws(() => p.evaluate('data.p.x', { input: deep }), (e: unknown) => e instanceof RegoError && e.code === 'eval_type_error' && /input document is not JSON data/.test(e.message));
  assert.throws(() => p.evaluate('data.p.x', { input: { a: 1 }, data: { d: { b: new Uint8Array(1) } } }), (e: unknown) => e instanceof RegoError && e.code === 'eval_type_error' && /data document is not JSON data/.test(e.message));
  assert.throws(() => p.evaluateMany(['data.p.x'], { input: deep }), (e: unknown) => e instanceof RegoError && e.code === 'eval_type_error');
});

test('evaluateValue returns values that no longer read the caller input', () => {
  const p = pol('package p\nimport rego.v1\nsub := input.submods\npair := [input.a, input.submods]');
  const input = JSON.parse(JSON.stringify({ a: 1, submods: { cpu0: { s: 'affirming', inner: { x: 1 } } } }));
  const v = p.evaluateValue('data.p.sub', { input }) as RegoObject;
  const pair = p.evaluateValue('data.p.pair', { input }) as Value[];
  input.submods.cpu0.s = 'changed';
  input.submods.cpu0.inner.x = 2;
  input.submods.added = true;
  assert.deepEqual(toJSON(v), { cpu0: { s: 'affirming', inner: { x: 1 } } });
  assert.deepEqual(toJSON(pair), [1, { cpu0: { s: 'affirming', inner: { x: 1 } } }]);
  const lazy = lazyJSON({ o: { p: { q: 1 } }, l: [{ r: 2 }] });
  forceDeep(lazy);
  const walkLazy = (x: Value): boolean =>
    x instanceof RegoObject ? !x.isLazy && x.values().every(walkLazy) : Array.isArray(x) ? x.every(walkLazy) : x instanceof RegoSet ? x.values().every(walkLazy) : true;
  assert.ok(walkLazy(lazy), 'forceDeep leaves no lazy object');
});

test('evaluateMany: same results as separate evaluations, shared rule values, one set of limits', () => {
  const src = `package p
import rego.v1
default allow := false
allow if input.user == "alice"
claims := {"allow": allow, "n": count(items)}
items contains x if some x in input.items
ext := [x | some x in items; x > 1]
`;
  const p = pol(src);
  const input = { user: 'alice', items: [1, 2, 3] };
  const queries = ['data.p.claims', 'data.p.ext', 'data.p.missing', 'data.p.allow'];
  const separate = queries.map((q) => p.evaluate(q, { input }));
  assert.deepEqual(p.evaluateMany(queries, { input }), separate);
  assert.deepEqual(separate, [{ allow: true, n: 3 }, [2, 3], undefined, true]);
  assert.deepEqual(p.evaluateMany([], { input }), []);
  // the step limit covers the whole call
  const many = Array.from({ length: 2000 }, (_, i) => i);
  const heavy = pol('package h\nimport rego.v1\ns := {x | some x in input.xs}\nt := {y | some y in input.xs}');
  assert.doesNotThrow(() => heavy.evaluate('data.h.s', { input: { xs: many }, limits: { maxSteps: 3000 } }));
  assert.throws(
    () => heavy.evaluateMany(['data.h.s', 'data.h.t'], { input: { xs: many }, limits: { maxSteps: 3000 } }),
    (e: unknown) => e instanceof RegoError && e.code === 'eval_limit_error',
  );
  // an error in any query is the call's error
  const conflict = pol('package c\nx := 1 if input.a\nx := 2 if input.b\ny := 3');
  assert.throws(() => conflict.evaluateMany(['data.c.y', 'data.c.x'], { input: { a: true, b: true } }), (e: unknown) => e instanceof RegoError && e.code === 'eval_conflict_error');
});

test('direct evaluation keeps OPA semantics: undefined vs false, defaults, conflicts, function mocks, data overrides', () => {
  const src = `package p
import rego.v1
default d := "default"
d := "set" if input.flag == true
f(x) := x + 1
g(x) := y if y := f(x) * 2
val := g(input.n)
is_false := input.flag == true
undef_member := input.nope.deeper
mocked := v if v := g(1) with f as 10
mocked_builtin := v if v := count([1, 2]) with count as 42
over := v if v := data.p.d with data.p.d as "overridden"
over_input := v if v := d with input.flag as true
nested := {"a": [f(input.n), {"b": input.flag}]}
`;
  const input = { n: 2, flag: false };
  assert.equal(both(src, 'data.p.d', input), 'default');
  assert.equal(both(src, 'data.p.d', { ...input, flag: true }), 'set');
  assert.equal(both(src, 'data.p.val', input), 6);
  assert.equal(both(src, 'data.p.is_false', input), false, 'false is a value, not undefined');
  assert.equal(both(src, 'data.p.undef_member', input), undefined);
  assert.equal(both(src, 'data.p.mocked', input), 20);
  assert.equal(both(src, 'data.p.mocked_builtin', input), 42);
  assert.equal(both(src, 'data.p.over', input), 'overridden');
  assert.equal(both(src, 'data.p.over_input', input), 'set');
  assert.deepEqual(both(src, 'data.p.nested', input), { a: [3, { b: false }] });
  const conflict = pol('package c\nx := input.a\nx := input.b');
  assert.throws(() => conflict.evaluate('data.c.x', { input: { a: 1, b: 2 } }), (e: unknown) => e instanceof RegoError && e.code === 'eval_conflict_error');
  assert.equal(conflict.evaluate('data.c.x', { input: { a: 1, b: 1 } }), 1);
  const fconflict = pol('package c\nf(x) := 1 if x > 0\nf(x) := 2 if x > 1\nv := f(input.n)');
  assert.throws(() => fconflict.evaluate('data.c.v', { input: { n: 5 } }), (e: unknown) => e instanceof RegoError && /functions must not produce multiple outputs/.test(e.message));
  assert.equal(fconflict.evaluate('data.c.v', { input: { n: 1 } }), 1);
});

test('the evaluation clock: time.now_ns follows `now`, one value per evaluation, an invalid date is a typed error', () => {
  const p = pol('package t\nimport rego.v1\nns := time.now_ns()\ntwice if time.now_ns() == time.now_ns()');
  const now = new Date('2026-01-02T03:04:05.678Z');
  assert.equal(p.evaluateValue('data.t.ns', { now }), BigInt(now.getTime()) * 1_000_000n);
  assert.deepEqual(p.evaluateMany(['data.t.twice', 'data.t.ns'], { now }), [true, now.getTime() * 1e6]);
  assert.throws(() => p.evaluate('data.t.ns', { now: new Date('not a date') }), (e: unknown) => e instanceof RegoError && e.code === 'eval_type_error' && /clock/.test(e.message));
});
