import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseModule, parseQuery } from '../../src/rego/parser.js';
import { RegoError } from '../../src/rego/errors.js';
import { compile } from '../../src/rego/index.js';

test('module structure: package, imports, rule kinds, locations', () => {
  const m = parseModule(
    `package a.b
import rego.v1
import input.user as u
import data.lib

default allow := false
allow if u == "x"
s contains x if some x in input.xs
o[k] := v if some k, v in input.m
f(x) := x + 1
a.b.c := 1
`,
    'm.rego',
  );
  assert.deepEqual(m.pkg, ['data', 'a', 'b']);
  assert.equal(m.imports.length, 3);
  assert.equal(m.imports[1]!.alias, 'u');
  const kinds = m.rules.map((r) => [r.head.path.join('.'), r.head.kind, r.isDefault]);
  assert.deepEqual(kinds, [
    ['allow', 'complete', true],
    ['allow', 'complete', false],
    ['s', 'partialset', false],
    ['o', 'partialobject', false],
    ['f', 'function', false],
    ['a.b.c', 'complete', false],
  ]);
  assert.deepEqual(m.rules[1]!.loc, { file: 'm.rego', row: 7, col: 1 });
  assert.deepEqual(m.rules[2]!.body[0]!.loc, { file: 'm.rego', row: 8, col: 17 });
});

test('v0 forms: p[x] { } is a partial set, p[k] = v { } an object, else chains, multiple bodies', () => {
  const m = parseModule('package p\ns[x] { x := 1 }\no[k] = 1 { k := "a" }\nc = 1 { false } else = 2 { true } else = 3\nd { false } { true }\n', 'v0.rego');
  assert.equal(m.rules[0]!.head.kind, 'partialset');
  assert.equal(m.rules[1]!.head.kind, 'partialobject');
  assert.equal(m.rules[2]!.elseChain.length, 2);
  assert.equal(m.rules.filter((r) => r.head.path[0] === 'd').length, 2);
  const pol = compile([{ filename: 'v0.rego', source: 'package p\nc = 1 { false } else = 2 { true } else = 3\nd { false } { true }\n' }]);
  assert.equal(pol.evaluate('data.p.c'), 2);
  assert.equal(pol.evaluate('data.p.d'), true);
});

test('literals: raw strings, escapes, numbers, big integers, negative numbers, comments', () => {
  const pol = compile([
    {
      filename: 'lit.rego',
      source: 'package p\n# comment\nraw := `a\\nb` # trailing comment\nesc := "tab\\there \\u00e9"\nflt := 1.5e3\nneg := -7\nbig := 123456789012345678901234567890\nobj := {"k": [1, {2}, null, true]}\n',
    },
  ]);
  assert.equal(pol.evaluate('data.p.raw'), 'a\\nb');
  assert.equal(pol.evaluate('data.p.esc'), 'tab\there é');
  assert.equal(pol.evaluate('data.p.flt'), 1500);
  assert.equal(pol.evaluate('data.p.neg'), -7);
  assert.equal(pol.evaluateValue('data.p.big'), 123456789012345678901234567890n);
  assert.deepEqual(pol.evaluate('data.p.obj'), { k: [1, [2], null, true] });
});

test('operator precedence follows OPA (in < | < & < comparison < + - < * / %)', () => {
  const pol = compile([{ filename: 'op.rego', source: 'package p\na := 1 + 2 * 3\nb := (1 + 2) * 3\nc := 2 - 1 - 1\nd := 1 + 1 == 2\ne := {1, 2} | {3} & {3, 4}\nf := 1 + 1 in [2]\n' }]);
  assert.equal(pol.evaluate('data.p.a'), 7);
  assert.equal(pol.evaluate('data.p.b'), 9);
  assert.equal(pol.evaluate('data.p.c'), 0);
  assert.equal(pol.evaluate('data.p.d'), true);
  assert.deepEqual(pol.evaluate('data.p.e'), [1, 2, 3]);
  assert.equal(pol.evaluate('data.p.f'), true);
});

test('queries parse with ; and newlines', () => {
  assert.equal(parseQuery('x := 1; y := 2\nz := 3').length, 3);
});

test('parse errors name the position and the problem', () => {
  const cases: [string, RegExp][] = [
    ['package p\nallow { input.x == }\n', /^e\.rego:2:20: rego_parse_error: unexpected "}" token: expected a term/],
    ['package p\nx := [1, 2\n', /^e\.rego:3:1: rego_parse_error: unexpected eof token: expected "]"/],
    ['package p\nx := "a" "b"\n', /^e\.rego:2:10: rego_parse_error: unexpected string token: expected end of statement/],
    ['package p\nx := 1 @ 2\n', /^e\.rego:2:8: rego_parse_error: unexpected character "@"/],
    ['package p\ndefault x\n', /^e\.rego:2:1: rego_parse_error: default rule must have a value/],
  ];
  for (const [src, re] of cases) {
    assert.throws(() => parseModule(src, 'e.rego'), (e: unknown) => e instanceof RegoError && e.code === 'rego_parse_error' && re.test(e.message), src);
  }
});

test('import rego.v1 enforces `if` before bodies and `contains` for partial sets', () => {
  assert.throws(() => parseModule('package p\nimport rego.v1\nallow { true }\n', 'v1.rego'), (e: unknown) => e instanceof RegoError && /^v1\.rego:3:7: rego_parse_error: `if` keyword is required/.test(e.message));
  assert.throws(() => parseModule('package p\nimport rego.v1\ns[x] { x := 1 }\n', 'v1.rego'), (e: unknown) => e instanceof RegoError && /`contains` keyword is required/.test(e.message));
  assert.throws(() => parseModule('package p\nimport rego.v1\nc := 1 if { false } else := 2 { true }\n', 'v1.rego'), (e: unknown) => e instanceof RegoError && /`if` keyword is required/.test(e.message));
  // the same rules are fine without the import (v0), and in v1 form
  assert.equal(parseModule('package p\nallow { true }\ns[x] { x := 1 }\n', 'v0.rego').rules.length, 2);
  assert.equal(parseModule('package p\nimport rego.v1\nallow if { true }\ns contains x if { x := 1 }\nd := 1\n', 'v1.rego').rules.length, 3);
});
