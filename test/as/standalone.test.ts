import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSocket, readConfigFile, openStorage } from '../../src/as/standalone.js';
import { parseRvpsConfig } from '../../src/bin/rvps.js';
import { main as restfulMain } from '../../src/bin/restful-as.js';
import { ConfigError } from '../../src/util/config-error.js';

test('parseSocket: host:port and [v6]:port; junk rejected', () => {
  assert.deepEqual(parseSocket('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseSocket('[::1]:50003'), { host: '::1', port: 50003 });
  for (const s of ['8080', 'host:', 'host:99999', ':80', 'a:b']) assert.throws(() => parseSocket(s), ConfigError, s);
});

test('readConfigFile: JSON, TOML and YAML by extension; parse errors are ConfigError', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kb-ascfg-'));
  await writeFile(join(dir, 'a.json'), '{"attestation_token_broker":{"duration_min":7}}');
  await writeFile(join(dir, 'a.toml'), '[attestation_token_broker]\nduration_min = 7\n');
  await writeFile(join(dir, 'a.yaml'), 'attestation_token_broker:\n  duration_min: 7\n');
  await writeFile(join(dir, 'bad.json'), '{');
  for (const f of ['a.json', 'a.toml', 'a.yaml']) assert.deepEqual(await readConfigFile(join(dir, f)), { attestation_token_broker: { duration_min: 7 } }, f);
  await assert.rejects(readConfigFile(join(dir, 'bad.json')), ConfigError);
  await assert.rejects(readConfigFile(join(dir, 'missing.json')), ConfigError);
});

test('openStorage: Trustee storage block; unknown type rejected', () => {
  assert.equal(openStorage(undefined, 'storage_backend').type, 'Memory');
  assert.throws(() => openStorage({ storage_type: 'Floppy' }, 'storage_backend'), ConfigError);
});

test('rvps config: storage + extractors only', () => {
  assert.deepEqual(parseRvpsConfig({ storage: { storage_type: 'Memory' }, extractors: { swid_extractor: {} } }), { storage: { storage_type: 'Memory' } });
  assert.throws(() => parseRvpsConfig({ nope: 1 }), ConfigError);
  assert.throws(() => parseRvpsConfig({ extractors: { other: {} } }), ConfigError);
});

test('restful-as main: bad config exits 1 before listening', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kb-ascfg-'));
  await writeFile(join(dir, 'as.json'), '{"bogus": true}');
  const errors: string[] = [];
  const orig = console.error;
  console.error = (m: string) => void errors.push(String(m));
  try {
    assert.equal(await restfulMain(['-c', join(dir, 'as.json'), '-s', '127.0.0.1:0']), 1);
    assert.equal(await restfulMain(['-s', '127.0.0.1:0', '-t', 'cert.pem']), 1);
  } finally {
    console.error = orig;
  }
  assert.match(errors[0]!, /config key "bogus"/);
});
