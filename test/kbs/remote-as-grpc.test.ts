/**
 * `[attestation_service] type = "coco_as_grpc"`: the KBS with a real remote grpc-as (our builtin AS behind
 * createGrpcAsServer on a loopback port), trusting the AS's tokens through `[attestation_token] trusted_certs_paths`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { MemoryBackend } from '../../src/storage/memory.js';
import { parseAsConfig } from '../../src/as/config.js';
import { createBuiltinAttestationService, type BuiltinAttestationService } from '../../src/as/builtin.js';
import { createGrpcAsServer } from '../../src/as/grpc.js';
import { parseGrpcVerificationRequest, type GrpcIndividualRequest } from '../../src/as/wire.js';
import { AttestationServiceError } from '../../src/as/errors.js';
import type { VerificationRequest } from '../../src/as/types.js';
import { loadProto, serviceOf } from '../../src/rvps/grpc-proto.js';
import { KbsClient } from '../../src/client/kbs-client.js';
import { HttpTransport } from '../../src/client/http.js';
import { samplePolicy } from '../../src/kbs/resource-policy.js';
import { parseConfigText, parseKbsConfig, type GrpcAsSettings } from '../../src/kbs/config.js';
import { createKbs } from '../../src/kbs/bootstrap.js';
import { GrpcAttestationService, toGrpcVerificationRequest } from '../../src/kbs/remote-as/grpc-client.js';
import { parseAsAddress } from '../../src/kbs/remote-as/address.js';
import { RemoteAsError } from '../../src/kbs/remote-as/errors.js';
import { asAttestationError } from '../../src/kbs/routes/as-errors.js';
import { AttestationError, AttestationServiceUnavailable } from '../../src/kbs/errors.js';
import { ConfigError } from '../../src/util/config-error.js';
import { readTestdata, testdataSkip } from '../support/testdata.js';
import { makeCa, makeLeaf, makeTlsServerCert } from './support/pki.js';
import { startKbs } from './support/harness.js';
import { attest, attestationBody, auth, call, ecTeeKey, errorType } from './support/rcar.js';
import { configErrorOf } from './support/config-error.js';


const b64url = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

/** A builtin AS whose EAR signer key is certified by a test CA, plus that CA's PEM file for the KBS to trust. */
async function signedAs(dir: string): Promise<{ as: BuiltinAttestationService; caPath: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ca = await makeCa('test AS CA');
  const leaf = await makeLeaf('test AS signer', publicKey, ca);
  const keyPath = join(dir, 'as-signer.key');
  const certPath = join(dir, 'as-signer.pem');
  const caPath = join(dir, 'as-ca.pem');
  writeFileSync(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(certPath, leaf.pem);
  writeFileSync(caPath, ca.pem);
  const as = await createBuiltinAttestationService({
    config: parseAsConfig({ attestation_token_broker: { signer: { key_path: keyPath, cert_path: certPath } } }, ''),
    storage: new MemoryBackend(),
  });
  return { as, caPath };
}

/** grpc-as on a loopback port that can be stopped and started again on the same port. */
class RemoteAs {
  private server: grpc.Server | undefined;
  port = 0;
  constructor(readonly as: BuiltinAttestationService) {}
  async start(): Promise<void> {
    const server = createGrpcAsServer(this.as);
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${this.port}`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    this.server = server;
  }
  stop(): void {
    this.server?.forceShutdown();
    this.server = undefined;
  }
}

function grpcKbsConfig(port: number, caPath: string, extra: Record<string, unknown> = {}) {
  return {
    attestation_service: { type: 'coco_as_grpc', as_addr: `http://127.0.0.1:${port}`, pool_size: 2, ...extra },
    attestation_token: { trusted_certs_paths: [caPath] },
  };
}

async function setup(t: import('node:test').TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-remote-as-'));
  const { as, caPath } = await signedAs(dir);
  const remote = new RemoteAs(as);
  await remote.start();
  const k = await startKbs(grpcKbsConfig(remote.port, caPath));
  t.after(async () => {
    await k.stop();
    remote.stop();
    await as.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const admin = new KbsClient({ transport: new HttpTransport({ url: k.url }), adminToken: k.adminToken });
  return { dir, as, remote, k, admin };
}

test('coco_as_grpc: full RCAR flow with the sample TEE through a remote grpc-as releases the resource', async (t) => {
  const { k, admin } = await setup(t);
  assert.ok(k.kbs.ctx.as instanceof GrpcAttestationService);
  const secret = Buffer.from('remote-as secret \x00\xff');
  await admin.setResource('one/two/three', secret);
  // The default resource policy refuses the sample TEE: the token came back and was appraised, not just accepted.
  await assert.rejects(new KbsClient({ transport: new HttpTransport({ url: k.url }) }).getResource('one/two/three'));
  await admin.setResourcePolicy(samplePolicy('allow_all'));
  const guest = new KbsClient({ transport: new HttpTransport({ url: k.url }) });
  assert.deepEqual(await guest.getResource('one/two/three'), secret);
});

test('coco_as_grpc: wrong report-data nonce and tampered evidence are refused with the AS verdict (401)', async (t) => {
  const { k } = await setup(t);
  const key = ecTeeKey();
  const a = await auth(k.url);
  assert.equal(a.reply.status, 200, a.reply.text);
  // Evidence bound to another nonce: only the AS (remote) can see that.
  const r = await attest(k.url, a.cookie, attestationBody(a.nonce, key, { reportNonce: 'not-the-nonce' }));
  assert.equal(r.status, 401, r.text);
  assert.equal(errorType(r), 'AttestationError');
  assert.match(r.json.detail, /verification failed/);

  const a2 = await auth(k.url);
  const body = attestationBody(a2.nonce, key);
  body['tee-evidence'].primary_evidence.report_data = Buffer.alloc(48, 7).toString('base64');
  const r2 = await attest(k.url, a2.cookie, body);
  assert.equal(r2.status, 401, r2.text);
  assert.equal(errorType(r2), 'AttestationError');
  assert.match(r2.json.detail, /verification failed/);

  // A good attestation through the same KBS still works, with init-data TOML carried to the AS.
  const a3 = await auth(k.url);
  const toml = 'version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"cdh.toml" = "x = 1"\n';
  const r3 = await attest(k.url, a3.cookie, attestationBody(a3.nonce, key, { initData: { format: 'toml', body: toml } }));
  assert.equal(r3.status, 200, r3.text);
  const payload = JSON.parse(Buffer.from(r3.json.token.split('.')[1], 'base64url').toString('utf8'));
  const ae = payload.submods.cpu0['ear.veraison.annotated-evidence'];
  assert.equal(ae.init_data_claims['cdh.toml'].x, 1);
  assert.equal(ae.runtime_data_claims.nonce, a3.nonce);
});

test('coco_as_grpc: attestation policy and reference values through the KBS admin API land in the remote AS', async (t) => {
  const { as, admin, k } = await setup(t);
  const rego = 'package policy\n\ndefault executables := 3\n';
  await admin.setAttestationPolicy(rego, { id: 'remote_test' });
  assert.equal(await as.getPolicy('remote_test'), rego);
  // The AS's own refusal (Rego that does not compile) comes back as Trustee's 401 AttestationError with its message.
  const bad = await call(k.url, 'POST', '/kbs/v0/attestation-policy', {
    body: JSON.stringify({ policy_id: 'broken', policy: b64url('package policy\n\nthis is not rego(') }),
    headers: { authorization: `Bearer ${k.adminToken}`, 'content-type': 'application/json' },
  });
  assert.equal(bad.status, 401, bad.text);
  assert.equal(errorType(bad), 'AttestationError');
  assert.equal(await as.getPolicy('broken'), undefined);

  await admin.setSampleReferenceValue('launch_digest', ['abcde']);
  assert.deepEqual(await as.queryReferenceValue('launch_digest'), ['abcde']);
  assert.deepEqual(JSON.parse(await admin.getReferenceValue('launch_digest')), ['abcde']);
  const missing = await call(k.url, 'GET', '/kbs/v0/reference-value/nothing-here', { headers: { authorization: `Bearer ${k.adminToken}` } });
  assert.equal(missing.status, 401);
  assert.equal(errorType(missing), 'RvpsError');
});

test('coco_as_grpc: AS down → 503 AttestationServiceUnavailable without internals, KBS stays up, recovers when the AS returns', async (t) => {
  const { remote, k, admin } = await setup(t);
  await admin.setResource('a/b/c', Buffer.from('x'));
  await admin.setResourcePolicy(samplePolicy('allow_all'));
  const key = ecTeeKey();
  const ok1 = await auth(k.url);
  assert.equal((await attest(k.url, ok1.cookie, attestationBody(ok1.nonce, key))).status, 200);

  remote.stop();
  for (let i = 0; i < 3; i++) {
    // /auth needs no AS for non-SE TEEs (as in Trustee), so the session starts and /attest reports the outage.
    const a = await auth(k.url);
    assert.equal(a.reply.status, 200, a.reply.text);
    const r = await attest(k.url, a.cookie, attestationBody(a.nonce, key));
    assert.equal(r.status, 503, r.text);
    assert.equal(errorType(r), 'AttestationServiceUnavailable');
    assert.equal(r.json.detail, 'attestation service unavailable');
    assert.doesNotMatch(r.text, /127\.0\.0\.1|ECONNREFUSED|No connection|:\d{4,5}/);
  }
  const policy = await call(k.url, 'POST', '/kbs/v0/attestation-policy', {
    body: JSON.stringify({ policy_id: 'p', policy: b64url('package policy\n') }),
    headers: { authorization: `Bearer ${k.adminToken}`, 'content-type': 'application/json' },
  });
  assert.equal(policy.status, 503, policy.text);
  const rv = await call(k.url, 'GET', '/kbs/v0/reference-value/x', { headers: { authorization: `Bearer ${k.adminToken}` } });
  assert.equal(rv.status, 503, rv.text);
  assert.equal(errorType(rv), 'AttestationServiceUnavailable');
  assert.equal((await call(k.url, 'GET', '/healthz')).status, 200);

  await remote.start();
  // Channels reconnect with a short back-off: well within 15 s.
  const deadline = Date.now() + 15_000;
  let status = 0;
  while (Date.now() < deadline) {
    const a = await auth(k.url);
    status = (await attest(k.url, a.cookie, attestationBody(a.nonce, key))).status;
    if (status === 200) break;
    assert.equal(status, 503);
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(status, 200);
  const guest = new KbsClient({ transport: new HttpTransport({ url: k.url }) });
  assert.deepEqual(await guest.getResource('a/b/c'), Buffer.from('x'));
});

test('coco_as_grpc: the KBS starts while the AS is down', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-remote-as-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { as, caPath } = await signedAs(dir);
  t.after(() => as.close());
  const remote = new RemoteAs(as);
  await remote.start();
  const port = remote.port;
  remote.stop();
  const k = await startKbs(grpcKbsConfig(port, caPath));
  t.after(() => k.stop());
  assert.equal((await call(k.url, 'GET', '/healthz')).status, 200);
  const a = await auth(k.url);
  const r = await attest(k.url, a.cookie, attestationBody(a.nonce, ecTeeKey()));
  assert.equal(r.status, 503);
  await remote.start();
  t.after(() => remote.stop());
  const deadline = Date.now() + 15_000;
  let status = 0;
  while (Date.now() < deadline && status !== 200) {
    const a2 = await auth(k.url);
    status = (await attest(k.url, a2.cookie, attestationBody(a2.nonce, ecTeeKey()))).status;
    if (status !== 200) await new Promise((res) => setTimeout(res, 200));
  }
  assert.equal(status, 200);
});

// A stand-in grpc-as that records what the client sends (and can stall), to check the wire form and the timeout.
async function recordingAs(opts: { stall?: boolean } = {}) {
  const seen: Array<{ verification_requests: GrpcIndividualRequest[]; policy_ids: string[]; peer: string }> = [];
  const server = new grpc.Server();
  server.addService(serviceOf(loadProto('attestation'), 'attestation.AttestationService').service, {
    AttestationEvaluate(call: grpc.ServerUnaryCall<{ verification_requests: GrpcIndividualRequest[]; policy_ids: string[] }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      seen.push({ ...call.request, peer: call.getPeer() });
      if (!opts.stall) cb(null, { attestation_token: 'header.payload.signature' });
    },
    SetAttestationPolicy(_c: unknown, cb: grpc.sendUnaryData<unknown>) {
      cb({ code: grpc.status.ABORTED, details: 'policy\ncompile\u0000error' });
    },
    GetAttestationChallenge(call: grpc.ServerUnaryCall<{ inner: Record<string, string> }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      cb(null, { attestation_challenge: `challenge for ${call.request.inner.tee}:${call.request.inner.tee_params}` });
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { seen, port, stop: () => server.forceShutdown() };
}

test('grpc client: wire form is what grpc-as parses; policy_ids default; channels used in turn', async (t) => {
  const fake = await recordingAs();
  t.after(() => fake.stop());
  const client = new GrpcAttestationService({ address: parseAsAddress(`http://127.0.0.1:${fake.port}`), poolSize: 3 });
  t.after(() => client.close());
  const reqs: VerificationRequest[] = [
    {
      tee: 'sample',
      evidence: { svn: '1', report_data: 'cmQ=', nested: { 'ü': [1, 2.5, null, true] } },
      runtimeData: { kind: 'structured', json: { nonce: 'n', 'tee-pubkey': { kty: 'EC' } } },
      runtimeDataHashAlgorithm: 'sha384',
      initData: { kind: 'toml', toml: 'version = "0.1.0"\n' },
    },
    { tee: 'tdx', evidence: { q: 'x' }, runtimeData: { kind: 'raw', bytes: new Uint8Array([0, 255, 7]) }, runtimeDataHashAlgorithm: 'sha512', initData: { kind: 'digest', bytes: new Uint8Array([1, 2, 3]) } },
  ];
  assert.equal(await client.evaluate(reqs, ['default']), 'header.payload.signature');
  const got = fake.seen[0]!;
  assert.deepEqual(got.policy_ids, ['default']);
  // The server side parser turns exactly the original requests back out.
  assert.deepEqual(got.verification_requests.map(parseGrpcVerificationRequest), reqs);
  assert.equal(got.verification_requests[0]!.evidence, b64url(JSON.stringify(reqs[0]!.evidence)));
  assert.equal(got.verification_requests[0]!.structured_runtime_data, JSON.stringify({ nonce: 'n', 'tee-pubkey': { kty: 'EC' } }));
  assert.equal(got.verification_requests[0]!.init_data_toml, 'version = "0.1.0"\n');
  assert.equal(toGrpcVerificationRequest({ tee: 'sample', evidence: {} }).runtime_data_hash_algorithm, '');

  await client.evaluate([reqs[0]!], []);
  assert.deepEqual(fake.seen[1]!.policy_ids, ['default']);
  await assert.rejects(client.evaluate([], ['default']), (e: unknown) => e instanceof AttestationServiceError && e.code === 'ERR_AS_BAD_REQUEST');
  for (let i = 0; i < 4; i++) await client.evaluate([reqs[0]!], ['default']);
  // Six calls over a pool of three: three connections, each used twice.
  const peers = fake.seen.map((s) => s.peer);
  assert.equal(new Set(peers).size, 3);
  assert.equal(peers[0], peers[3]);

  // Only SE asks the AS for a supplemental challenge (Trustee's KBS never asks for other TEEs).
  assert.equal(await client.generateSupplementalChallenge('sample', '{}'), '');
  assert.equal(await client.generateSupplementalChallenge('se', '{"a":1}'), 'challenge for se:{"a":1}');
  // ABORTED relays the AS's message as one clean line.
  await assert.rejects(client.setPolicy('x', 'cA'), (e: unknown) => e instanceof AttestationServiceError && e.message === 'policy compile error');
  // UNIMPLEMENTED (this stand-in has no reference service) is an AS error, not an outage.
  await assert.rejects(client.queryReferenceValue('x'), (e: unknown) => e instanceof AttestationServiceError && e.code === 'ERR_AS_INTERNAL');
  for (const p of [client.listPolicies(), client.getPolicy(), client.tokenSignerJwks()])
    await assert.rejects(p, (e: unknown) => e instanceof RemoteAsError && e.code === 'ERR_REMOTE_AS_UNSUPPORTED' && !e.unavailable);
  const mapped = asAttestationError(await client.listPolicies().catch((e: unknown) => e), 'x');
  assert.ok(mapped instanceof AttestationError);
  assert.equal(mapped.status, 401);
  assert.match(mapped.message, /not available with a remote gRPC attestation service/);

  await client.close();
  await assert.rejects(client.evaluate([reqs[0]!], ['default']), (e: unknown) => e instanceof RemoteAsError && e.unavailable);
});

test('grpc client: a stalled AS hits the per-request deadline → timeout error, 503 at the KBS', async (t) => {
  const fake = await recordingAs({ stall: true });
  t.after(() => fake.stop());
  const warnings: string[] = [];
  const client = new GrpcAttestationService({ address: parseAsAddress(`http://127.0.0.1:${fake.port}`), poolSize: 1, timeoutMs: 300, log: { warn: (m) => warnings.push(m) } });
  t.after(() => client.close());
  const started = Date.now();
  const err = await client.evaluate([{ tee: 'sample', evidence: {} }], ['default']).catch((e: unknown) => e);
  assert.ok(err instanceof RemoteAsError && err.code === 'ERR_REMOTE_AS_TIMEOUT', String(err));
  assert.ok(Date.now() - started < 5_000);
  assert.equal(fake.seen.length, 1);
  const mapped = asAttestationError(err, 'x');
  assert.ok(mapped instanceof AttestationServiceUnavailable);
  assert.equal(mapped.status, 503);
  assert.equal(mapped.message, 'attestation service did not answer in time');
  assert.match(warnings.join('\n'), /did not answer within 300 ms/);
});

test('grpc client: https:// speaks TLS, checks the server against the trusted roots', async (t) => {
  const tls = await makeTlsServerCert();
  const caPem = Buffer.from(tls.caPem);
  const server = new grpc.Server();
  server.addService(serviceOf(loadProto('attestation'), 'attestation.AttestationService').service, {
    AttestationEvaluate: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { attestation_token: 'tls.token.ok' }),
    SetAttestationPolicy: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, {}),
    GetAttestationChallenge: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, {}),
  });
  const creds = grpc.ServerCredentials.createSsl(null, [{ private_key: Buffer.from(tls.keyPem), cert_chain: Buffer.from(tls.certPem) }]);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (e, p) => (e ? reject(e) : resolve(p))));
  t.after(() => server.forceShutdown());
  const address = parseAsAddress(`https://localhost:${port}`);
  const trusted = new GrpcAttestationService({ address, poolSize: 1, rootCerts: caPem });
  t.after(() => trusted.close());
  assert.equal(await trusted.evaluate([{ tee: 'sample', evidence: {} }], ['default']), 'tls.token.ok');
  // Node's default roots do not include the test CA: the handshake fails, which is an outage (503), not a verdict.
  const untrusted = new GrpcAttestationService({ address, poolSize: 1 });
  t.after(() => untrusted.close());
  await assert.rejects(untrusted.evaluate([{ tee: 'sample', evidence: {} }], ['default']), (e: unknown) => e instanceof RemoteAsError && e.unavailable);
  // Plain http:// to a TLS port does not get a token either.
  const plain = new GrpcAttestationService({ address: parseAsAddress(`http://127.0.0.1:${port}`), poolSize: 1, timeoutMs: 3_000 });
  t.after(() => plain.close());
  await assert.rejects(plain.evaluate([{ tee: 'sample', evidence: {} }], ['default']), (e: unknown) => e instanceof RemoteAsError);
});

const configError = configErrorOf;

test('config: coco_as_grpc keys, defaults, aliases and refusals naming the key', () => {
  const d = parseKbsConfig({ attestation_service: { type: 'coco_as_grpc' } }, {}).attestationService as GrpcAsSettings;
  assert.equal(d.type, 'coco_as_grpc');
  assert.equal(d.asAddr.text, 'http://127.0.0.1:50004');
  assert.equal(d.asAddr.target, '127.0.0.1:50004');
  assert.equal(d.asAddr.tls, false);
  assert.equal(d.poolSize, 100);
  assert.equal(d.timeoutMin, 5);
  assert.equal(d.asConfig, undefined);

  const c = parseKbsConfig({ attestation_service: { type: 'CoCoASGrpc', as_addr: 'https://as.example.com:8443/', pool_size: 7, timeout: 10, max_sessions: 9 } }, {}).attestationService as GrpcAsSettings;
  assert.deepEqual([c.type, c.asAddr.tls, c.asAddr.host, c.asAddr.port, c.asAddr.target, c.poolSize, c.timeoutMin, c.maxSessions], ['coco_as_grpc', true, 'as.example.com', 8443, 'as.example.com:8443', 7, 10, 9]);
  assert.equal((parseKbsConfig({ attestation_service: { type: 'coco_as_grpc', as_addr: 'http://[::1]:50004' } }, {}).attestationService as GrpcAsSettings).asAddr.target, '[::1]:50004');

  for (const bad of ['grpc://127.0.0.1:50004', '127.0.0.1:50004', 'http://127.0.0.1', 'http://127.0.0.1:0', 'http://127.0.0.1:70000', 'http://u:p@h:1', 'http://h:1/path', 'http://h:1?x', 'http://[zz::1]:1', 'http:// h:1', ''])
    assert.equal(configError({ attestation_service: { type: 'coco_as_grpc', as_addr: bad } }).key, 'attestation_service.as_addr', bad);
  assert.equal(configError({ attestation_service: { type: 'coco_as_grpc', as_addr: 50004 } }).key, 'attestation_service.as_addr');
  for (const bad of [0, 1001, -1, 2.5, '10'])
    assert.equal(configError({ attestation_service: { type: 'coco_as_grpc', pool_size: bad } }).key, 'attestation_service.pool_size', String(bad));
  // Builtin AS keys mean nothing for a remote AS: named, not silently ignored.
  assert.equal(configError({ attestation_service: { type: 'coco_as_grpc', rvps_config: { type: 'BuiltIn' } } }).key, 'attestation_service.rvps_config');
  assert.equal(configError({ attestation_service: { type: 'coco_as_grpc', bogus: 1 } }).key, 'attestation_service.bogus');
  assert.throws(() => new GrpcAttestationService({ address: parseAsAddress('http://h:1'), poolSize: 0 }), RangeError);
});

test('config: Trustee coco-as-grpc-1.toml values', { skip: testdataSkip('kbs') }, () => {
  const raw = parseConfigText(readTestdata('kbs', 'configs', 'coco-as-grpc-1.toml').toString('utf8'), 'coco-as-grpc-1.toml');
  const s = parseKbsConfig(raw, {}).attestationService as GrpcAsSettings;
  assert.deepEqual([s.type, s.asAddr.target, s.asAddr.tls, s.poolSize, s.timeoutMin], ['coco_as_grpc', '127.0.0.1:50001', false, 100, 600]);
});

test('start-up: coco_as_grpc without [attestation_token] trust material is refused naming attestation_token', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-remote-as-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = parseKbsConfig({ data_dir: dir, attestation_service: { type: 'coco_as_grpc' }, attestation_token: {} }, {});
  await assert.rejects(createKbs(cfg, { storage: new MemoryBackend() }), (e: unknown) => e instanceof ConfigError && e.key === 'attestation_token' && /trust material/.test(e.message));
  // The same KBS with trust material starts (the AS at the default address need not be there).
  const ok = await createKbs(parseKbsConfig({ data_dir: dir, attestation_service: { type: 'coco_as_grpc' }, attestation_token: { insecure_header_jwk: true } }, {}), { storage: new MemoryBackend() });
  await ok.close();
});

test("start-up: Trustee's coco-as-grpc-3.toml (empty [attestation_token]) is refused naming attestation_token", { skip: testdataSkip('kbs') }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-remote-as-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const raw = parseConfigText(readTestdata('kbs', 'configs', 'coco-as-grpc-3.toml').toString('utf8'), 'coco-as-grpc-3.toml') as Record<string, unknown>;
  const cfg = parseKbsConfig({ ...raw, data_dir: dir }, {});
  await assert.rejects(createKbs(cfg, { storage: new MemoryBackend() }), (e: unknown) => e instanceof ConfigError && e.key === 'attestation_token');
});
