import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, set } from './builtins-helper.js';

test('object.get with keys and paths', () => {
  assert.equal(call('object.get', { a: 'b' }, 'a', 'c'), 'b');
  assert.equal(call('object.get', { a: 'b' }, 'x', 'c'), 'c');
  assert.deepEqual(call('object.get', { a: 1 }, [], 2), { a: 1 });
  assert.equal(call('object.get', { a: { b: [{ c: 1 }] } }, ['a', 'b', 0, 'c'], 2), 1);
  assert.equal(call('object.get', { a: { b: [1, 2, 3] } }, ['a', 'b', 'a'], 2), 2);
  assert.throws(() => call('object.get', 'x', ['a'], 2), /object.get: operand 1 must be object but got string/);
});

test('object.keys / remove / filter / union / union_n', () => {
  assert.deepEqual(call('object.keys', { b: 1, a: 2 }), ['a', 'b']);
  assert.deepEqual(call('object.remove', { a: 1, b: 2, c: 3 }, ['a', 'c']), { b: 2 });
  assert.deepEqual(call('object.remove', { a: 1, b: 2 }, { b: 'ignored' }), { a: 1 });
  assert.deepEqual(call('object.filter', { a: 1, b: 2, c: 3 }, set('a', 'c', 'z')), { a: 1, c: 3 });
  assert.throws(() => call('object.remove', { a: 1 }, 'a'), /object.remove: operand 2 must be one of \{object, set, array\} but got string/);
  assert.deepEqual(call('object.union', { a: { b: 1, c: 2 }, d: 1 }, { a: { c: 3 }, d: { x: 1 } }), { a: { b: 1, c: 3 }, d: { x: 1 } });
  assert.deepEqual(call('object.union_n', [{ a: 1 }, { b: 2 }, { a: 3 }]), { a: 3, b: 2 });
  assert.throws(() => call('object.union', [], {}), /object.union: operand 1 must be object but got array/);
});

test('object.subset (recursive for objects, contiguous for arrays)', () => {
  assert.equal(call('object.subset', { a: 5, b: 7, nested: { x: 1, y: 2 } }, { nested: { x: 1 } }), true);
  assert.equal(call('object.subset', { a: 5 }, { a: 5, b: 1 }), false);
  assert.equal(call('object.subset', [1, 2, 3, 4, 5, 6], [3, 4, 5]), true);
  assert.equal(call('object.subset', [1, 2, 3, 4, 5, 6], [3, 5]), false);
  assert.equal(call('object.subset', [1, 2, 3], set(3, 1)), true);
  assert.equal(call('object.subset', set(1, 2, 3), set(2, 3)), true);
});

test('json.filter / json.remove with string and array paths', () => {
  const doc = { a: { b: { c: 7, d: 8 } }, e: 9 };
  assert.deepEqual(call('json.filter', doc, set('a/b/c', 'e')), { a: { b: { c: 7 } }, e: 9 });
  assert.deepEqual(call('json.filter', doc, [['a', 'b', 'c']]), { a: { b: { c: 7 } } });
  assert.deepEqual(call('json.filter', { a: [{ b: 7, c: 8 }, { d: 9 }] }, set('a/0/b', 'a/1')), { a: [{ b: 7 }, { d: 9 }] });
  assert.deepEqual(call('json.remove', doc, set('a/b/c', 'e')), { a: { b: { d: 8 } } });
  assert.deepEqual(call('json.remove', { a: { b: 7 }, c: 1 }, set('a', 'a/b')), { c: 1 });
  assert.throws(() => call('json.remove', doc, [1]), /containing string paths or array of path segments but got number/);
});

test('json.patch (RFC 6902) returns undefined when an operation fails', () => {
  assert.deepEqual(call('json.patch', { a: { foo: 1 } }, [{ op: 'add', path: '/a/bar', value: 2 }]), { a: { foo: 1, bar: 2 } });
  assert.deepEqual(call('json.patch', [1, 2], [{ op: 'add', path: '/-', value: 3 }]), [1, 2, 3]);
  assert.deepEqual(call('json.patch', { a: 1 }, [{ op: 'move', from: '/a', path: '/b' }]), { b: 1 });
  assert.deepEqual(call('json.patch', { a: [1] }, [{ op: 'copy', from: '/a', path: '/b' }]), { a: [1], b: [1] });
  assert.deepEqual(call('json.patch', { a: 1 }, [{ op: 'replace', path: '/a', value: 2 }]), { a: 2 });
  assert.equal(call('json.patch', { a: 1 }, [{ op: 'test', path: '/a', value: 2 }]), undefined);
  assert.equal(call('json.patch', { a: 1 }, [{ op: 'remove', path: '/b' }]), undefined);
  assert.deepEqual(call('json.patch', { foo: set('a', 'b', 'c') }, [{ op: 'remove', path: 'foo/b' }]), { foo: ['a', 'c'] });
  assert.equal(call('json.patch', { foo: set('a') }, [{ op: 'add', path: 'foo/d', value: 'e' }]), undefined);
});

test('arrays and casts', () => {
  assert.deepEqual(call('array.concat', [1, 2], [3]), [1, 2, 3]);
  assert.deepEqual(call('array.slice', [1, 2, 3, 4, 5], 1, 3), [2, 3]);
  assert.deepEqual(call('array.slice', [1, 2, 3, 4, 5], -1, 2), [1, 2]);
  assert.deepEqual(call('array.slice', [1, 2, 3, 4, 5], 4, 1), []);
  assert.deepEqual(call('array.reverse', [1, 2, 3]), [3, 2, 1]);
  assert.deepEqual(call('cast_array', set(3, 1)), [1, 3]);
  assert.deepEqual(call('cast_set', [1, 1]), [1]);
  assert.throws(() => call('cast_set', 'x'), /operand 1 must be one of \{array, set\}/);
});

test('type functions', () => {
  assert.equal(call('is_number', 1.5), true);
  assert.equal(call('is_number', null), false);
  assert.equal(call('is_set', set()), true);
  assert.equal(call('is_object', set()), false);
  assert.equal(call('type_name', set()), 'set');
  assert.equal(call('type_name', {}), 'object');
  assert.deepEqual(
    ['-42.0', false, 100.1, null, true, '1e3'].map((x) => call('to_number', x)),
    [-42, 0, 100.1, 0, 1, 1000],
  );
  assert.throws(() => call('to_number', 'broken'), /invalid syntax/);
  assert.throws(() => call('to_number', 'Inf'), /invalid syntax/);
});
