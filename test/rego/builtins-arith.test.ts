import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, callRaw, set } from './builtins-helper.js';
import { BuiltinError, BuiltinTypeError } from '../../src/rego/builtins/types.js';
import { STANDARD_BUILTINS } from '../../src/rego/builtins/index.js';

test('built-in names are unique', () => {
  const names = STANDARD_BUILTINS.map((d) => d.name);
  assert.equal(new Set(names).size, names.length);
});

test('arithmetic: exact decimals and big integers (OPA keeps arbitrary precision)', () => {
  assert.equal(call('plus', 1, 2), 3);
  assert.equal(call('plus', 0.1, 0.2), 0.3); // OPA: 0.3, not IEEE's 0.30000000000000004
  assert.equal(callRaw('plus', 9007199254740991n, 2), 9007199254740993n);
  assert.equal(callRaw('mul', 123456789123456789n, 1000), 123456789123456789000n);
  assert.equal(call('minus', 49649733058, 1), 49649733057); // OPA bug 2469 regression
  assert.equal(call('mul', 1.5, 2), 3);
  assert.equal(call('div', 6, 3), 2);
  assert.equal(call('div', 1, 4), 0.25);
  assert.equal(call('rem', 7, 4), 3);
  assert.equal(call('rem', -7, 4), -3); // Go's truncated remainder
  assert.equal(call('abs', -10), 10);
});

test('arithmetic errors are OPA-worded', () => {
  assert.throws(() => call('div', 1, 0), (e: unknown) => e instanceof BuiltinError && e.message === 'div: divide by zero');
  assert.throws(() => call('rem', 7, 0), /modulo by zero/);
  assert.throws(() => call('rem', 1.1, 1), /modulo on floating-point number/);
  assert.throws(() => call('plus', 'a', 1), (e: unknown) => e instanceof BuiltinTypeError && e.message === 'plus: operand 1 must be number but got string');
  assert.throws(() => call('minus', set(1), 1), /operand 2 must be set but got number/);
  assert.throws(() => call('minus', 1, set(1)), /operand 2 must be number but got set/);
});

test('rounding returns integers; round is half away from zero', () => {
  assert.equal(call('ceil', 1.01), 2);
  assert.equal(call('ceil', -1.99999), -1);
  assert.equal(call('floor', -1.001), -2);
  assert.equal(call('round', 2.5), 3);
  assert.equal(call('round', -2.5), -3);
  assert.equal(call('round', 1), 1);
});

test('numbers.range and range_step', () => {
  assert.deepEqual(call('numbers.range', -2, 3), [-2, -1, 0, 1, 2, 3]);
  assert.deepEqual(call('numbers.range', 2, -3), [2, 1, 0, -1, -2, -3]);
  assert.deepEqual(call('numbers.range_step', 0, 10, 3), [0, 3, 6, 9]);
  assert.throws(() => call('numbers.range', 3.14, 4), /operand 1 must be integer number but got floating-point number/);
  assert.throws(() => call('numbers.range_step', 0, 10, 0), /step must be a positive number/);
});

test('set operators', () => {
  assert.deepEqual(call('minus', set(1, 2, 3, 4), set(1, 3)), [2, 4]);
  assert.deepEqual(call('and', set(1, 2, 3), set(2, 3, 4)), [2, 3]);
  assert.deepEqual(call('or', set(1, 2), set(3)), [1, 2, 3]);
  assert.deepEqual(call('intersection', set(set(1, 2, 3), set(2))), [2]);
  assert.deepEqual(call('union', set(set(1, 2, 3), set(2, 3, 4), set(4, 5, 6))), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(call('intersection', set()), []);
});

test('comparisons follow OPA ordering across types', () => {
  assert.equal(call('lt', null, false), true);
  assert.equal(call('lt', 1, 'a'), true);
  assert.equal(call('gt', [1, 2], [1]), true);
  assert.equal(call('equal', 1, 1.0), true);
  assert.equal(call('neq', 'a', 'b'), true);
  assert.equal(call('lte', 28857836529306024611912n, 28857836529306024611913n), true);
});

test('bits', () => {
  assert.equal(call('bits.and', 5, 3), 1);
  assert.equal(call('bits.or', 5, 3), 7);
  assert.equal(call('bits.xor', 5, 3), 6);
  assert.equal(call('bits.negate', 42), -43);
  assert.equal(call('bits.lsh', 1, 3), 8);
  assert.equal(callRaw('bits.lsh', 9223372036854775807n, 1), 18446744073709551614n);
  assert.equal(call('bits.rsh', 8, 2), 2);
  assert.throws(() => call('bits.lsh', 7, -1), /operand 2 must be an unsigned integer number but got a negative integer/);
  assert.throws(() => call('bits.negate', 7.2), /operand 1 must be integer number/);
});

test('aggregates', () => {
  assert.equal(call('count', [1, 2, 3]), 3);
  assert.equal(call('count', 'åäö'), 3);
  assert.equal(call('count', { a: 1 }), 1);
  assert.throws(() => call('count', null), /operand 1 must be one of \{array, object, set, string\} but got null/);
  assert.equal(call('sum', [1, 2, 3, 4]), 10);
  assert.equal(call('sum', [0.1, 0.2]), 0.3);
  assert.equal(call('product', set(1, 2, 3, 4)), 24);
  assert.equal(call('max', [1, 4, 2]), 4);
  assert.equal(call('min', [3, 2, 1, 4, 6, -7, 10]), -7);
  assert.equal(call('max', []), undefined);
  assert.deepEqual(call('sort', [4, 'a', 3, null]), [null, 3, 4, 'a']);
  assert.equal(call('all', [true, true]), true);
  assert.equal(call('all', [true, 1]), false);
  assert.equal(call('any', set(false, true)), true);
  assert.equal(call('any', []), false);
});

test('resource guards: a single call cannot allocate without bound', () => {
  assert.throws(() => call('bits.lsh', 1, 1_000_000), (e: unknown) => e instanceof BuiltinError && /shift too large/.test(e.message));
  assert.throws(() => call('numbers.range', 0, 100_000_000), (e: unknown) => e instanceof BuiltinError && /range too large/.test(e.message));
  assert.throws(() => call('sprintf', '%999999999d', [1]), (e: unknown) => e instanceof BuiltinError && /too large/.test(e.message));
  assert.throws(() => call('net.cidr_expand', '10.0.0.0/8'), (e: unknown) => e instanceof BuiltinError && /too large to expand/.test(e.message));
  assert.throws(() => call('time.add_date', 0, 1e9, 0, 0), (e: unknown) => e instanceof BuiltinError && /time outside of valid range/.test(e.message));
});

test('membership helpers behind `in`', () => {
  assert.equal(call('internal.member_2', 1, [2, 1]), true);
  assert.equal(call('internal.member_2', 1, { a: 1 }), true);
  assert.equal(call('internal.member_2', 'a', { a: 1 }), false); // `in` looks at values, not keys
  assert.equal(call('internal.member_2', 1, 'foo'), false);
  assert.equal(call('internal.member_3', 1, 'two', ['one', 'two']), true);
  assert.equal(call('internal.member_3', 'foo', 1, { foo: 1 }), true);
  assert.equal(call('internal.member_3', 5, 1, [1]), false);
});
