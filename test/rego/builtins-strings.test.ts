import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, callRaw, set } from './builtins-helper.js';
import { BuiltinError, BuiltinTypeError } from '../../src/rego/builtins/types.js';

test('string basics count code points, not UTF-16 units', () => {
  assert.equal(call('concat', '/', ['', 'foo', 'bar', '0', 'baz']), '/foo/bar/0/baz');
  assert.equal(call('concat', ',', set('b', 'a')), 'a,b');
  assert.equal(call('indexof', 'abcabcabcdefgh', 'cde'), 8);
  assert.equal(call('indexof', '🍧🍨🧁🍰🍮', '🍮'), 4);
  assert.equal(call('indexof', 'abc', 'x'), -1);
  assert.deepEqual(call('indexof_n', '😇😀😇😀😇😀', '😀'), [1, 3, 5]);
  assert.equal(call('substring', 'aåäö', 2, -1), 'äö');
  assert.equal(call('substring', 'abcdefgh', 2, 10000), 'cdefgh');
  assert.equal(call('substring', 'åäö', 4, -1), '');
  assert.throws(() => call('substring', 'aaa', -1, -1), (e: unknown) => e instanceof BuiltinError && /negative offset/.test(e.message));
  assert.equal(call('strings.reverse', '1😀𝛾'), '𝛾😀1');
  assert.throws(() => call('strings.reverse', 1), /reverse: operand 1 must be string but got number/);
  assert.deepEqual(call('split', 'foo.bar.baz', '.'), ['foo', 'bar', 'baz']);
  assert.deepEqual(call('split', '', '.'), ['']);
  assert.equal(call('replace', 'foo...bar', '..', ',,'), 'foo,,.bar');
  assert.equal(call('upper', 'abc'), 'ABC');
  assert.equal(call('lower', 'ÅÄÖ'), 'åäö');
  assert.equal(call('contains', 'abcdefgh', 'defg'), true);
  assert.equal(call('startswith', 'abcdefgh', 'bcd'), false);
  assert.equal(call('endswith', 'abcdefgh', 'fgh'), true);
  assert.equal(call('strings.count', 'cheese', 'e'), 3);
  assert.equal(call('strings.count', 'five', ''), 5);
});

test('trim family uses Go semantics (cutsets, unicode.IsSpace)', () => {
  assert.equal(call('trim', '...foo.bar...', '.fr'), 'oo.ba');
  assert.equal(call('trim_left', '...foo.', '.'), 'foo.');
  assert.equal(call('trim_right', '.foo...', '.'), '.foo');
  assert.equal(call('trim_prefix', 'foo.bar', 'foo.'), 'bar');
  assert.equal(call('trim_suffix', 'foo.bar', '.bar'), 'foo');
  assert.equal(call('trim_space', '\t\n  x y \u00a0'), 'x y');
  assert.equal(call('trim_space', '\ufeffx'), '\ufeffx'); // BOM is not a space in Go
});

test('strings.replace_n: sorted keys, first match wins (Go strings.Replacer)', () => {
  assert.equal(call('strings.replace_n', { '<': '&lt;', '>': '&gt;' }, 'This is <b>HTML</b>!'), 'This is &lt;b&gt;HTML&lt;/b&gt;!');
  assert.equal(call('strings.replace_n', { f: 'x', foo: 'xxx' }, 'foobar'), 'xoobar');
  assert.throws(() => call('strings.replace_n', { a: 1 }, 'foo'), /operand 1 non-string value found in pattern object/);
});

test('any_prefix_match / any_suffix_match', () => {
  assert.equal(call('strings.any_prefix_match', ['a/b', 'c/d'], ['c/']), true);
  assert.equal(call('strings.any_prefix_match', 'a/b', set('x', 'y')), false);
  assert.equal(call('strings.any_suffix_match', set('a.txt'), '.txt'), true);
  assert.throws(() => call('strings.any_prefix_match', [1], 'a'), /operand 1 must be array of strings but got array containing number/);
  assert.throws(() => call('strings.any_suffix_match', 'a', 1), /operand 2 must be one of \{string, set, array\} but got number/);
});

