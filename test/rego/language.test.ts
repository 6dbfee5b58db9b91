import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, RegoError } from '../../src/rego/index.js';

function ev(src: string | string[], query: string, input?: unknown, data?: unknown) {
  const mods = (Array.isArray(src) ? src : [src]).map((source, i) => ({ filename: `m${i}.rego`, source }));
  return compile(mods).evaluate(query, { input, data });
}

function evErr(src: string | string[], query: string, input?: unknown): RegoError {
  try {
    const v = ev(src, query, input);
    assert.fail(`expected an error, got ${JSON.stringify(v)}`);
  } catch (e) {
    if (!(e instanceof RegoError)) throw e;
    return e;
  }
}

test('v1 complete, default, if, else', () => {
  const src = `package p
import rego.v1
default allow := false
allow if input.user == "alice"
level := "high" if input.n > 10
else := "mid" if input.n > 5
else := "low"
`;
  assert.equal(ev(src, 'data.p.allow', { user: 'alice' }), true);
  assert.equal(ev(src, 'data.p.allow', { user: 'bob' }), false);
  assert.equal(ev(src, 'data.p.level', { n: 11 }), 'high');
  assert.equal(ev(src, 'data.p.level', { n: 6 }), 'mid');
  assert.equal(ev(src, 'data.p.level', { n: 1 }), 'low');
});

test('v0 syntax: partial set, partial object, complete rules with bodies', () => {
  const src = `package p
s[x] { x := input.xs[_]; x > 1 }
o[k] = v { v := input.m[k]; v != 0 }
c = 3 { true }
`;
  assert.deepEqual(ev(src, 'data.p.s', { xs: [3, 1, 2, 3] }), [2, 3]);
  assert.deepEqual(ev(src, 'data.p.o', { m: { a: 1, b: 0, c: 2 } }), { a: 1, c: 2 });
  assert.equal(ev(src, 'data.p.c'), 3);
  assert.deepEqual(ev(src, 'data.p', { xs: [], m: {} }), { s: [], o: {}, c: 3 });
});

test('v1 contains, some in, every, in', () => {
  const src = `package p
import rego.v1
names contains n if some n in input.names
pairs contains [k, v] if some k, v in input.obj
all_pos if every x in input.nums { x > 0 }
has_two if 2 in input.nums
`;
  assert.deepEqual(ev(src, 'data.p.names', { names: ['b', 'a', 'b'] }), ['a', 'b']);
  assert.deepEqual(ev(src, 'data.p.pairs', { obj: { x: 1, y: 2 } }), [['x', 1], ['y', 2]]);
  assert.equal(ev(src, 'data.p.all_pos', { nums: [1, 2] }), true);
  assert.equal(ev(src, 'data.p.all_pos', { nums: [1, -2] }), undefined);
  assert.equal(ev(src, 'data.p.all_pos', { nums: [] }), true, 'every over an empty collection is true');
  assert.equal(ev(src, 'data.p.has_two', { nums: [1, 2] }), true);
  assert.equal(ev(src, 'data.p.has_two', { nums: [1] }), undefined);
});

test('undefined vs false, not', () => {
  const src = `package p
import rego.v1
f := input.flag
deny if not input.ok
`;
  assert.equal(ev(src, 'data.p.f', {}), undefined);
  assert.equal(ev(src, 'data.p.f', { flag: false }), false);
  assert.equal(ev(src, 'data.p.deny', {}), true);
  assert.equal(ev(src, 'data.p.deny', { ok: false }), true, 'not false succeeds');
  assert.equal(ev(src, 'data.p.deny', { ok: true }), undefined);
});

