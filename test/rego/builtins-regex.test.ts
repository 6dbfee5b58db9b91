import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from './builtins-helper.js';
import { BuiltinError } from '../../src/rego/builtins/types.js';

test('regex.match uses RE2 (no backreferences, no lookaround)', () => {
  assert.equal(call('regex.match', '^[a-z]+\\[[0-9]+\\]$', 'foo[1]'), true);
  assert.equal(call('regex.match', 'x', 'abc'), false);
  assert.throws(() => call('regex.match', '(a)\\1', 'aa'), (e: unknown) => e instanceof BuiltinError);
  assert.throws(() => call('regex.match', '[', 'x'), /error parsing regexp: missing closing \]/);
  assert.equal(call('regex.is_valid', '(?=x)'), false); // lookahead is not RE2
  assert.equal(call('regex.is_valid', '.*'), true);
  assert.equal(call('regex.is_valid', 1), false);
});

test('regex find/split/replace follow Go regexp semantics', () => {
  assert.deepEqual(call('regex.split', 'a', 'banana'), ['b', 'n', 'n', '']);
  assert.deepEqual(call('regex.split', 'z+', 'pizza'), ['pi', 'a']);
  assert.deepEqual(call('regex.split', 'x', ''), ['']);
  assert.deepEqual(call('regex.find_n', 'a.', 'paranormal', -1), ['ar', 'an', 'al']);
  assert.deepEqual(call('regex.find_n', 'a.', 'paranormal', 2), ['ar', 'an']);
  assert.deepEqual(call('regex.find_n', 'a*', 'baaac', -1), ['', 'aaa', '']); // empty match after a match is dropped
  assert.deepEqual(call('regex.find_all_string_submatch_n', 'a(x*)b(y|z)?', '-axxb-ab-', -1), [
    ['axxb', 'xx', ''],
    ['ab', '', ''],
  ]);
  assert.equal(call('regex.replace', '-wy-wxxy-', 'w(x*)y', '0'), '-0-0-');
  assert.equal(call('regex.replace', 'foo', '(foo)', '$1$1'), 'foofoo');
  assert.equal(call('regex.replace', 'foo', '(?P<w>o)', '[${w}]'), 'f[o][o]');
  assert.equal(call('regex.replace', 'abc', 'b', '$1x'), 'ac'); // "$1x" names group "1x", which is empty (Go)
});

test('regex.template_match', () => {
  assert.equal(call('regex.template_match', 'urn:foo:{.*}', 'urn:foo:bar:baz', '{', '}'), true);
  assert.equal(call('regex.template_match', 'urn:foo.bar:<[a-z]+>', 'urn:foo.bar:baz', '<', '>'), true);
  assert.equal(call('regex.template_match', 'urn:foo.bar:<[a-z]+>', 'urn:fooxbar:baz', '<', '>'), false);
  assert.throws(() => call('regex.template_match', 'urn:{.*', 'x', '{', '}'), /unbalanced braces/);
});

test('glob.match (gobwas semantics)', () => {
  assert.equal(call('glob.match', '*.github.com', ['.'], 'api.github.com'), true);
  assert.equal(call('glob.match', '*.github.com', ['.'], 'api.cdn.github.com'), false);
  assert.equal(call('glob.match', 'api.**.com', ['.'], 'api.cdn.github.com'), true);
  assert.equal(call('glob.match', '*', [], 'foo.bar'), false); // [] means the default delimiter "."
  assert.equal(call('glob.match', '*', null, 'foo.bar'), true); // null means no delimiter
  assert.equal(call('glob.match', '[!a-c]at', [], 'fat'), true);
  assert.equal(call('glob.match', '{cat,bat,[fr]at}', [], 'rat'), true);
  assert.equal(call('glob.match', '?at', ['f'], 'fat'), false);
  assert.equal(call('glob.match', 'a\\*b', [], 'a*b'), true);
  assert.equal(call('glob.match', 'a\\*b', [], 'axb'), false);
  assert.equal(call('glob.quote_meta', '*.github.com'), '\\*.github.com');
});

test('regex.globs_match: intersection of two globs', () => {
  assert.equal(call('regex.globs_match', 'a.a.[0-9]+z', '.b.b2359825792*594823z'), true);
  assert.equal(call('regex.globs_match', '[a-z]+', '[0-9]*'), false);
  assert.equal(call('regex.globs_match', '[a-z]+\\[[0-9]+\\]', 'foo\\[1\\]'), true);
  assert.equal(call('regex.globs_match', '[a-z]+\\[[0-9]+\\]', 'foo["bar"]'), false);
  assert.equal(call('regex.globs_match', '[^a-z]', 'b'), false);
  assert.equal(call('regex.globs_match', 'a*', ''), true);
  assert.throws(() => call('regex.globs_match', 'pqrs]', '[a-b]+'), /input:pqrs\], pos:5, set-close '\]' with no preceding '\['/);
});
