import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { bindRuntimeData, parseHashAlgorithm } from '../../src/as/runtime-data.js';
import { bindInitData } from '../../src/as/init-data.js';
import { policyInput, trimRuntimeDataClaims } from '../../src/as/input.js';
import { AttestationServiceError } from '../../src/as/errors.js';

test('structured runtime data: JCS + sha384 known vector (specs/trustee.md §2.2)', () => {
  const r = bindRuntimeData({ kind: 'structured', json: { b: 1, a: 'test', c: { d: 'e' } } }, 'sha384');
  assert.equal(
    Buffer.from(r.expectedReportData!).toString('hex'),
    'e71ce8e70d814ba6639c3612ebee0ff1f76f650f8dbb5e47157e0f3f525cd22c4597480a186427c813ca941da78870c3',
  );
  assert.deepEqual(r.claims, { b: 1, a: 'test', c: { d: 'e' } });
});

test('structured runtime data: sha256/sha512 hash the same canonical text', () => {
  const canon = '{"a":"test","b":1,"c":{"d":"e"}}';
  for (const alg of ['sha256', 'sha512'] as const) {
    const r = bindRuntimeData({ kind: 'structured', json: { c: { d: 'e' }, b: 1, a: 'test' } }, alg);
    assert.equal(Buffer.from(r.expectedReportData!).toString('hex'), createHash(alg).update(canon).digest('hex'));
  }
});

test('raw runtime data passes through; absent → no expectation, claims null', () => {
  const bytes = new Uint8Array([1, 2, 3]);
  assert.deepEqual(bindRuntimeData({ kind: 'raw', bytes }, 'sha384'), { expectedReportData: bytes, claims: null });
  assert.deepEqual(bindRuntimeData(undefined, 'sha384'), { claims: null });
});

test('hash algorithm names: case-insensitive, empty → sha384, others rejected', () => {
  assert.equal(parseHashAlgorithm(undefined), 'sha384');
  assert.equal(parseHashAlgorithm(''), 'sha384');
  assert.equal(parseHashAlgorithm('SHA512'), 'sha512');
  assert.throws(() => parseHashAlgorithm('sha-384'), AttestationServiceError);
  assert.throws(() => parseHashAlgorithm('md5'), AttestationServiceError);
});

const CDH = `[image]\nextra_root_certificates = ["-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----"]\n`;
const POLICY = `package agent_policy

default AllowRequestsFailingPolicy := false

policy_data := {
  "containers": [
    {"OCI": {"Annotations": {"io.kubernetes.cri.image-name": "pause"}, "Process": {"Args": ["/pause"], "User": {"UID": 65535}}}},
    {"OCI": {"Annotations": {"io.kubernetes.cri.image-name": "bitnami/nginx:latest"}, "Process": {"Args": ["/opt/bitnami/scripts/nginx/run.sh"], "User": {"UID": 1001}}}}
  ],
  "note": "a } inside a string"
}

CreateContainerRequest if { true }
`;

function toml(alg: string, extra = ''): string {
  return `version = "0.1.0"\nalgorithm = "${alg}"\n${extra}[data]\n"cdh.toml" = '''\n${CDH}'''\n"policy.rego" = '''\n${POLICY}'''\n"other.txt" = "plain"\n`;
}

test('init-data TOML: digest over the raw bytes with the body algorithm; claims transformed', () => {
  for (const alg of ['sha256', 'sha384', 'sha512'] as const) {
    const body = toml(alg);
    const r = bindInitData({ kind: 'toml', toml: body });
    assert.equal(Buffer.from(r.digest!).toString('hex'), createHash(alg).update(body, 'utf8').digest('hex'));
    const c = r.claims as Record<string, any>;
    assert.deepEqual(Object.keys(c).sort(), ['agent_policy_claims', 'cdh.toml', 'other.txt']);
    assert.equal(c['cdh.toml'].image.extra_root_certificates[0], '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----');
    assert.deepEqual(c.agent_policy_claims.containers[1].OCI.Process.Args, ['/opt/bitnami/scripts/nginx/run.sh']);
    assert.equal(c.agent_policy_claims.note, 'a } inside a string');
    assert.equal(c['other.txt'], 'plain');
  }
  // Whitespace changes the digest (no canonicalization).
  const a = bindInitData({ kind: 'toml', toml: toml('sha256') });
  const b = bindInitData({ kind: 'toml', toml: toml('sha256') + '\n' });
  assert.notDeepEqual(a.digest, b.digest);
});

test('init-data: policy.rego without policy_data is kept as text', () => {
  const body = `version = "0.1.0"\nalgorithm = "sha384"\n[data]\n"policy.rego" = "package x"\n`;
  assert.deepEqual(bindInitData({ kind: 'toml', toml: body }).claims, { 'policy.rego': 'package x' });
});

test('init-data: bad algorithm, bad TOML, non-string data, broken policy_data → typed errors', () => {
  const bad = [
    `version = "0.1.0"\nalgorithm = "sha-384"\n[data]\n`,
    `version = "0.1.0"\nalgorithm = "md5"\n`,
    `version = "0.1.0"\nalgorithm = sha256\n`,
    `version = "0.1.0"\nalgorithm = "sha256"\n[data]\nx = 1\n`,
    `version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"cdh.toml" = "not = = toml"\n`,
    `version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"policy.rego" = "policy_data := { \\"a\\": "\n`,
  ];
  for (const t of bad) assert.throws(() => bindInitData({ kind: 'toml', toml: t }), (e: unknown) => e instanceof AttestationServiceError && e.code === 'ERR_AS_INIT_DATA', t);
});

test('init-data digest form passes through', () => {
  const bytes = new Uint8Array(32).fill(7);
  assert.deepEqual(bindInitData({ kind: 'digest', bytes }), { digest: bytes, claims: null });
});

test('policy input document: report_data/init_data lifted out of the TEE claims (§3.6)', () => {
  const doc = policyInput('sample', { svn: '1', report_data: 'rd', init_data: 'id', debug: false }, { nonce: 'n' }, null);
  assert.deepEqual(doc, { sample: { svn: '1', debug: false }, report_data: 'rd', runtime_data_claims: { nonce: 'n' }, init_data: 'id', init_data_claims: null });
  assert.deepEqual(policyInput('sampledevice', { svn: '2' }, null, null), { sampledevice: { svn: '2' }, runtime_data_claims: null, init_data_claims: null });
});

test('verbose_token=false drops additional-evidence only', () => {
  const rd = { nonce: 'n', 'tee-pubkey': { kty: 'EC' }, 'additional-evidence': 'big' };
  assert.deepEqual(trimRuntimeDataClaims(rd, true), rd);
  assert.deepEqual(trimRuntimeDataClaims(rd, false), { nonce: 'n', 'tee-pubkey': { kty: 'EC' } });
});
