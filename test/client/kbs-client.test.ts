import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { KbsClient } from '../../src/client/kbs-client.js';
import { HttpTransport } from '../../src/client/http.js';
import { TeeKeyPair, type TeeKeyAlgorithm } from '../../src/client/tee-key.js';
import { detectAttesters } from '../../src/client/attester.js';
import { parseInitData } from '../../src/client/init-data.js';
import { KbsClientError } from '../../src/client/errors.js';
import { MockKbs } from './support/mock-kbs.js';

const servers: MockKbs[] = [];
async function mock(opts: ConstructorParameters<typeof MockKbs>[0] = {}): Promise<{ kbs: MockKbs; url: string }> {
  const kbs = new MockKbs(opts);
  servers.push(kbs);
  return { kbs, url: await kbs.start() };
}
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

const secret = Buffer.from('top secret \u00e9\n', 'utf8');

test('auth sends version 0.4.0, tee sample and the supported hash list', async () => {
  const { kbs, url } = await mock();
  const client = new KbsClient({ transport: new HttpTransport({ url }) });
  const ch = await client.auth();
  const req = JSON.parse(kbs.requests[0]!.body.toString());
  assert.deepEqual(req, { version: '0.4.0', tee: 'sample', 'extra-params': { 'supported-hash-algorithms': ['sha256', 'sha384', 'sha512'] } });
  assert.equal(Buffer.from(ch.nonce, 'base64').length, 32);
});

for (const alg of ['ECDH-ES+A256KW-P256', 'ECDH-ES+A256KW-P521', 'RSA-OAEP-256'] as TeeKeyAlgorithm[]) {
  test(`background check: handshake, then the resource decrypts (${alg})`, async () => {
    const { kbs, url } = await mock();
    kbs.resources.set('one/two/three', secret);
    const client = new KbsClient({ transport: new HttpTransport({ url }), teeKey: TeeKeyPair.generate(alg) });
    assert.deepEqual(await client.getResource('one/two/three'), secret);
    assert.deepEqual(
      kbs.requests.map((r) => `${r.method} ${r.path}`),
      ['POST /kbs/v0/auth', 'POST /kbs/v0/attest', 'GET /kbs/v0/resource/one/two/three'],
    );
    // The GET carried the session cookie, not a bearer token.
    assert.match(kbs.requests[2]!.headers.cookie ?? '', /^kbs-session-id=[0-9a-f]{32}$/);
    assert.equal(kbs.requests[2]!.headers.authorization, undefined);
  });
}

test('a second resource reuses the session (no new handshake)', async () => {
  const { kbs, url } = await mock();
  kbs.resources.set('a/b/c', secret);
  kbs.resources.set('a/b/d', Buffer.from('x'));
  const client = new KbsClient({ transport: new HttpTransport({ url }) });
  await client.getResource('a/b/c');
  assert.deepEqual(await client.getResource('a/b/d'), Buffer.from('x'));
  assert.equal(kbs.requests.filter((r) => r.path.endsWith('/auth')).length, 1);
});

test('sample device evidence and a negotiated hash are accepted by an independent check', async () => {
  const { kbs, url } = await mock({ challengeExtraParams: { 'selected-hash-algorithm': 'SHA512' } });
  const client = new KbsClient({ transport: new HttpTransport({ url }), attesters: detectAttesters({ ENABLE_SAMPLE_DEVICE: '1' }) });
  const token = await client.handshake();
  assert.ok(kbs.tokens.has(token));
  const att = kbs.attestations[0] as { 'tee-evidence': { primary_evidence: { report_data: string } } };
  assert.equal(Buffer.from(att['tee-evidence'].primary_evidence.report_data, 'base64').length, 64);
});

test('init-data is sent as {format: toml, body}', async () => {
  const { kbs, url } = await mock();
  const text = 'algorithm = "sha384"\nversion = "0.1.0"\n[data]\nk = "v"\n';
  const client = new KbsClient({ transport: new HttpTransport({ url }), initData: parseInitData(text).wire });
  await client.handshake();
  assert.deepEqual((kbs.attestations[0] as Record<string, unknown>)['init-data'], { format: 'toml', body: text });
});

test('on 401 the client re-runs the handshake, three GETs in all, then reports the server detail', async () => {
  const { kbs, url } = await mock({ allow: () => false });
  kbs.resources.set('a/b/c', secret);
  const client = new KbsClient({ transport: new HttpTransport({ url }) });
  await assert.rejects(client.getResource('a/b/c'), (e: unknown) => {
    assert.ok(e instanceof KbsClientError);
    assert.equal(e.step, 'resource');
    assert.equal(e.code, 'ERR_UNAUTHORIZED');
    assert.equal(e.problemType, 'PolicyDeny');
    assert.match(e.message, /after 3 attempts.*PolicyDeny: request unauthorized/);
    return true;
  });
  assert.equal(kbs.resourceGets, 3);
  assert.equal(kbs.requests.filter((r) => r.path.endsWith('/auth')).length, 3);
});

test('a 401 followed by success on retry returns the resource', async () => {
  const { kbs, url } = await mock({ allow: (n) => n >= 2 });
  kbs.resources.set('a/b/c', secret);
  const client = new KbsClient({ transport: new HttpTransport({ url }) });
  assert.deepEqual(await client.getResource('a/b/c'), secret);
  assert.equal(kbs.resourceGets, 2);
});

