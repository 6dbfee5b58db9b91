import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { canonicalize } from '../src/util/jcs.js';

test('JCS + SHA-384 matches the AS unit-test vector (specs/trustee.md §2.2)', () => {
  const text = canonicalize({ b: 1, a: 'test', c: { d: 'e' } });
  assert.equal(text, '{"a":"test","b":1,"c":{"d":"e"}}');
  assert.equal(
    createHash('sha384').update(text).digest('hex'),
    'e71ce8e70d814ba6639c3612ebee0ff1f76f650f8dbb5e47157e0f3f525cd22c4597480a186427c813ca941da78870c3',
  );
});

test('JCS sorts by UTF-16 code units and uses ES number form', () => {
  assert.equal(canonicalize({ '\u20ac': 1, '\r': 2, '\ud83d\ude00': 3, a: [1e21, 0.000001, -0] }), '{"\\r":2,"a":[1e+21,0.000001,0],"\u20ac":1,"\ud83d\ude00":3}');
  assert.throws(() => canonicalize({ a: NaN }), /non-finite/);
});
