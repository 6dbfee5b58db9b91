import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { call, callRaw, set } from './builtins-helper.js';

test('base64 / base64url / hex (Go strictness)', () => {
  assert.equal(call('base64.encode', 'subjects?_d'), 'c3ViamVjdHM/X2Q=');
  assert.equal(call('base64.decode', 'c3ViamVjdHM/X2Q='), 'subjects?_d');
  assert.throws(() => call('base64.decode', 'aGVsbG8'), /illegal base64 data/); // StdEncoding requires padding
  assert.equal(call('base64.is_valid', "{'not':'base64'}"), false);
  assert.equal(call('base64.is_valid', 'aGVsbG8='), true);
  assert.equal(call('base64url.encode', 'subjects?_d'), 'c3ViamVjdHM_X2Q=');
  assert.equal(call('base64url.encode_no_pad', 'hello'), 'aGVsbG8');
  assert.equal(call('base64url.decode', 'aGVsbG8'), 'hello');
  assert.equal(call('hex.encode', 'lorem ipsum'), '6c6f72656d20697073756d');
  assert.equal(call('hex.decode', '6c6f72656d20697073756d'), 'lorem ipsum');
  assert.throws(() => call('hex.decode', 'fghijkl'), /invalid byte: U\+0067 'g'/);
  assert.throws(() => call('hex.decode', 'abc'), /odd length hex string/);
  // Decoded bytes that are not UTF-8 survive as bytes, as in Go's byte strings.
  const ff = callRaw('base64.decode', '/wDD');
  assert.equal(call('hex.encode', ff), 'ff00c3');
  assert.equal(call('base64.encode', ff), '/wDD');
  assert.equal(call('count', ff), 3); // 0xff, 0x00, 0xc3: three runes for Go
  assert.equal(call('crypto.sha256', ff), createHash('sha256').update(Buffer.from([0xff, 0x00, 0xc3])).digest('hex'));
  assert.equal(call('hex.encode', callRaw('hex.decode', 'e282ac80')), 'e282ac80'); // "€" then a stray continuation byte
  assert.equal(call('sprintf', '%x', [callRaw('hex.decode', 'ff')]), 'ff');
  // Invalid UTF-8 from a decode counts like Go's rune count (OPA conformance: 30 runes for these 32 bytes).
  assert.equal(call('count', callRaw('base64.decode', '2E84ZuPUd7zfvCZSNEchVpDEIj6PL7JfLpIqyxVG16k=')), 30);
});

test('JSON: big integers exact, sorted keys, Go error wording', () => {
  assert.equal(call('json.marshal', [{ foo: set(3, 1, 2) }]), '[{"foo":[1,2,3]}]');
  assert.equal(call('json.marshal', { '<k>': 'a&b' }), '{"\\u003ck\\u003e":"a\\u0026b"}'); // Go's HTML-safe escaping
  assert.equal(callRaw('json.unmarshal', '123456789012345678901234'), 123456789012345678901234n);
  assert.deepEqual(call('json.unmarshal', '{"b":[1,2.5,"x"],"a":null}'), { a: null, b: [1, 2.5, 'x'] });
  assert.throws(() => call('json.unmarshal', '{'), /unexpected end of JSON input/);
  assert.throws(() => call('json.unmarshal', 'e'), /invalid character 'e' looking for beginning of value/);
  assert.deepEqual(['plainstring', '{', '{"json": "ok"}'].map((s) => call('json.is_valid', s)), [false, false, true]);
  assert.equal(call('json.is_valid', 1), false);
  assert.equal(call('json.marshal_with_options', { a: [1] }, { pretty: true, indent: '  ' }), '{\n  "a": [\n    1\n  ]\n}');
  assert.equal(call('json.marshal_with_options', { a: 1 }, { pretty: false }), '{"a":1}');
});

test('YAML round trip and validity', () => {
  const text = call('yaml.marshal', [{ foo: set(1, 2, 3) }]) as string;
  assert.deepEqual(call('yaml.unmarshal', text), [{ foo: [1, 2, 3] }]);
  assert.deepEqual(call('yaml.unmarshal', 'a: 1\nb: [x, y]\n'), { a: 1, b: ['x', true] }); // go-yaml v2: "y" is a YAML 1.1 boolean
  assert.equal(call('yaml.is_valid', 'foo:\n  - qux: bar\n  - baz: {'), false);
  // sigs.k8s.io/yaml (OPA) reads YAML 1.1: yes/no are booleans, 0777 is octal, timestamps become RFC 3339 text.
  assert.deepEqual(call('yaml.unmarshal', 'a: yes\nb: 0777\nc: 2001-12-14\nd: !!binary aGVsbG8=\n'), { a: true, b: 511, c: '2001-12-14T00:00:00Z', d: 'aGVsbG8=' });
  assert.equal(call('yaml.marshal', { a: 'yes' }), 'a: "yes"\n');
  assert.throws(() => call('yaml.unmarshal', 'a: .inf'), /not JSON numbers/);
  assert.equal(call('yaml.is_valid', '{"json": "ok"}'), true);
  assert.throws(() => call('yaml.unmarshal', '[1,2,3'), /yaml\.unmarshal: yaml: line 1: did not find expected ',' or '\]'/);
});

test('urlquery', () => {
  assert.equal(call('urlquery.encode', 'a=b+1 c'), 'a%3Db%2B1+c');
  assert.equal(call('urlquery.decode', 'a%3Db%2B1+c'), 'a=b+1 c');
  assert.throws(() => call('urlquery.decode', '%zz'), /invalid URL escape/);
  assert.equal(call('urlquery.encode_object', { c: 'd', a: ['b+1', 'x'] }), 'a=b%2B1&a=x&c=d');
  assert.equal(call('urlquery.encode_object', { a: set('b+1') }), 'a=b%2B1');
  assert.deepEqual(call('urlquery.decode_object', 'a=value_a1&b&a=value_a2'), { a: ['value_a1', 'value_a2'], b: [''] });
});

test('digests and HMACs match published vectors', () => {
  assert.equal(call('crypto.md5', ''), 'd41d8cd98f00b204e9800998ecf8427e');
  assert.equal(call('crypto.sha1', 'abc'), 'a9993e364706816aba3e25717850c26c9cd0d89d');
  assert.equal(call('crypto.sha256', 'abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  // RFC 4231 test case 2 (key "Jefe").
  assert.equal(call('crypto.hmac.sha256', 'what do ya want for nothing?', 'Jefe'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  assert.equal(
    call('crypto.hmac.sha512', 'what do ya want for nothing?', 'Jefe'),
    '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737',
  );
  // RFC 2202 test case 2.
  assert.equal(call('crypto.hmac.md5', 'what do ya want for nothing?', 'Jefe'), '750c783e6ab0b503eaa86e310a5db738');
  assert.equal(call('crypto.hmac.sha1', 'what do ya want for nothing?', 'Jefe'), 'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79');
  assert.equal(call('crypto.hmac.equal', 'abc', 'abc'), true);
  assert.equal(call('crypto.hmac.equal', 'abc', 'abd'), false);
  assert.equal(call('crypto.hmac.equal', 'abc', 'abcd'), false);
});
