import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTestdata, testdataSkip } from '../support/testdata.js';
import { defaultKbsConfig, loadConfigFile, parseConfigText, parseKbsConfig } from '../../src/kbs/config.js';
import { parseAsConfig } from '../../src/as/config.js';
import { ConfigError } from '../../src/util/config-error.js';
import { configErrorOf } from './support/config-error.js';

function load(dir: string, name: string) {
  const raw = parseConfigText(readTestdata('kbs', dir, name).toString('utf8'), name);
  const cfg = parseKbsConfig(raw, {});
  if (cfg.attestationService) parseAsConfig(cfg.attestationService.asConfig, 'attestation_service');
  return cfg;
}

// Each of Trustee's config files either loads (features we have) or fails naming the key of the missing feature.
const EXPECT: Record<string, string | null> = {
  'configs/coco-as-builtin-1.toml': null,
  'configs/coco-as-builtin-2.toml': null,
  // Trustee also refuses AuthenticatedAuthorization without identity providers at start-up.
  'configs/coco-as-builtin-3.toml': 'admin.authentication.bearer_jwt.identity_providers',
  // coco_as_grpc parses; coco-as-grpc-2/3 (empty [attestation_token]) are refused at start-up: test/kbs/remote-as-grpc.test.ts.
  'configs/coco-as-grpc-1.toml': null,
  'configs/coco-as-grpc-2.toml': null,
  'configs/coco-as-grpc-3.toml': null,
  // intel_ta parses; intel-ta-1's base_url "example.io" has no scheme (Trustee would fail on it at the first /attest).
  // Start-up with intel-ta-2/3 loads certs_file from the network: test/kbs/remote-as-ita.test.ts covers start-up.
  'configs/intel-ta-1.toml': 'attestation_service.base_url',
  'configs/intel-ta-2.toml': null,
  'configs/intel-ta-3.toml': null,
  'configs/tls-profile-custom-pqc.toml': null,
  'configs/tls-profile-custom.toml': null,
  'configs/tls-profile-intermediate.toml': null,
  'configs/tls-profile-modern.toml': null,
  'configs/tls-profile-old.toml': null,
  'test-config/kbs.toml': null,
  'test-config/resource-kbs.toml': null,
  'test-config/external-plugin.toml': 'plugins[0].name',
  'test-config/external-plugin-attest.toml': 'plugins[0].name',
  'test-config/external-plugin-resource.toml': 'plugins[0].name',
  'test-config/external-plugin-resource-tls.toml': 'plugins[0].name',
  'test-config/external-plugin-tls.toml': 'plugins[0].name',
};

for (const [file, key] of Object.entries(EXPECT)) {
  const [dir, name] = file.split('/') as [string, string];
  test(`Trustee config ${file} ${key ? `fails naming ${key}` : 'loads'}`, { skip: testdataSkip('kbs') }, () => {
    if (key === null) load(dir, name);
    else assert.throws(() => load(dir, name), (e: unknown) => e instanceof ConfigError && e.key === key && /not supported yet|required|is not a URL/.test(e.message));
  });
}

test('test-config/kbs.toml values', { skip: testdataSkip('kbs') }, () => {
  const c = load('test-config', 'kbs.toml');
  assert.deepEqual(c.httpServer.sockets, [{ host: '127.0.0.1', port: 8080 }]);
  assert.equal(c.httpServer.privateKeyPath, './work/https.key');
  assert.deepEqual(c.attestationToken.trustedCertsPaths, ['./work/ca-cert.pem']);
  assert.equal(c.storage.storageType, 'LocalFs');
  assert.equal(c.admin.mode, 'AuthenticatedAuthorization');
  if (c.admin.mode === 'AuthenticatedAuthorization') {
    assert.deepEqual(c.admin.identityProviders, [{ issuer: 'issuer', audience: 'kbs', publicKeyUri: './work/kbs.pem' }]);
    assert.deepEqual(c.admin.acls, [{ role: 'admin', allowedEndpoints: '^/kbs/.+$' }]);
  }
  assert.deepEqual(c.plugins, [{ name: 'resource', source: { kind: 'kvstorage' } }]);
  assert.equal(c.attestationService?.timeoutMin, 5);
});

test('coco-as-builtin-2: 0.0.0.0 with insecure_http, memory storage, InsecureAllowAll (warned)', { skip: testdataSkip('kbs') }, () => {
  const c = load('configs', 'coco-as-builtin-2.toml');
  assert.equal(c.httpServer.sockets[0]!.host, '0.0.0.0');
  assert.equal(c.httpServer.payloadRequestSize, 2 * 1024 * 1024);
  assert.equal(c.admin.mode, 'InsecureAllowAll');
  assert.equal(c.sessionStorageType, 'Memory');
  assert.ok(c.warnings.some((w) => w.includes('InsecureAllowAll')));
  assert.ok(c.warnings.some((w) => w.includes('insecure_http')));
});

