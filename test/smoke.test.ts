import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compare, fromJSON, toJSON, RegoSet, equal } from '../src/rego/value.js';
import { testdataSkip, testdataPath } from './support/testdata.js';
import { existsSync } from 'node:fs';

test('rego values order as OPA: null < boolean < number < string < array < object < set', () => {
  const vs = [new RegoSet([1]), fromJSON({ a: 1 }), [1], 'a', 1, false, null];
  const sorted = [...vs].sort(compare);
  assert.deepEqual(sorted.map((v) => toJSON(v)), [null, false, 1, 'a', [1], { a: 1 }, [1]]);
  assert.ok(equal(12345678901234567890n, 12345678901234567890n));
  assert.equal(compare(2 ** 53 + 0.5, 9007199254740993n), -1);
});

test('shared testdata is reachable', { skip: testdataSkip() }, () => {
  assert.ok(existsSync(testdataPath('README.md')));
});
