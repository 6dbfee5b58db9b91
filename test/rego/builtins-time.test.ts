import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, callRaw, callCtx, ctx } from './builtins-helper.js';

const RFC3339 = '2006-01-02T15:04:05Z07:00';

test('time.parse_ns / parse_rfc3339_ns: Go layouts and the int64 range (OPA conformance values)', () => {
  assert.equal(callRaw('time.parse_ns', RFC3339, '2017-06-02T19:00:00-07:00'), 1496455200000000000n);
  assert.equal(callRaw('time.parse_ns', "01/02 03:04:05PM '06 -0700", "06/02 07:00:00PM '17 -0700"), 1496455200000000000n);
  assert.equal(callRaw('time.parse_ns', '02 Jan 06 15:04 -0700', '02 Jun 17 19:00 -0700'), 1496455200000000000n);
  assert.equal(callRaw('time.parse_ns', RFC3339, '1677-09-21T00:12:43.145224192-00:00'), -9223372036854775808n);
  assert.equal(callRaw('time.parse_rfc3339_ns', '2262-04-11T23:47:16.854775807-00:00'), 9223372036854775807n);
  assert.throws(() => call('time.parse_rfc3339_ns', '2262-04-11T23:47:16.854775808-00:00'), /time outside of valid range/);
  assert.equal(call('time.parse_rfc3339_ns', '1970-01-01T00:00:00Z'), 0);
  assert.equal(call('time.parse_ns', '2006-01-02', '2020-02-29'), 1582934400000000000 / 1); // exact in a double
  assert.equal(callRaw('time.parse_ns', 'RFC1123', 'Mon, 02 Jan 2006 15:04:05 UTC'), 1136214245000000000n);
  assert.throws(() => call('time.parse_ns', '2006-01-02', '2020-13-01'), /month out of range/);
  assert.throws(() => call('time.parse_ns', '2006-01-02', 'x'), /cannot parse "x" as "2006"/);
});

test('time.parse_duration_ns', () => {
  assert.equal(call('time.parse_duration_ns', '100ms'), 100_000_000);
  assert.equal(call('time.parse_duration_ns', '1h2m3.5s'), 3_723_500_000_000);
  assert.equal(call('time.parse_duration_ns', '-1.5us'), -1500);
  assert.equal(call('time.parse_duration_ns', '0'), 0);
  assert.throws(() => call('time.parse_duration_ns', '1d'), /unknown unit/);
  assert.throws(() => call('time.parse_duration_ns', '10'), /missing unit/);
});

test('date, clock, weekday with zones', () => {
  assert.deepEqual(call('time.date', 1517814000000000000n), [2018, 2, 5]);
  assert.deepEqual(call('time.date', [1517814000000000000n, 'America/Los_Angeles']), [2018, 2, 4]);
  assert.deepEqual(call('time.date', 1582977600000000000n), [2020, 2, 29]);
  assert.deepEqual(call('time.clock', [1517832000000000000n, 'America/New_York']), [7, 0, 0]);
  assert.equal(call('time.weekday', 1518350400000000000n), 'Sunday');
  assert.throws(() => call('time.date', 1582977600000000000000n), /timestamp too big/);
  assert.throws(() => call('time.date', [0, 'Mars/Olympus']), /unknown time zone Mars\/Olympus/);
});

test('add_date normalizes like Go; diff counts calendar units', () => {
  assert.equal(callRaw('time.add_date', 1585852421593912000n, 3, 9, 12), 1705257221593912000n);
  assert.equal(callRaw('time.add_date', 1585852421593912000n, -1, -1, -1), 1551465221593912000n);
  assert.throws(() => call('time.add_date', 0, 2262, 1, 1), /time outside of valid range/);
  const d = (s: string) => callRaw('time.parse_ns', '2006-01-02', s);
  assert.deepEqual(call('time.diff', d('2020-02-02'), d('2020-03-01')), [0, 0, 28, 0, 0, 0]);
  assert.deepEqual(call('time.diff', d('2021-02-02'), d('2021-03-01')), [0, 0, 27, 0, 0, 0]);
  assert.deepEqual(call('time.diff', d('2004-02-29'), d('2005-03-01')), [1, 0, 1, 0, 0, 0]);
  assert.deepEqual(call('time.diff', [60_000_000_000, 'UTC'], [0, 'Asia/Shanghai']), [0, 0, 0, 0, 1, 0]);
});

test('time.format', () => {
  const t = 1670006453141828752n;
  assert.equal(call('time.format', t), '2022-12-02T18:40:53.141828752Z');
  assert.equal(call('time.format', [t, 'Asia/Kolkata']), '2022-12-03T00:10:53.141828752+05:30');
  assert.equal(call('time.format', [t, 'Asia/Kolkata', 'Mon Jan 02 15:04:05 -0700 2006']), 'Sat Dec 03 00:10:53 +0530 2022');
  assert.equal(call('time.format', [0, 'UTC', 'RFC1123']), 'Thu, 01 Jan 1970 00:00:00 UTC');
  assert.equal(call('time.format', [-1, 'UTC', '2006-01-02 15:04:05.000 002 Monday 3PM']), '1969-12-31 23:59:59.999 365 Wednesday 11PM');
});

test('time.now_ns is the evaluation clock', () => {
  assert.equal(callCtx(ctx(1234n), 'time.now_ns'), 1234);
});