test('TLS profiles from Trustee configs map to node TLS settings', { skip: testdataSkip('kbs') }, () => {
  const tls = (name: string) => {
    const raw = parseConfigText(readTestdata('kbs', 'configs', name).toString('utf8'), name) as Record<string, unknown>;
    delete raw.attestation_service; // the TLS keys are what we test here
    return parseKbsConfig(raw, {}).httpServer.tls;
  };
  assert.deepEqual(tls('tls-profile-old.toml'), { profile: 'old', minVersion: '1.2', maxVersion: '1.3' });
  assert.deepEqual(tls('tls-profile-intermediate.toml'), { profile: 'intermediate', minVersion: '1.2', maxVersion: '1.3' });
  assert.deepEqual(tls('tls-profile-modern.toml'), { profile: 'modern', minVersion: '1.3', maxVersion: '1.3' });
  assert.deepEqual(tls('tls-profile-custom.toml'), {
    profile: 'custom',
    minVersion: '1.3',
    maxVersion: '1.3',
    ciphers: 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256',
    groups: 'X25519:secp384r1',
  });
  assert.equal(tls('tls-profile-custom-pqc.toml').groups, 'X25519MLKEM768:X25519:secp256r1');
});

const err = configErrorOf;

test('unknown keys and bad values name the key', () => {
  assert.equal(err({ http_server: { sockets: ['127.0.0.1:8080'], socket: [] } }).key, 'http_server.socket');
  assert.equal(err({ bogus: 1 }).key, 'bogus');
  assert.equal(err({ http_server: { payload_request_size: 'big' } }).key, 'http_server.payload_request_size');
  assert.equal(err({ http_server: { sockets: ['nohost'] } }).key, 'http_server.sockets[0]');
  assert.equal(err({ http_server: { sockets: ['0.0.0.0:8080'] } }).key, 'http_server.insecure_http');
  assert.equal(err({ http_server: { tls_profile: 'modern', tls_min_version: '1.2' } }).key, 'http_server.tls_profile');
  assert.equal(err({ http_server: { tls_profile: 'custom', tls_min_version: '1.3', tls_max_version: '1.2' } }).key, 'http_server.tls_min_version');
  assert.equal(err({ attestation_token: { insecure_header_jwk: 'yes' } }).key, 'attestation_token.insecure_header_jwk');
  assert.equal(err({ attestation_token: { trusted_jwk_sets: ['http://plain.example'] } }).key, 'attestation_token.trusted_jwk_sets[0]');
  assert.equal(err({ admin: { authorization_mode: 'Sometimes' } }).key, 'admin.authorization_mode');
  assert.equal(err({ storage_backend: { storage_type: 'Floppy' } }).key, 'storage_backend.storage_type');
  assert.equal(err({ plugins: [{ name: 'resource', storage_backend_type: 'Vault' }] }).key, 'plugins[0].storage_backend_type');
  assert.equal(err({ plugins: [{ name: 'sample' }] }).key, 'plugins[0].item');
  assert.equal(err({ plugins: [{ name: 'nebula-ca' }] }).message, 'config key "plugins[0].name": not supported yet');
  assert.equal(err({ jwe: { allow_rsa1_5: 1 } }).key, 'jwe.allow_rsa1_5');
});

test('admin ACL regexes must be anchored ^/kbs … $', () => {
  const admin = (re: string) => ({
    admin: {
      authorization_mode: 'AuthenticatedAuthorization',
      authentication: { bearer_jwt: { identity_providers: [{ public_key_uri: '/k.pem' }] } },
      authorization: { regex_acl: { acls: [{ role: 'r', allowed_endpoints: re }] } },
    },
  });
  for (const re of ['/kbs/.*', '^/kbs/.*', '.*$', '^/other/.*$', '^/kbs/(unclosed$', '^/kbs/x\\$']) {
    assert.equal(err(admin(re)).key, 'admin.authorization.regex_acl.acls[0].allowed_endpoints', re);
  }
  const ok = parseKbsConfig(admin('^/kbs/v0/resource/.+$'), {});
  assert.equal(ok.admin.mode, 'AuthenticatedAuthorization');
});

test('JSON and YAML config files by extension; no config gives the safe defaults', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-cfg-'));
  writeFileSync(join(dir, 'c.json'), JSON.stringify({ http_server: { sockets: ['127.0.0.1:9000'] } }));
  writeFileSync(join(dir, 'c.yaml'), 'http_server:\n  sockets: ["127.0.0.1:9001"]\n');
  writeFileSync(join(dir, 'c.ini'), '');
  assert.equal(loadConfigFile(join(dir, 'c.json'), {}).httpServer.sockets[0]!.port, 9000);
  assert.equal(loadConfigFile(join(dir, 'c.yaml'), {}).httpServer.sockets[0]!.port, 9001);
  assert.throws(() => loadConfigFile(join(dir, 'c.ini'), {}), ConfigError);
  assert.throws(() => loadConfigFile(join(dir, 'missing.toml'), {}), ConfigError);

  const d = defaultKbsConfig({ KBS_DATA_DIR: dir });
  assert.equal(d.dataDir, dir);
  assert.deepEqual(d.httpServer.sockets, [{ host: '127.0.0.1', port: 8080 }]);
  assert.equal(d.admin.mode, 'Embedded');
  assert.equal(d.storage.storageType, 'LocalFs');
  assert.equal(d.storage.backends.localFs.dirPath, join(dir, 'storage'));
  assert.equal(d.attestationService?.type, 'coco_as_builtin');
  // A config without [admin] keeps the embedded key instead of Trustee's InsecureAllowAll.
  assert.equal(parseKbsConfig({}, {}).admin.mode, 'Embedded');
});
