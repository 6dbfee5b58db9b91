import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeError, redact } from '../../src/storage/redact.js';

test('redact removes URL credentials and known secrets', () => {
  assert.equal(redact('connect to postgres://kbs:pw@db:5432/kbs failed'), 'connect to postgres://***@db:5432/kbs failed');
  assert.equal(redact('redis://:p%40ss@h:6379 and mysql://u@h/d'), 'redis://***@h:6379 and mysql://***@h/d');
  assert.equal(redact('auth hunter2 rejected', ['hunter2', undefined, '']), 'auth *** rejected');
  assert.equal(redact('no secrets here'), 'no secrets here');
});

test('describeError: code plus the first line of the message, redacted', () => {
  const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1\nmore'), { code: 'ECONNREFUSED' });
  assert.equal(describeError(err), 'connect ECONNREFUSED 127.0.0.1:1');
  const pg = Object.assign(new Error('relation "x" does not exist'), { code: '42P01' });
  assert.equal(describeError(pg), '42P01: relation "x" does not exist');
  assert.equal(describeError(new Error('bad url mysql://root:topsecret@h/db'), ['topsecret']), 'bad url mysql://***@h/db');
  assert.equal(describeError('plain string with topsecret', ['topsecret']), 'plain string with ***');
});
