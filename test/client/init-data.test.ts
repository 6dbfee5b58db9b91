import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { initDataDigest, parseInitData } from '../../src/client/init-data.js';
import { KbsClientError } from '../../src/client/errors.js';

const doc = `# a comment the digest must cover
algorithm = "sha256"
version   = "0.1.0"

[data]
"aa.toml" = '''
[token_configs]
[token_configs.kbs]
url = "http://127.0.0.1:8080"
'''
"cdh.toml" = "socket = 'unix:///run/cdh.sock'"
`;

test('init-data goes on the wire as {format: "toml", body: <text byte for byte>}', () => {
  const p = parseInitData(doc);
  assert.deepEqual(p.wire, { format: 'toml', body: doc });
  assert.equal(p.algorithm, 'sha256');
  assert.equal(p.version, '0.1.0');
  assert.deepEqual(Object.keys(p.data), ['aa.toml', 'cdh.toml']);
  // §2.3: the digest is over the raw body, so whitespace and comments count.
  assert.deepEqual(initDataDigest(p), createHash('sha256').update(doc).digest());
  assert.notDeepEqual(initDataDigest(parseInitData(doc.replace('version   =', 'version ='))), initDataDigest(p));
});

test('bad init-data is an input error before any request', () => {
  const bad = (text: string, re: RegExp) =>
    assert.throws(() => parseInitData(text), (e: unknown) => e instanceof KbsClientError && e.step === 'input' && re.test(e.message));
  bad('algorithm = "sha256"\nversion = ', /not valid TOML/);
  bad('algorithm = "sha-384"\nversion = "0.1.0"', /"algorithm" must be one of sha256, sha384, sha512/);
  bad('algorithm = "SHA384"\nversion = "0.1.0"', /"algorithm"/);
  bad('algorithm = "sha384"', /"version"/);
  bad('algorithm = "sha384"\nversion = "0.1.0"\ndata = 3', /"data" must be a table/);
  bad('algorithm = "sha384"\nversion = "0.1.0"\n[data]\nx = 1', /data\."x" must be a string/);
});
