import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, RegoError } from '../../src/rego/index.js';

function compileErr(source: string, filename = 'policy.rego'): RegoError {
  try {
    compile([{ filename, source }]);
  } catch (e) {
    if (e instanceof RegoError) return e;
    throw e;
  }
  assert.fail('expected a compile error');
}

test('syntax errors carry file:line:col and rego_parse_error', () => {
  const e = compileErr('package p\n\nallow {\n  input.x ==\n}\n', 'bad.rego');
  assert.equal(e.code, 'rego_parse_error');
  assert.match(e.message, /^bad\.rego:\d+:\d+: rego_parse_error: /);
  const e2 = compileErr('package p\nx := "unterminated\n');
  assert.equal(e2.code, 'rego_parse_error');
  assert.match(e2.message, /^policy\.rego:2:6: rego_parse_error: non-terminated string/);
  const e3 = compileErr('allow := true\n');
  assert.equal(e3.code, 'rego_parse_error');
  assert.match(e3.message, /expected "package"/);
});

test('unsafe variables are compile errors', () => {
  const e = compileErr('package p\nallow { x > 1 }\n');
  assert.equal(e.code, 'rego_unsafe_var_error');
  assert.match(e.message, /^policy\.rego:2:9: rego_unsafe_var_error: var x is unsafe$/);
  const e2 = compileErr('package p\nimport rego.v1\nq contains y if { some x in input.xs }\n');
  assert.equal(e2.code, 'rego_unsafe_var_error');
  assert.match(e2.message, /var y is unsafe/);
  const e3 = compileErr('package p\nallow { not input.xs[i]; i > 0 }\n'.replace('i > 0', 'true'));
  assert.equal(e3.code, 'rego_unsafe_var_error');
});

test('the unsafe variable is located precisely', () => {
  const e = compileErr('package p\nallow { 1 < yy }\n');
  assert.match(e.message, /^policy\.rego:2:13: rego_unsafe_var_error: var yy is unsafe$/);
});

test('a non-object base data document is rejected', () => {
  const pol = compile([{ filename: 'p.rego', source: 'package p\nx := 1' }]);
  assert.throws(() => pol.evaluate('data.p.x', { data: [1, 2] }), (e: unknown) => e instanceof RegoError && /base data document must be a JSON object/.test(e.message));
});

test('body expressions are reordered for safety', () => {
  const pol = compile([{ filename: 'p.rego', source: 'package p\nallow { x > 1; x := input.n }\n' }]);
  assert.equal(pol.evaluate('data.p.allow', { input: { n: 2 } }), true);
  assert.equal(pol.evaluate('data.p.allow', { input: { n: 0 } }), undefined);
});

test('unknown functions and wrong arities are rego_type_error', () => {
  const e = compileErr('package p\nx := no_such_fn(1)\n');
  assert.equal(e.code, 'rego_type_error');
  assert.match(e.message, /undefined function no_such_fn/);
  const e2 = compileErr('package p\nf(a) := a\nx := f(1, 2, 3)\n');
  assert.equal(e2.code, 'rego_type_error');
});

test('recursion is rejected at compile time', () => {
  const e = compileErr('package p\na { b }\nb { a }\n');
  assert.equal(e.code, 'rego_recursion_error');
  const e2 = compileErr('package p\nf(x) := y { y := f(x) }\n');
  assert.equal(e2.code, 'rego_recursion_error');
});

test('conflicting rule kinds are rejected', () => {
  const e = compileErr('package p\nimport rego.v1\nx := 1\nx contains 2\n');
  assert.equal(e.code, 'rego_type_error');
});

test('hostile: huge comprehension hits the step limit', () => {
  const pol = compile([{ filename: 'p.rego', source: 'package p\nimport rego.v1\nn := count([1 | some i in numbers.range(1, 100000); some j in numbers.range(1, 100000)])\nm := count([[a, b] | a := input.xs[_]; b := input.xs[_]])\n' }]);
  const xs = Array.from({ length: 2000 }, (_, i) => i);
  assert.throws(
    () => pol.evaluate('data.p.m', { input: { xs }, limits: { maxSteps: 100_000 } }),
    (e: unknown) => e instanceof RegoError && e.code === 'eval_limit_error',
  );
});

test('hostile: the wall-time limit cancels evaluation', () => {
  const pol = compile([{ filename: 'p.rego', source: 'package p\nm := count([[a, b, c] | a := input.xs[_]; b := input.xs[_]; c := input.xs[_]])\n' }]);
  const xs = Array.from({ length: 300 }, (_, i) => i);
  assert.throws(
    () => pol.evaluate('data.p.m', { input: { xs }, limits: { maxSteps: 1e12, maxMs: 1 } }),
    (e: unknown) => e instanceof RegoError && e.code === 'eval_cancel_error',
  );
});

function chain(n: number): string {
  const lines = ['package p'];
  for (let i = 0; i < n; i++) lines.push(`f${i}(x) := y { y := f${i + 1}(x) }`);
  lines.push(`f${n}(x) := x`);
  lines.push('r := f0(1)');
  return lines.join('\n');
}

