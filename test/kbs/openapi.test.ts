// docs/openapi.yaml against the running server: every documented operation exists and, called anonymously, with
// admin credentials, or with an oversized body, answers one of its documented status codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../support/testdata.js';
import { startKbs } from './support/harness.js';
import { call } from './support/rcar.js';

interface Op {
  responses: Record<string, unknown>;
  requestBody?: unknown;
}
const spec = parse(readFileSync(join(repoRoot, 'docs', 'openapi.yaml'), 'utf8')) as { paths: Record<string, Record<string, Op>> };
const SAMPLE: Record<string, string> = { repository: 'repo', type: 'type', tag: 'tag', id: 'svn' };

test('every documented operation answers only documented status codes', async (t) => {
  const k = await startKbs({ http_server: { payload_request_size: 1 } });
  t.after(() => k.stop());
  const admin = { authorization: `Bearer ${k.adminToken}` };
  let checked = 0;
  for (const [template, item] of Object.entries(spec.paths)) {
    const path = template.replace(/\{(\w+)\}/g, (_, n: string) => SAMPLE[n] ?? 'x');
    for (const [method, op] of Object.entries(item)) {
      if (method === 'parameters') continue;
      const documented = Object.keys(op.responses);
      const attempts: Array<{ headers?: Record<string, string>; body?: string | Buffer }> = [{}, { headers: admin, body: method === 'get' || method === 'delete' ? undefined : '{}' }];
      if (op.requestBody) attempts.push({ headers: admin, body: Buffer.alloc(1024 * 1024 + 10, 0x20) });
      for (const a of attempts) {
        const r = await call(k.url, method.toUpperCase(), path, a);
        assert.ok(documented.includes(String(r.status)), `${method.toUpperCase()} ${path} → ${r.status} (documented: ${documented.join(', ')})`);
        if (r.status >= 400 && path.startsWith('/kbs')) assert.match(r.headers.get('content-type') ?? '', /application\/problem\+json/);
        checked++;
      }
    }
  }
  assert.ok(checked >= 25);
});

test('undocumented paths under /kbs/v0 are 404 PluginNotFound', async (t) => {
  const k = await startKbs();
  t.after(() => k.stop());
  for (const [m, p] of [['GET', '/kbs/v0/auth'], ['GET', '/kbs/v0/attestation-policy'], ['PUT', '/kbs/v0/nope'], ['DELETE', '/kbs/v0/resource-policy']]) {
    const r = await call(k.url, m!, p!);
    assert.equal(r.status, 404, `${m} ${p}`);
    assert.ok(spec.paths[p!]?.[m!.toLowerCase()] === undefined, `${m} ${p} is not documented`);
  }
});

test('unsupported methods on known paths are 405, unknown paths 404', async (t) => {
  const k = await startKbs();
  t.after(() => k.stop());
  assert.equal((await call(k.url, 'POST', '/metrics')).status, 405);
  assert.equal((await call(k.url, 'PATCH', '/kbs/v0/resource/a/b/c')).status, 405);
  assert.equal((await call(k.url, 'GET', '/nothing')).status, 404);
});

test('a rate-limited /auth answers the documented 429 with Retry-After', async (t) => {
  const k = await startKbs({ http_server: { auth_rate_limit: 0.01, auth_rate_burst: 1 } });
  t.after(() => k.stop());
  const body = JSON.stringify({ version: '0.4.0', tee: 'sample', 'extra-params': '' });
  const statuses: number[] = [];
  let last;
  for (let i = 0; i < 3; i++) {
    last = await call(k.url, 'POST', '/kbs/v0/auth', { body, headers: { 'content-type': 'application/json' } });
    statuses.push(last.status);
  }
  assert.deepEqual(statuses, [200, 429, 429]);
  const documented = Object.keys(spec.paths['/kbs/v0/auth']!.post!.responses);
  assert.ok(documented.includes('429'));
  assert.match(last!.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
  assert.match(last!.headers.get('content-type') ?? '', /application\/problem\+json/);
});