test('comprehensions and unification', () => {
  const src = `package p
import rego.v1
arr := [x * 2 | some x in input.xs]
st := {x | some x in input.xs}
ob := {k: v | some k, v in input.m; v > 1}
pair if { [a, b] = input.pair; a == b }
`;
  const input = { xs: [1, 2, 2], m: { a: 1, b: 2 }, pair: [5, 5] };
  assert.deepEqual(ev(src, 'data.p.arr', input), [2, 4, 4]);
  assert.deepEqual(ev(src, 'data.p.st', input), [1, 2]);
  assert.deepEqual(ev(src, 'data.p.ob', input), { b: 2 });
  assert.equal(ev(src, 'data.p.pair', input), true);
  assert.equal(ev(src, 'data.p.pair', { pair: [1, 2] }), undefined);
});

test('functions: multiple definitions, default, conflicts', () => {
  const src = `package p
import rego.v1
f(x) := "small" if x < 10
f(x) := "big" if x >= 10
default g(_) := 0
g(x) := x if x > 0
h(x) := 1 if x
h(x) := 2 if x
`;
  assert.equal(ev(src, 'data.p.f(3)'), 'small');
  assert.equal(ev(src, 'data.p.f(30)'), 'big');
  assert.equal(ev(src, 'data.p.g(-1)'), 0);
  assert.equal(ev(src, 'data.p.g(5)'), 5);
  const e = evErr(src, 'data.p.h(true)');
  assert.equal(e.code, 'eval_conflict_error');
  assert.match(e.message, /functions must not produce multiple outputs/);
});

test('complete rule conflict is an eval_conflict_error; equal values are fine', () => {
  const src = `package p
x := 1 if input.a
x := 2 if input.b
y := 1 if input.a
y := 1 if input.b
`;
  assert.equal(ev(src, 'data.p.x', { a: true }), 1);
  const e = evErr(src, 'data.p.x', { a: true, b: true });
  assert.equal(e.code, 'eval_conflict_error');
  assert.match(e.message, /complete rules must not produce multiple outputs/);
  assert.equal(ev(src, 'data.p.y', { a: true, b: true }), 1);
});

test('partial object key conflict', () => {
  const e = evErr('package p\no[k] = v { k := "a"; v := input.vs[_] }', 'data.p.o', { vs: [1, 2] });
  assert.equal(e.code, 'eval_conflict_error');
});

test('with: input, data and function mocking', () => {
  const src = `package p
import rego.v1
allow if input.user == "admin"
limit := data.cfg.limit
double(x) := x * 2
r1 if allow with input.user as "admin"
r2 := x if { x := limit with data.cfg.limit as 7 }
r3 := x if { x := double(2) with double as triple }
triple(x) := x * 3
`;
  assert.equal(ev(src, 'data.p.r1', { user: 'eve' }), true);
  assert.equal(ev(src, 'data.p.allow', { user: 'eve' }), undefined, 'with does not leak');
  assert.equal(ev(src, 'data.p.r2', {}, { cfg: { limit: 3 } }), 7);
  assert.equal(ev(src, 'data.p.limit', {}, { cfg: { limit: 3 } }), 3);
  assert.equal(ev(src, 'data.p.r3'), 6);
});

test('data merges base documents and rules; iteration over data with vars', () => {
  const src = ['package a.b\nr := 1', 'package q\nimport rego.v1\nks contains k if data.a[k]'];
  assert.deepEqual(ev(src, 'data.a', undefined, { a: { x: 2 } }), { b: { r: 1 }, x: 2 });
  assert.deepEqual(ev(src, 'data.q.ks', undefined, { a: { x: 2 } }), ['b', 'x']);
});

test('numbers: big integers exact, / gives floats, sets and objects as keys', () => {
  const src = `package p
big := 12345678901234567890 + 1
half := 1 / 2
k := {[1, 2]: "a"}[[1, 2]]
s := {{1}, {1}}
`;
  const pol = compile([{ filename: 'm.rego', source: src }]);
  assert.equal(pol.evaluateValue('data.p.big'), 12345678901234567891n);
  assert.equal(pol.evaluate('data.p.half'), 0.5);
  assert.equal(pol.evaluate('data.p.k'), 'a');
  assert.deepEqual(pol.evaluate('data.p.s'), [[1]]);
});

