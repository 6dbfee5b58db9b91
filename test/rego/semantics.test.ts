/** OPA semantics checked against the OPA documentation's examples and rules. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, RegoError } from '../../src/rego/index.js';

const pol = (source: string) => compile([{ filename: 's.rego', source }]);

test('iteration with several variables over nested collections (OPA docs: servers/ports)', () => {
  const p = pol(`package ex
import rego.v1
public_ports contains [i, j] if input.servers[i].ports[j] == "p1"
ids contains s.id if some s in input.servers
`);
  const input = { servers: [{ id: 'app', ports: ['p1', 'p2'] }, { id: 'db', ports: ['p3', 'p1'] }] };
  assert.deepEqual(p.evaluate('data.ex.public_ports', { input }), [[0, 0], [1, 1]]);
  assert.deepEqual(p.evaluate('data.ex.ids', { input }), ['app', 'db']);
});

test('unification binds variables in either order, including later expressions (reordering)', () => {
  const p = pol('package ex\nr = [a, b] { b = a + 1; [a, "x"] = input.pair }');
  assert.deepEqual(p.evaluate('data.ex.r', { input: { pair: [4, 'x'] } }), [4, 5]);
  assert.equal(p.evaluate('data.ex.r', { input: { pair: [4, 'y'] } }), undefined);
});

test('negation of a rule defined by iteration (OPA docs: not any_public_networks)', () => {
  const p = pol(`package ex
import rego.v1
any_public if some n in input.networks; n.public
no_public if not any_public
`.replace('some n in input.networks; n.public', '{ some n in input.networks; n.public }'));
  assert.equal(p.evaluate('data.ex.no_public', { input: { networks: [{ public: false }, { public: false }] } }), true);
  assert.equal(p.evaluate('data.ex.no_public', { input: { networks: [{ public: false }, { public: true }] } }), undefined);
});

test('every requires the body to hold for every element; an unmatched element fails it', () => {
  const p = pol(`package ex
import rego.v1
ok if every k, v in input.m { startswith(k, "x"); v > 0 }
`);
  assert.equal(p.evaluate('data.ex.ok', { input: { m: { xa: 1, xb: 2 } } }), true);
  assert.equal(p.evaluate('data.ex.ok', { input: { m: { xa: 1, b: 2 } } }), undefined);
  assert.equal(p.evaluate('data.ex.ok', { input: { m: { xa: 1, xb: 0 } } }), undefined);
  assert.equal(p.evaluate('data.ex.ok', { input: {} }), undefined, 'undefined domain: every is undefined');
});

test('comprehension-local variables do not leak; closures see outer bindings', () => {
  const p = pol(`package ex
import rego.v1
r := [n, c] if {
  n := input.n
  c := count([x | some x in input.xs; x > n])
}
`);
  assert.deepEqual(p.evaluate('data.ex.r', { input: { n: 1, xs: [0, 1, 2, 3] } }), [1, 2]);
});

test('with input/data replaces documents only for that expression; memoized rules are re-evaluated', () => {
  const p = pol(`package ex
import rego.v1
user := input.user
both := [a, b] if {
  a := user with input.user as "x"
  b := user with input.user as "y"
}
`);
  assert.deepEqual(p.evaluate('data.ex.both', { input: { user: 'z' } }), ['x', 'y']);
  assert.equal(p.evaluate('data.ex.user', { input: { user: 'z' } }), 'z');
});

test('with on a built-in and on a function', () => {
  const p = pol(`package ex
import rego.v1
n := count(input.xs)
mocked := x if x := n with count as 99
f(x) := x + 1
g(x) := x * 10
h := y if y := f(1) with f as g
`);
  assert.equal(p.evaluate('data.ex.mocked', { input: { xs: [1] } }), 99);
  assert.equal(p.evaluate('data.ex.h'), 10);
});

test('default applies only when no definition produced a value', () => {
  const p = pol('package ex\ndefault v := "d"\nv := input.v\n');
  assert.equal(p.evaluate('data.ex.v', { input: {} }), 'd');
  assert.equal(p.evaluate('data.ex.v', { input: { v: false } }), false);
});

test('strings, numbers and composite equality follow OPA (1 == 1.0, [1] != [1.5], {"a":1} == {"a":1})', () => {
  const p = pol('package ex\na := 1 == 1.0\nb := [1] == [1.5]\nc := {"a": 1} == {"a": 1}\nd := {1, 2} == {2, 1}\n');
  assert.equal(p.evaluate('data.ex.a'), true);
  assert.equal(p.evaluate('data.ex.b'), false);
  assert.equal(p.evaluate('data.ex.c'), true);
  assert.equal(p.evaluate('data.ex.d'), true);
});

test('object comprehension key conflict is an eval_conflict_error', () => {
  const p = pol('package ex\nimport rego.v1\no := {k: v | some v in [1, 2]; k := "same"}\n');
  assert.throws(() => p.evaluate('data.ex.o'), (e: unknown) => e instanceof RegoError && e.code === 'eval_conflict_error');
});

test('refs into data iterate base and virtual documents together', () => {
  const p = compile([
    { filename: 'a.rego', source: 'package roles.admin\nmembers := ["alice"]' },
    { filename: 'b.rego', source: 'package q\nimport rego.v1\nroles_of(u) := {r | some r; u in data.roles[r].members}' },
  ]);
  assert.deepEqual(p.evaluate('data.q.roles_of("alice")', { data: { roles: { viewer: { members: ['alice', 'bob'] } } } }), ['admin', 'viewer']);
  assert.deepEqual(p.evaluate('data.q.roles_of("bob")', { data: { roles: { viewer: { members: ['alice', 'bob'] } } } }), ['viewer']);
});

test('variables declared inside a comprehension are local to it and do not hide a rule of the same name', () => {
  const p = pol(`package ex
import rego.v1
x := 100
r := [a, b, c] if {
  a := [x | some x in [1, 2]]
  b := x
  c := {x: true | x := "k"}
}
`);
  assert.deepEqual(p.evaluate('data.ex.r'), [[1, 2], 100, { k: true }]);
});
