import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { jwtVerify } from 'jose';
import { run, parseReferenceValue, rustDebugString, type CliIo } from '../../src/bin/kbs-client.js';
import { resolveAdminToken } from '../../src/client/admin-token.js';
import { cannedPolicy } from '../../src/client/policies.js';
import { MockKbs } from './support/mock-kbs.js';

const tmp = mkdtempSync(join(tmpdir(), 'kbs-client-cli-'));
const servers: MockKbs[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(tmp, { recursive: true, force: true });
});

function dir(name: string): string {
  const d = join(tmp, name);
  mkdirSync(d, { recursive: true });
  return d;
}

async function cli(argv: string[], over: Partial<CliIo> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, {
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
    env: {},
    cwd: tmp,
    home: undefined,
    now: () => new Date('2026-06-01T00:00:00Z'),
    ...over,
  });
  return { code, out, err };
}

const oneLine = (s: string) => s.trimEnd().split('\n').length === 1;

test('usage errors exit 2 with one line on stderr and nothing on stdout', async () => {
  for (const argv of [
    ['get-resource'],
    ['config', 'set-resource-policy'],
    ['config', 'set-resource-policy', '--allow-all', '--deny-all'],
    ['config', 'set-resource', '--path', 'a/b/c'],
    ['config', 'set-sample-reference-value', 'svn', 'x', '--as-integer'],
    ['config', 'set-sample-reference-value', 'svn', '1', '--as-integer', '--as-bool'],
    ['get-resource', '--path', 'a/b/c', '--attestation-token', 'tok'],
    ['attest', '--tee-key-algorithm', 'RSA1_5'],
    ['attest', 'algorithm = "sha-384"\nversion = "0.1.0"'],
    ['bogus-command'],
    ['keygen', '--days', '0'],
  ]) {
    const r = await cli(argv);
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err}`);
    assert.equal(r.out, '');
    assert.ok(r.err.length > 0 && oneLine(r.err), `one line for ${argv.join(' ')}: ${JSON.stringify(r.err)}`);
  }
  const r = await cli(['get-resource', '--path', 'a/b/c', '--attestation-token', 'tok']);
  assert.match(r.err, /^error: input: --attestation-token needs --tee-key-file/);
});

test('a missing file is an input error naming the file', async () => {
  const r = await cli(['config', 'set-resource', '--path', 'a/b/c', '--resource-file', 'nope.bin']);
  assert.equal(r.code, 2);
  assert.match(r.err, /cannot read resource file nope\.bin/);
});

test('an unreachable KBS exits 1 naming the step', async () => {
  const kbs = new MockKbs();
  const url = await kbs.start();
  await kbs.stop();
  const r = await cli(['--url', url, 'attest']);
  assert.equal(r.code, 1);
  assert.match(r.err, /^error: auth: POST \/kbs\/v0\/auth failed/);
  assert.ok(oneLine(r.err));
});

test('against a KBS: set-resource, set-resource-policy --allow-all, get-resource prints base64, attest prints the token', async () => {
  const kbs = new MockKbs({ adminToken: 'a.b.c' });
  servers.push(kbs);
  const url = await kbs.start();
  const d = dir('e2e-mock');
  writeFileSync(join(d, 'secret.bin'), Buffer.from([1, 2, 3, 250]));
  writeFileSync(join(d, 'admin-token'), 'a.b.c\n');
  const cfg = ['--url', url, 'config', '--admin-token-file', join(d, 'admin-token')];

  let r = await cli([...cfg, 'set-resource', '--path', 'one/two/three', '--resource-file', join(d, 'secret.bin')]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, `Set resource success \n resource: ${Buffer.from([1, 2, 3, 250]).toString('base64')}\n`);

  r = await cli([...cfg, 'set-resource-policy', '--allow-all']);
  assert.equal(r.code, 0, r.err);
  assert.equal(kbs.lastPolicy, cannedPolicy('allow-all'));
  assert.match(r.out, /^Set resource policy success \n policy: /);

  r = await cli(['--url', url, 'get-resource', '--path', 'one/two/three']);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'AQID+g==\n');

  r = await cli(['--url', url, 'attest']);
  assert.equal(r.code, 0, r.err);
  assert.ok(kbs.tokens.has(r.out.trim()));

  // Without a token file, the anonymous admin call is refused by this KBS.
  r = await cli(['--url', url, 'config', 'set-resource-policy', '--deny-all'], { cwd: d + '/nonexistent-cwd' });
  assert.equal(r.code, 1);
  assert.match(r.err, /^error: admin: set resource policy failed: HTTP 401 AdminAuthAccess/);
});

test('passport mode through the CLI: attest with a key file, then get-resource with the token file', async () => {
  const kbs = new MockKbs();
  servers.push(kbs);
  const url = await kbs.start();
  kbs.resources.set('r/t/x', Buffer.from('passport'));
  const d = dir('passport');
  const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs1' });
  writeFileSync(join(d, 'tee.pem'), pem);
  const a = await cli(['--url', url, 'attest', '--tee-key-file', join(d, 'tee.pem')]);
  assert.equal(a.code, 0, a.err);
  writeFileSync(join(d, 'token'), a.out);
  const g = await cli(['--url', url, 'get-resource', '--path', 'r/t/x', '--tee-key-file', join(d, 'tee.pem'), '--attestation-token', join(d, 'token')]);
  assert.equal(g.code, 0, g.err);
  assert.equal(Buffer.from(g.out.trim(), 'base64').toString(), 'passport');
});

test('set-sample-reference-value wraps in a list unless --as-single-value; get-reference-value prints Debug-quoted', async () => {
  const kbs = new MockKbs();
  servers.push(kbs);
  const url = await kbs.start();
  const payload = () => JSON.parse(Buffer.from(String(kbs.lastReferenceValue?.payload), 'base64').toString());
  let r = await cli(['--url', url, 'config', 'set-sample-reference-value', 'svn', '1']);
  assert.equal(r.out, 'Reference Values Updated\n');
  assert.deepEqual(payload(), { svn: ['1'] });
  r = await cli(['--url', url, 'config', 'set-sample-reference-value', 'major_version', '1', '--as-integer', '--as-single-value']);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(payload(), { major_version: 1 });
  r = await cli(['--url', url, 'config', 'set-sample-reference-value', 'debug', 'false', '--as-bool']);
  assert.deepEqual(payload(), { debug: [false] });
  r = await cli(['--url', url, 'config', 'get-reference-value', '--id', 'svn']);
  assert.equal(r.out, '"[\\"1\\",\\"2\\"]"\n');
});

test('set-resource-policy sends the chosen canned policy or the file, b64url-encoded', async () => {
  const kbs = new MockKbs();
  servers.push(kbs);
  const url = await kbs.start();
  for (const flag of ['default', 'affirming', 'deny-all', 'allow-all'] as const) {
    const r = await cli(['--url', url, 'config', 'set-resource-policy', `--${flag}`]);
    assert.equal(r.code, 0, r.err);
    assert.equal(kbs.lastPolicy, cannedPolicy(flag));
    assert.equal(r.out, `Set resource policy success \n policy: ${Buffer.from(cannedPolicy(flag)).toString('base64')}\n`);
  }
  const d = dir('policy-file');
  writeFileSync(join(d, 'p.rego'), 'package policy\ndefault allow := true\n');
  const r = await cli(['--url', url, 'config', 'set-resource-policy', '--policy-file', join(d, 'p.rego')]);
  assert.equal(r.code, 0, r.err);
  assert.equal(kbs.lastPolicy, 'package policy\ndefault allow := true\n');
  const a = await cli(['--url', url, 'config', 'set-attestation-policy', '--policy-file', join(d, 'p.rego'), '--id', 'default_gpu']);
  assert.equal(a.code, 0, a.err);
  assert.equal(kbs.lastAttestationPolicy?.policy_id, 'default_gpu');
  assert.equal(kbs.lastAttestationPolicy?.type, 'rego');
});

test('parseReferenceValue follows Rust i32 / bool parsing', () => {
  assert.equal(parseReferenceValue('-2147483648', { asInteger: true }), -2147483648);
  assert.equal(parseReferenceValue('+7', { asInteger: true }), 7);
  assert.throws(() => parseReferenceValue('2147483648', { asInteger: true }), /32-bit/);
  assert.throws(() => parseReferenceValue('1.0', { asInteger: true }), /32-bit/);
  assert.throws(() => parseReferenceValue('True', { asBool: true }), /true or false/);
  assert.equal(parseReferenceValue('abc', {}), 'abc');
});

test('rustDebugString escapes as Rust {:?}', () => {
  assert.equal(rustDebugString('a"b\\c\n\t\u0001é'), '"a\\"b\\\\c\\n\\t\\u{1}é"');
});

test('keygen writes an Ed25519 key pair and an EdDSA token that verifies, and prints the [admin] config', async () => {
  const d = dir('keygen');
  const r = await cli(['keygen', '--out-dir', d, '--issuer', 'me', '--audience', 'kbs', '--days', '2']);
  assert.equal(r.code, 0, r.err);
  const pub = createPublicKey(readFileSync(join(d, 'admin-key.pub.pem')));
  assert.equal(pub.asymmetricKeyType, 'ed25519');
  assert.equal(statSync(join(d, 'admin-key.pem')).mode & 0o777, 0o600);
  assert.equal(statSync(join(d, 'admin-token')).mode & 0o777, 0o600);
  const token = readFileSync(join(d, 'admin-token'), 'utf8').trim();
  const { payload, protectedHeader } = await jwtVerify(token, pub, {
    issuer: 'me',
    audience: 'kbs',
    currentDate: new Date('2026-06-02T00:00:00Z'),
  });
  assert.equal(protectedHeader.alg, 'EdDSA');
  assert.equal(payload.role, 'admin');
  assert.equal(payload.iat, Date.parse('2026-06-01T00:00:00Z') / 1000);
  assert.equal(payload.exp, payload.iat! + 2 * 86400);
  assert.match(r.out, /\[admin\]\nauthorization_mode = "AuthenticatedAuthorization"/);
  assert.ok(r.out.includes(`public_key_uri = ${JSON.stringify(join(d, 'admin-key.pub.pem'))}`));
  assert.ok(r.out.includes('acls = [{ role = "admin", allowed_endpoints = "^/kbs/.+$" }]'));

  // A second run refuses to replace the files and changes nothing.
  const before = readFileSync(join(d, 'admin-token'));
  const again = await cli(['keygen', '--out-dir', d]);
  assert.equal(again.code, 1);
  assert.match(again.err, /^error: keygen: .*already exists/);
  assert.deepEqual(readFileSync(join(d, 'admin-token')), before);
  assert.deepEqual(readdirSync(d).sort(), ['admin-key.pem', 'admin-key.pub.pem', 'admin-token']);
});

test('admin token resolution order', () => {
  const root = dir('resolve');
  const tok = (name: string) => `${name}.x.y`;
  const put = (rel: string, name: string) => {
    const p = join(root, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, tok(name) + '\n');
    return p;
  };
  const home = join(root, 'home');
  const src = (over: Partial<Parameters<typeof resolveAdminToken>[0]> = {}) => ({ env: {}, cwd: join(root, 'cwd'), home, ...over });
  assert.equal(resolveAdminToken(src()), undefined, 'anonymous when nothing exists');
  put('home/.trustee/admin-token', 'home');
  assert.equal(resolveAdminToken(src())?.token, tok('home'));
  put('cwd/kbs/config/docker-compose/admin-token', 'compose');
  assert.equal(resolveAdminToken(src())?.token, tok('compose'));
  put('cwd/kbs-data/admin-token', 'local');
  assert.equal(resolveAdminToken(src())?.token, tok('local'));
  put('data/admin-token', 'datadir');
  assert.equal(resolveAdminToken(src({ env: { KBS_DATA_DIR: join(root, 'data') } }))?.token, tok('datadir'));
  const envFile = put('envfile', 'env');
  assert.equal(resolveAdminToken(src({ env: { KBS_DATA_DIR: join(root, 'data'), KBS_ADMIN_TOKEN_FILE: envFile } }))?.token, tok('env'));
  const flagFile = put('flagfile', 'flag');
  assert.equal(resolveAdminToken(src({ flag: flagFile, env: { KBS_ADMIN_TOKEN_FILE: envFile } }))?.token, tok('flag'));
  // Explicitly named files must exist and hold a JWT.
  assert.throws(() => resolveAdminToken(src({ flag: join(root, 'missing') })), /cannot read admin token file/);
  assert.throws(() => resolveAdminToken(src({ env: { KBS_ADMIN_TOKEN_FILE: join(root, 'missing') } })), /cannot read/);
  writeFileSync(join(root, 'garbage'), 'not a token');
  assert.throws(() => resolveAdminToken(src({ flag: join(root, 'garbage') })), /compact JWT/);
});
