import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { request } from 'node:https';
import { parseKbsConfig } from '../../src/kbs/config.js';
import { createKbs, listenKbs } from '../../src/kbs/bootstrap.js';
import { MemoryBackend } from '../../src/storage/memory.js';
import { makeCa, makeLeaf } from './support/pki.js';

function handshakeVersion(port: number, ca: string, maxVersion: 'TLSv1.2' | 'TLSv1.3'): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca: [ca], maxVersion, checkServerIdentity: () => undefined }, () => {
      const v = s.getProtocol() ?? '';
      s.end();
      resolve(v);
    });
    s.on('error', reject);
  });
}

test('HTTPS with tls_profile: modern serves TLS 1.3 only; intermediate accepts 1.2', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-tls-'));
  const ca = await makeCa('tls ca');
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const leaf = await makeLeaf('127.0.0.1', keys.publicKey, ca);
  writeFileSync(join(dir, 'key.pem'), keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'cert.pem'), leaf.pem);
  for (const [profile, tls12ok] of [['modern', false], ['intermediate', true]] as const) {
    const config = parseKbsConfig(
      { data_dir: join(dir, profile), http_server: { sockets: ['127.0.0.1:0'], private_key: join(dir, 'key.pem'), certificate: join(dir, 'cert.pem'), tls_profile: profile } },
      {},
    );
    const kbs = await createKbs(config, { storage: new MemoryBackend() });
    const [addr] = await listenKbs(kbs);
    t.after(() => kbs.close());
    assert.match(addr!, /^https:\/\/127\.0\.0\.1:\d+$/);
    const port = Number(new URL(addr!).port);
    assert.equal(await handshakeVersion(port, ca.pem, 'TLSv1.3'), 'TLSv1.3');
    if (tls12ok) assert.equal(await handshakeVersion(port, ca.pem, 'TLSv1.2'), 'TLSv1.2');
    else await assert.rejects(handshakeVersion(port, ca.pem, 'TLSv1.2'));
    const status = await new Promise<number>((resolve, reject) => {
      const r = request({ host: '127.0.0.1', port, path: '/healthz', ca: [ca.pem], checkServerIdentity: () => undefined }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      r.on('error', reject);
      r.end();
    });
    assert.equal(status, 200);
  }
});

test('TLS groups or ciphers this OpenSSL does not know stop start-up naming the key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kbs-tls-'));
  const ca = await makeCa('tls ca');
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const leaf = await makeLeaf('127.0.0.1', keys.publicKey, ca);
  writeFileSync(join(dir, 'key.pem'), keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'cert.pem'), leaf.pem);
  for (const [extra, key] of [
    [{ tls_groups: 'NoSuchGroup:X25519' }, 'http_server.tls_groups'],
    [{ tls_profile: 'custom', tls_ciphers: 'NO-SUCH-CIPHER' }, 'http_server.tls_ciphers'],
  ] as const) {
    const config = parseKbsConfig(
      { data_dir: join(dir, 'data'), http_server: { sockets: ['127.0.0.1:0'], private_key: join(dir, 'key.pem'), certificate: join(dir, 'cert.pem'), ...extra } },
      {},
    );
    const kbs = await createKbs(config, { storage: new MemoryBackend() });
    try {
      await assert.rejects(listenKbs(kbs), (e: unknown) => (e as { key?: string }).key === key);
    } finally {
      await kbs.close();
    }
  }
});
