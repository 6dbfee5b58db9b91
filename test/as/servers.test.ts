import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import Fastify from 'fastify';
import * as grpc from '@grpc/grpc-js';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { MemoryBackend } from '../../src/storage/memory.js';
import { parseAsConfig } from '../../src/as/config.js';
import { createBuiltinAttestationService } from '../../src/as/builtin.js';
import { registerRestfulAsRoutes } from '../../src/as/restful.js';
import { createGrpcAsServer } from '../../src/as/grpc.js';
import { listenGrpc, startRvpsGrpcServer } from '../../src/rvps/grpc-server.js';
import { loadProto, serviceOf } from '../../src/rvps/grpc-proto.js';
import { Rvps } from '../../src/rvps/index.js';
import { connectRemoteRvps } from '../../src/rvps/grpc-client.js';
import { canonicalize } from '../../src/util/jcs.js';

const rd = { nonce: 'abc', 'tee-pubkey': { alg: 'ES256', crv: 'P-256', kty: 'EC', x: 'x', y: 'y' } };
const evidenceB64Url = (r: unknown = rd) =>
  Buffer.from(JSON.stringify({ svn: '1', report_data: createHash('sha384').update(canonicalize(r)).digest('base64') })).toString('base64url');
const rvMessage = (o: unknown) => JSON.stringify({ version: '0.1.0', type: 'sample', payload: Buffer.from(JSON.stringify(o)).toString('base64') });

async function restful() {
  const as = await createBuiltinAttestationService({ config: parseAsConfig({}, ''), storage: new MemoryBackend() });
  const app = Fastify();
  registerRestfulAsRoutes(app, as);
  await app.ready();
  return { as, app };
}

test('restful-as: healthz, jwks, policy list, challenge', async () => {
  const { as, app } = await restful();
  assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  const jwks = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  assert.equal(jwks.statusCode, 200);
  assert.deepEqual(jwks.json().keys[0], as.signerPublicJwk());
  const list = await app.inject({ method: 'GET', url: '/policy' });
  assert.deepEqual(list.json().map((p: { 'policy-id': string }) => p['policy-id']).sort(), ['default_cpu', 'default_gpu', 'default_ppcie', 'default_switch']);
  assert.equal((await app.inject({ method: 'GET', url: '/policy/default_cpu' })).statusCode, 404);
  const ch = await app.inject({ method: 'POST', url: '/challenge', payload: { tee: 'sample', tee_params: '' } });
  assert.equal(ch.statusCode, 200);
  assert.equal(ch.body, '');
  assert.equal((await app.inject({ method: 'POST', url: '/challenge', payload: { tee: 'nvidia' } })).statusCode, 400);
  await app.close();
});

test('restful-as: malformed attestation requests → 400; verification failure → 500 Trustee text', async () => {
  const { app } = await restful();
  const bad = [
    {},
    { verification_requests: 'x' },
    { verification_requests: [{ tee: 'tpm', evidence: evidenceB64Url() }] },
    { verification_requests: [{ tee: 'sample', evidence: '!!!' }] },
    { verification_requests: [{ tee: 'sample', evidence: evidenceB64Url(), runtime_data: { raw: 'AA', structured: {} } }] },
    { verification_requests: [{ tee: 'sample', evidence: evidenceB64Url(), runtime_data_hash_algorithm: 'md5' }] },
  ];
  for (const payload of bad) assert.equal((await app.inject({ method: 'POST', url: '/attestation', payload })).statusCode, 400, JSON.stringify(payload));
  const r = await app.inject({
    method: 'POST',
    url: '/attestation',
    payload: { verification_requests: [{ tee: 'sample', evidence: evidenceB64Url(), runtime_data: { structured: { ...rd, nonce: 'other' } } }], policy_ids: [] },
  });
  assert.equal(r.statusCode, 500);
  assert.match(r.body, /^An internal error occured: \n0: sample evidence verification failed/);
  await app.close();
});

test('restful-as: POST /policy rejects bad ids and bad bodies without storing', async () => {
  const { as, app } = await restful();
  assert.equal((await app.inject({ method: 'POST', url: '/policy', payload: { policy_id: '../x', policy: 'cGFja2FnZSBwb2xpY3k' } })).statusCode, 500);
  assert.equal((await app.inject({ method: 'POST', url: '/policy', payload: { policy: 'x' } })).statusCode, 400);
  assert.equal((await as.listPolicies()).length, 4);
  await app.close();
});

test('restful-as: sample attestation end to end → verifiable EAR token', async () => {
  const { as, app } = await restful();
  await as.registerReferenceValue(rvMessage({ svn: ['1'], launch_digest: ['abcde'], major_version: 1, minimum_minor_version: 1 }));
  const r = await app.inject({
    method: 'POST',
    url: '/attestation',
    payload: { verification_requests: [{ tee: 'sample', evidence: evidenceB64Url(), runtime_data: { structured: rd }, runtime_data_hash_algorithm: 'SHA384' }], policy_ids: [] },
  });
  assert.equal(r.statusCode, 200, r.body);
  const { payload } = await jwtVerify(r.body, createLocalJWKSet((await as.tokenSignerJwks()) as unknown as JSONWebKeySet));
  assert.equal((payload.submods as any).cpu0['ear.status'], 'affirming');
  await app.close();
});