test('division by zero is an error (strict) / undefined (non-strict)', () => {
  const pol = compile([{ filename: 'm.rego', source: 'package p\nx := input.a / input.b' }]);
  assert.equal(pol.evaluate('data.p.x', { input: { a: 1, b: 0 } }), undefined);
  assert.throws(() => pol.evaluate('data.p.x', { input: { a: 1, b: 0 } , strictBuiltinErrors: true }), (e: unknown) => e instanceof RegoError && e.code === 'eval_builtin_error');
});

test('walk is relational', () => {
  const pol = compile([{ filename: 'm.rego', source: 'package p\nimport rego.v1\npaths contains p if walk(input, [p, 1])' }]);
  assert.deepEqual(pol.evaluate('data.p.paths', { input: { a: 1, b: [1, 2] } }), [['a'], ['b', 0]]);
});

test('queries with several expressions return bindings; evaluateBindings lists every solution', () => {
  const pol = compile([{ filename: 'm.rego', source: 'package p\nxs := [1, 2, 3]' }]);
  assert.deepEqual(pol.evaluate('x := data.p.xs[_]; x > 1'), { x: 2 });
  assert.deepEqual(pol.evaluateBindings('x := data.p.xs[_]; x > 1'), [{ x: 2 }, { x: 3 }]);
  assert.deepEqual(pol.evaluateBindings('data.p.xs[_] > 5'), []);
});

test('import aliases and ref heads', () => {
  const src = ['package lib\nimport rego.v1\nadmins := {"alice"}', 'package app\nimport rego.v1\nimport data.lib\nimport input.user as u\nallow if u in lib.admins\na.b.c := 1\n'];
  assert.equal(ev(src, 'data.app.allow', { user: 'alice' }), true);
  assert.deepEqual(ev(src, 'data.app.a', {}), { b: { c: 1 } });
});

test('determinism: same inputs give same outputs; set/object order is sorted', () => {
  const src = 'package p\nimport rego.v1\ns contains x if some x in input.xs\no[k] := 1 if some k in input.xs';
  const a = ev(src, 'data.p', { xs: ['z', 'a', 'm'] });
  const b = ev(src, 'data.p', { xs: ['m', 'z', 'a'] });
  assert.deepEqual(a, b);
  assert.deepEqual(JSON.stringify(a), JSON.stringify({ o: { a: 1, m: 1, z: 1 }, s: ['a', 'm', 'z'] }));
});

test('constantArgs lists constant arguments of a host built-in, null when one is dynamic', () => {
  const qrv = { name: 'query_reference_value', args: ['string' as const], result: 'any' as const, fn: () => null };
  const ok = compile([{ filename: 'm.rego', source: 'package p\nimport rego.v1\na if input.x in query_reference_value("svn")\nb if input.y == query_reference_value("major")' }], { builtins: [qrv] });
  assert.deepEqual(ok.constantArgs('query_reference_value'), ['major', 'svn']);
  assert.deepEqual(ok.constantArgs('count'), []);
  const dyn = compile([{ filename: 'm.rego', source: 'package p\nimport rego.v1\na if query_reference_value(input.id)' }], { builtins: [qrv] });
  assert.equal(dyn.constantArgs('query_reference_value'), null);
});

test('host built-ins are callable; a clash with the standard library is an error', () => {
  const hb = { name: 'host.double', args: ['number' as const], result: 'number' as const, fn: ([x]: unknown[]) => (x as number) * 2 };
  const pol = compile([{ filename: 'm.rego', source: 'package p\nx := host.double(21)' }], { builtins: [hb as never] });
  assert.equal(pol.evaluate('data.p.x'), 42);
  const clash = { ...hb, name: 'internal.member_2' };
  void clash;
  const stdName = { ...hb, name: 'count' };
  assert.throws(() => compile([{ filename: 'm.rego', source: 'package p\nx := 1' }], { builtins: [stdName as never] }), RegoError);
});