test('hostile: deep call chains hit the depth limit, never a crash', () => {
  const pol = compile([{ filename: 'p.rego', source: chain(150) }]);
  assert.throws(
    () => pol.evaluate('data.p.r', { limits: { maxDepth: 100 } }),
    (e: unknown) => e instanceof RegoError && e.code === 'eval_limit_error',
  );
  assert.equal(pol.evaluate('data.p.r'), 1, 'within the default depth');
  const deep = compile([{ filename: 'p.rego', source: chain(2000) }]);
  assert.throws(
    () => deep.evaluate('data.p.r', { limits: { maxDepth: 100000 } }),
    (e: unknown) => e instanceof RegoError && e.code === 'eval_limit_error',
    'a native stack overflow surfaces as eval_limit_error',
  );
});

test('hostile: deeply nested input and terms do not crash', () => {
  let src = '1';
  for (let i = 0; i < 200; i++) src = `[${src}]`;
  const pol = compile([{ filename: 'p.rego', source: `package p\nx := ${src}\n` }]);
  const v = pol.evaluate('data.p.x');
  assert.ok(Array.isArray(v));
  // pathological parser input: error, not a hang or stack overflow
  assert.throws(() => compile([{ filename: 'p.rego', source: 'package p\nx := ' + '['.repeat(100000) }]), (e: unknown) => e instanceof RegoError);
});

test('hostile: mutated policies only ever fail with RegoError (deterministic fuzz)', () => {
  const seeds = [
    'package p\nimport rego.v1\ndefault allow := false\nallow if {\n  some x in input.xs\n  x.name == "a"\n  count([y | y := x.items[_]; y > 1]) > 0\n}\nf(x) := y if { y := {k: v | some k, v in x} } else := {}\ns contains z if z := input.a[_].b\n',
    'package q\np[x] = y { y := input[x]; not y == false }\nq = {"a": [1, 2.5, "s", null, true], "b": {1, 2}}\nr { every v in input.vs { v != 0 } }\nt := x { x := sum([1, 2]) with input as {} }\n',
  ];
  let state = 42;
  const rnd = (n: number) => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
  const alphabet = '{}[]()|,:=."`\n _x-#';
  for (let i = 0; i < 600; i++) {
    let s = seeds[i % seeds.length]!;
    for (let j = 0, n = 1 + rnd(3); j < n; j++) {
      const p = rnd(s.length + 1);
      const r = rnd(3);
      if (r === 0) s = s.slice(0, p) + s.slice(p + 1 + rnd(5));
      else if (r === 1) s = s.slice(0, p) + alphabet[rnd(alphabet.length)] + s.slice(p);
      else s = s.slice(0, p) + s.slice(rnd(s.length));
    }
    try {
      const pol = compile([{ filename: `fuzz${i}.rego`, source: s }]);
      pol.evaluate('data', { input: { xs: [{ name: 'a', items: [2] }], a: [{ b: 1 }], vs: [1] }, limits: { maxMs: 100 } });
    } catch (e) {
      assert.ok(e instanceof RegoError, `non-RegoError for input ${JSON.stringify(s)}: ${(e as Error).stack}`);
    }
  }
});

test('long bodies (thousands of expressions) evaluate without exhausting the stack', () => {
  const body = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? `  v${i} := input.x${i % 10} + 1` : `  input.x${i % 10} == ${i % 10}`)).join('\n');
  const pol = compile([{ filename: 'long.rego', source: `package p\nallow {\n${body}\n}` }]);
  const input = Object.fromEntries(Array.from({ length: 10 }, (_, i) => ['x' + i, i]));
  assert.equal(pol.evaluate('data.p.allow', { input }), true);
  assert.equal(pol.evaluate('data.p.allow', { input: { ...input, x3: 4 } }), undefined);
});

test('input that is not JSON data (cyclic, bytes) is a typed error', () => {
  const pol = compile([{ filename: 'p.rego', source: 'package p\nx := input.a' }]);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => pol.evaluate('data.p.x', { input: cyclic }), (e: unknown) => e instanceof RegoError && e.code === 'eval_type_error' && /input document is not JSON data/.test(e.message));
  assert.throws(() => pol.evaluate('data.p.x', { input: { a: new Uint8Array(2) } }), (e: unknown) => e instanceof RegoError && e.code === 'eval_type_error');
});

test('hostile: very long operator chains fail with a RegoError, never a RangeError', () => {
  for (const n of [2000, 100000]) {
    try {
      compile([{ filename: 'p.rego', source: 'package p\nx := ' + '1+'.repeat(n) + '1' }]).evaluate('data.p.x');
    } catch (e) {
      assert.ok(e instanceof RegoError, String(e));
      assert.ok(['rego_compile_error', 'eval_limit_error'].includes(e.code), e.code);
    }
  }
});
