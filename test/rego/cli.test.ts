import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/bin/rego.js';

async function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { stdout: (s) => out.push(s), stderr: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const dir = mkdtempSync(join(tmpdir(), 'rego-cli-'));
writeFileSync(join(dir, 'p.rego'), 'package policy\nimport rego.v1\ndefault allow := false\nallow if input.user in data.admins\n');
writeFileSync(join(dir, 'd.json'), JSON.stringify({ admins: ['bob'] }));
writeFileSync(join(dir, 'i.json'), JSON.stringify({ user: 'bob' }));
writeFileSync(join(dir, 'bad.rego'), 'package x\np { y }\n');

test('eval --format json prints the opa eval result shape', async () => {
  const r = await run(['eval', '-d', join(dir, 'p.rego'), '-d', join(dir, 'd.json'), '-i', join(dir, 'i.json'), 'data.policy.allow']);
  assert.equal(r.code, 0);
  assert.deepEqual(JSON.parse(r.out), { result: [{ expressions: [{ value: true, text: 'data.policy.allow', location: { row: 1, col: 1 } }] }] });
});

test('eval --format raw prints the bare value; undefined prints {} in json', async () => {
  const r = await run(['eval', '-d', join(dir, 'p.rego'), '-d', join(dir, 'd.json'), '--format', 'raw', 'data.policy']);
  assert.equal(r.code, 0);
  assert.deepEqual(JSON.parse(r.out), { allow: false });
  const u = await run(['eval', '-d', join(dir, 'p.rego'), 'data.policy.nothing']);
  assert.equal(u.code, 0);
  assert.equal(u.out, '{}');
});

test('errors go to stderr with exit 1', async () => {
  const r = await run(['eval', '-d', join(dir, 'bad.rego'), 'data.x.p']);
  assert.equal(r.code, 1);
  assert.equal(r.out, '');
  assert.match(r.err, /bad\.rego:2:5: rego_unsafe_var_error: var y is unsafe/);
  const m = await run(['eval', '-d', join(dir, 'missing.rego'), 'data.x']);
  assert.equal(m.code, 1);
});

test('queries with several expressions report each expression and the bindings', async () => {
  const r = await run(['eval', '-d', join(dir, 'd.json'), '--format', 'json', 'x := data.admins[_]; x != "z"']);
  assert.equal(r.code, 0);
  assert.deepEqual(JSON.parse(r.out), {
    result: [
      {
        expressions: [
          { value: true, text: 'x := data.admins[_]', location: { row: 1, col: 1 } },
          { value: true, text: 'x != "z"', location: { row: 1, col: 22 } },
        ],
        bindings: { x: 'bob' },
      },
    ],
  });
});