test('compile is cached by module text and host built-in names, but binds each call\'s host implementations', () => {
  const src = [{ filename: 'm.rego', source: 'package p\nx := host.v(1)' }];
  const mk = (n: number) => ({ name: 'host.v', args: ['number' as const], result: 'number' as const, fn: () => n });
  const a = compile(src, { builtins: [mk(1)] });
  const b = compile(src, { builtins: [mk(2)] });
  assert.equal(a.hash, b.hash);
  assert.equal(a.evaluate('data.p.x'), 1);
  assert.equal(b.evaluate('data.p.x'), 2);
  assert.notEqual(compile([{ filename: 'm.rego', source: 'package p\nx := 2' }]).hash, a.hash);
});

test('re-assigning a variable with := in the same body is a compile error', () => {
  assert.throws(() => compile([{ filename: 'm.rego', source: 'package p\nx { a := 1; a := 2 }' }]), (e: unknown) => e instanceof RegoError && e.code === 'rego_compile_error' && /var a assigned above/.test(e.message));
});

test('METADATA annotations: rego.metadata.rule and rego.metadata.chain', () => {
  const src = `# METADATA
# title: Pkg
package p

# METADATA
# title: Allow rule
# authors:
# - Jane Doe <jane@example.com>
allow := rego.metadata.rule()
chain := rego.metadata.chain()
`;
  const pol = compile([{ filename: 'm.rego', source: src }]);
  assert.deepEqual(pol.evaluate('data.p.allow'), { scope: 'rule', title: 'Allow rule', authors: [{ name: 'Jane Doe', email: 'jane@example.com' }] });
  assert.deepEqual(pol.evaluate('data.p.chain'), [{ path: ['p', 'chain'] }, { path: ['p'], annotations: { scope: 'package', title: 'Pkg' } }]);
});

test('print() output goes to the print option, one line per call; it never fails the expression', () => {
  const pol = compile([{ filename: 'm.rego', source: 'package p\nimport rego.v1\nx if { print("n =", input.n, [1], input.missing); true }' }]);
  const lines: string[] = [];
  assert.equal(pol.evaluate('data.p.x', { input: { n: 3 }, print: (l) => lines.push(l) }), true);
  assert.deepEqual(lines, ['n = 3 [1] <undefined>']);
  assert.equal(pol.evaluate('data.p.x', { input: { n: 3 } }), true);
});

test('rego.parse_module returns the AST in OPA JSON form; a syntax error is a builtin error', () => {
  const pol = compile([{ filename: 'm.rego', source: 'package p\nimport rego.v1\nm := rego.parse_module("x.rego", input.src)\npkg := [s.value | some s in m["package"].path]\nrule_names := [r.head.name | some r in m.rules]\n' }]);
  const src = 'package foo.bar\nimport data.a\np if { a == true }\nq := 1';
  assert.deepEqual(pol.evaluate('data.p.pkg', { input: { src } }), ['data', 'foo', 'bar']);
  assert.deepEqual(pol.evaluate('data.p.rule_names', { input: { src } }), ['p', 'q']);
  const m = pol.evaluate('data.p.m', { input: { src } }) as { rules: { body: { terms: unknown }[] }[] };
  assert.deepEqual(m.rules[0]!.body[0]!.terms, [
    { type: 'ref', value: [{ type: 'var', value: 'equal' }] },
    { type: 'var', value: 'a' },
    { type: 'boolean', value: true },
  ]);
  assert.equal(pol.evaluate('data.p.m', { input: { src: 'package foo.' } }), undefined);
  assert.throws(
    () => pol.evaluate('data.p.m', { input: { src: 'package foo.' }, strictBuiltinErrors: true }),
    (e: unknown) => e instanceof RegoError && e.code === 'eval_builtin_error' && /rego_parse_error: unexpected eof token: expected ident/.test(e.message),
  );
});