test('format_int', () => {
  assert.equal(call('format_int', 15.5, 16), 'f');
  assert.equal(call('format_int', -15.5, 2), '-1111');
  assert.throws(() => call('format_int', 4.1, 199), (e: unknown) => e instanceof BuiltinTypeError && /one of \{2, 8, 10, 16\}/.test(e.message));
});

test('sprintf follows Go fmt', () => {
  assert.equal(call('sprintf', 'hi %s', ['there']), 'hi there');
  assert.equal(call('sprintf', 'hi %02d', [5]), 'hi 05');
  assert.equal(call('sprintf', 'hi %02X.%02X', [127, 1]), 'hi 7F.01');
  assert.equal(call('sprintf', 'hi %.2f', [3.1415]), 'hi 3.14');
  assert.equal(call('sprintf', 'hi %s', [true]), 'hi true');
  assert.equal(call('sprintf', 'hi %v', [['there', 5, 3.14]]), 'hi ["there", 5, 3.14]');
  assert.equal(call('sprintf', '%v', [{ a: set(1, 'x') }]), '{"a": {1, "x"}}');
  assert.equal(call('sprintf', '%v', [set()]), 'set()');
  assert.equal(call('sprintf', '%s', [123456789123456789123n]), '123456789123456789123');
  assert.equal(call('sprintf', '%d', [callRaw('mul', 1208925819614629174706175n, 1)]), '1208925819614629174706175');
  assert.equal(call('sprintf', '%e', [3.1415]), '3.141500e+00');
  assert.equal(call('sprintf', '%g|%g|%v', [0.00001234, 100000.5, 1234567.5]), '1.234e-05|100000.5|1.2345675e+06');
  assert.equal(call('sprintf', '%-5s|%5s|%x|%q', ['ab', 'cd', 'hi', 'q"']), 'ab   |   cd|6869|"q\\""');
  assert.equal(call('sprintf', '%d %s', [1]), '1 %!s(MISSING)');
  assert.equal(call('sprintf', '%d', [1.5]), '%!d(float64=1.5)');
  assert.equal(call('sprintf', '100%%', []), '100%');
});

test('strings.render_template (Go text/template subset, missingkey=error)', () => {
  const r = (t: string, v: unknown) => call('strings.render_template', t, v);
  assert.equal(r('{{.test}}', { test: 'hello world' }), 'hello world'); // OPA documentation example
  assert.equal(r('{{range $i, $name := .hellonames}}{{if $i}},{{end}}{{$name}}{{end}}', { hellonames: ['rohan', 'john doe'] }), 'rohan,john doe');
  assert.equal(r('{{if eq .x 1}}one{{else if eq .x 2}}two{{else}}many{{end}}!', { x: 2 }), 'two!');
  assert.equal(r('{{if eq .x 1}}one{{else if eq .x 2}}two{{else}}many{{end}}!', { x: 5 }), 'many!');
  // Variables pass through JSON, so numbers are float64 for Go: 123456789 prints as 1.23456789e+08.
  assert.equal(r('{{.n}} {{.big}} {{.arr}} {{.obj}}', { n: 3, big: 123456789, arr: [1, 'a'], obj: { b: 1, a: true } }), '3 1.23456789e+08 [1 a] map[a:true b:1]');
  assert.equal(r('a  {{- .x -}}  b', { x: 'X' }), 'aXb');
  assert.equal(r('{{/* note */}}{{with .o}}{{.k}}{{end}}|{{len .s}}|{{index .arr 1}}', { o: { k: 'v' }, s: 'héllo', arr: [1, 2] }), 'v|6|2');
  assert.equal(r('{{range $k, $v := .m}}{{$k}}={{$v}};{{else}}none{{end}}', { m: { b: 2, a: 1 } }), 'a=1;b=2;');
  assert.equal(r('{{range .m}}x{{else}}none{{end}}', { m: [] }), 'none');
  assert.equal(r('{{ .a | printf "%s!" }}', { a: 'x' }), 'x!');
  assert.throws(() => r('{{.missing}}', {}), /map has no entry for key "missing"/);
  assert.throws(() => r('{{if .a}}', { a: 1 }), /unexpected EOF/);
  assert.throws(() => r('{{nosuchfn 1}}', {}), /function "nosuchfn" not defined/);
});