test('404 is ERR_NOT_FOUND, names the step and is not retried', async () => {
  const { kbs, url } = await mock();
  await assert.rejects(
    new KbsClient({ transport: new HttpTransport({ url: url + '/nowhere' }) }).handshake(),
    (e: unknown) => e instanceof KbsClientError && e.step === 'auth' && e.code === 'ERR_NOT_FOUND' && /HTTP 404 PluginNotFound/.test(e.message),
  );
  assert.equal(kbs.requests.length, 1);
});

test('attestation failure is an attest-step error carrying the detail', async () => {
  const { url } = await mock();
  // Evidence bound to a different key than the one sent → report data mismatch at the server.
  const other = TeeKeyPair.generate();
  const lying = {
    primary: {
      tee: 'sample',
      async getEvidence() {
        return { svn: '1', report_data: Buffer.alloc(48).toString('base64') };
      },
    },
    devices: [],
  };
  const client = new KbsClient({ transport: new HttpTransport({ url }), teeKey: other, attesters: lying });
  await assert.rejects(client.handshake(), (e: unknown) => {
    return e instanceof KbsClientError && e.step === 'attest' && e.status === 401 && e.problemType === 'AttestationError' && /report_data mismatch/.test(e.message);
  });
});

test('passport mode: one GET with the bearer token, no handshake', async () => {
  const { kbs, url } = await mock();
  kbs.resources.set('a/b/c', secret);
  const key = TeeKeyPair.generate('RSA-OAEP-256');
  const token = await new KbsClient({ transport: new HttpTransport({ url }), teeKey: key }).handshake();
  const before = kbs.requests.length;
  const passport = new KbsClient({ transport: new HttpTransport({ url }), teeKey: key, token });
  assert.deepEqual(await passport.getResource('a/b/c'), secret);
  const sent = kbs.requests.slice(before);
  assert.deepEqual(sent.map((r) => r.method + ' ' + r.path), ['GET /kbs/v0/resource/a/b/c']);
  assert.equal(sent[0]!.headers.authorization, `Bearer ${token}`);
  await assert.rejects(
    new KbsClient({ transport: new HttpTransport({ url }), teeKey: key, token: 'bogus.token.x' }).getResource('a/b/c'),
    (e: unknown) => e instanceof KbsClientError && e.code === 'ERR_UNAUTHORIZED' && e.problemType === 'TokenNotFound',
  );
});

test('admin calls: bodies as Trustee kbs-client sends them, with the bearer token', async () => {
  const { kbs, url } = await mock({ adminToken: 'adm.in.tok' });
  const admin = new KbsClient({ transport: new HttpTransport({ url }), adminToken: 'adm.in.tok' });
  await admin.setResource('r/t/tag', Buffer.from([0, 1, 2, 255]));
  assert.deepEqual(kbs.resources.get('r/t/tag'), Buffer.from([0, 1, 2, 255]));
  const setReq = kbs.requests.at(-1)!;
  assert.equal(setReq.headers['content-type'], 'application/octet-stream');
  assert.equal(setReq.headers.authorization, 'Bearer adm.in.tok');

  await admin.setResourcePolicy('package policy\n');
  assert.equal(kbs.lastPolicy, 'package policy\n');
  assert.doesNotMatch(JSON.parse(kbs.requests.at(-1)!.body.toString()).policy, /[=+/]/);

  await admin.setAttestationPolicy(Buffer.from('package policy\n# ü?>'));
  assert.deepEqual(kbs.lastAttestationPolicy, {
    type: 'rego',
    policy_id: 'default_cpu',
    policy: Buffer.from('package policy\n# ü?>').toString('base64url'),
  });

  await admin.setSampleReferenceValue('svn', ['1']);
  assert.equal(kbs.lastReferenceValue?.version, '0.1.0');
  assert.equal(kbs.lastReferenceValue?.type, 'sample');
  assert.equal(Buffer.from(String(kbs.lastReferenceValue?.payload), 'base64').toString(), '{"svn":["1"]}');

  assert.equal(await admin.getReferenceValue('svn'), '["1","2"]');
  await admin.deleteResource('r/t/tag');
  assert.equal(kbs.resources.has('r/t/tag'), false);

  const anonymous = new KbsClient({ transport: new HttpTransport({ url }) });
  await assert.rejects(anonymous.setResourcePolicy('x'), (e: unknown) => e instanceof KbsClientError && e.step === 'admin' && e.problemType === 'AdminAuthAccess');
});

test('bad resource paths and URLs are input errors and send nothing', async () => {
  const { kbs, url } = await mock();
  const client = new KbsClient({ transport: new HttpTransport({ url }) });
  for (const p of ['a/b', 'a/b/c/d', 'a//c', 'a/../c']) {
    await assert.rejects(client.getResource(p), (e: unknown) => e instanceof KbsClientError && e.step === 'input');
  }
  assert.equal(kbs.requests.length, 0);
  assert.throws(() => new HttpTransport({ url: 'ftp://x' }), /http/);
  assert.throws(() => new HttpTransport({ url: 'http://u:p@h' }), /credentials/);
});

test('connection failure names the step', async () => {
  const { kbs, url } = await mock();
  await kbs.stop();
  await assert.rejects(
    new KbsClient({ transport: new HttpTransport({ url }) }).handshake(),
    (e: unknown) => e instanceof KbsClientError && e.step === 'auth' && e.code === 'ERR_HTTP',
  );
});