type Unary = (req: unknown, cb: (e: grpc.ServiceError | null, r: any) => void) => void;
function promisify(client: grpc.Client, name: string) {
  const fn = (client as unknown as Record<string, Unary>)[name]!;
  return (req: unknown) => new Promise<any>((resolve, reject) => fn.call(client, req, (e, r) => (e ? reject(e) : resolve(r))));
}

test('rvps gRPC server: register/query through grpc-js clients, health, remote RVPS client', async () => {
  const rvps = await Rvps.open(new MemoryBackend());
  const server = await startRvpsGrpcServer(rvps, '127.0.0.1:0');
  try {
    const Ctor = serviceOf(loadProto('reference'), 'reference.ReferenceValueProviderService');
    const client = new Ctor(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    await promisify(client, 'RegisterReferenceValue')({ message: rvMessage({ svn: ['1'] }) });
    const q = await promisify(client, 'QueryReferenceValue')({ reference_value_id: 'svn' });
    assert.deepEqual(JSON.parse(q.reference_value_results), ['1']);
    const none = await promisify(client, 'QueryReferenceValue')({ reference_value_id: 'nothing' });
    assert.ok(none.reference_value_results === undefined || none.reference_value_results === null);
    await assert.rejects(promisify(client, 'RegisterReferenceValue')({ message: '{"version":"9.9.9","type":"sample","payload":""}' }), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT);
    const Health = serviceOf(loadProto('health'), 'grpc.health.v1.Health');
    const hc = new Health(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    assert.equal((await promisify(hc, 'Check')({ service: '' })).status, 'SERVING');
    client.close();
    hc.close();
    const remote = connectRemoteRvps(`http://127.0.0.1:${server.port}`);
    await remote.register(rvMessage({ launch_digest: ['abcde'] }));
    assert.deepEqual(await remote.query('launch_digest'), ['abcde']);
    assert.equal(await remote.query('missing'), undefined);
    remote.close();
  } finally {
    await server.close();
  }
});

test('grpc-as: policy set, challenge, reference values and evaluation errors over gRPC', async () => {
  const as = await createBuiltinAttestationService({ config: parseAsConfig({}, ''), storage: new MemoryBackend() });
  const running = await listenGrpc(createGrpcAsServer(as), '127.0.0.1:0');
  try {
    const Ctor = serviceOf(loadProto('attestation'), 'attestation.AttestationService');
    const client = new Ctor(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
    const ch = await promisify(client, 'GetAttestationChallenge')({ inner: { tee: 'sample', tee_params: '' } });
    assert.equal(ch.attestation_challenge, '');
    await assert.rejects(
      promisify(client, 'AttestationEvaluate')({ verification_requests: [{ tee: 'sampledevice', evidence: evidenceB64Url() }], policy_ids: [] }),
      (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT,
    );
    await assert.rejects(
      promisify(client, 'AttestationEvaluate')({ verification_requests: [{ tee: 'sample', evidence: evidenceB64Url(), structured_runtime_data: JSON.stringify({ ...rd, nonce: 'x' }) }], policy_ids: [] }),
      (e: grpc.ServiceError) => e.code === grpc.status.ABORTED && /verification failed/.test(e.details),
    );
    await assert.rejects(promisify(client, 'SetAttestationPolicy')({ policy_id: 'a/b', policy: 'cGFja2FnZSBwb2xpY3k' }), (e: grpc.ServiceError) => e.code === grpc.status.ABORTED);
    const Ref = serviceOf(loadProto('reference'), 'reference.ReferenceValueProviderService');
    const ref = new Ref(`127.0.0.1:${running.port}`, grpc.credentials.createInsecure());
    await promisify(ref, 'RegisterReferenceValue')({ message: rvMessage({ svn: ['1'], launch_digest: ['abcde'], major_version: 1, minimum_minor_version: 1 }) });
    assert.deepEqual(await as.queryReferenceValue('svn'), ['1']);
    {
      const r = await promisify(client, 'AttestationEvaluate')({
        verification_requests: [{ tee: 'sample', evidence: evidenceB64Url(), structured_runtime_data: JSON.stringify(rd), runtime_data_hash_algorithm: '' }],
        policy_ids: [],
      });
      const { payload } = await jwtVerify(r.attestation_token, createLocalJWKSet((await as.tokenSignerJwks()) as unknown as JSONWebKeySet));
      assert.equal((payload.submods as any).cpu0['ear.status'], 'affirming');
    }
    client.close();
    ref.close();
  } finally {
    await running.close();
  }
});

test('AS with rvps_config GrpcRemote reads reference values from a remote rvps', async () => {
  const rvps = await Rvps.open(new MemoryBackend());
  const server = await startRvpsGrpcServer(rvps, '127.0.0.1:0');
  try {
    const as = await createBuiltinAttestationService({ config: parseAsConfig({ rvps_config: { type: 'GrpcRemote', address: `http://127.0.0.1:${server.port}` } }, ''), storage: new MemoryBackend() });
    await as.registerReferenceValue(rvMessage({ svn: ['7'] }));
    assert.deepEqual(await rvps.query('svn'), ['7']);
    assert.deepEqual(await as.queryReferenceValue('svn'), ['7']);
    await as.close();
  } finally {
    await server.close();
  }
});
