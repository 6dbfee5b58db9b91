/** A real KBS on a loopback port (built-in AS + sample verifier, in-memory storage, temp data dir). */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBackend } from '../../../src/storage/memory.js';
import { parseKbsConfig } from '../../../src/kbs/config.js';
import { createKbs, type CreateKbsOptions, type Kbs } from '../../../src/kbs/bootstrap.js';

export interface TestKbs {
  kbs: Kbs;
  url: string;
  dataDir: string;
  storage: MemoryBackend;
  adminToken: string;
  stop(): Promise<void>;
}

export async function startKbs(raw: Record<string, unknown> = {}, opts: CreateKbsOptions = {}): Promise<TestKbs> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kbs-test-'));
  const config = parseKbsConfig({ data_dir: dataDir, ...raw }, {});
  const storage = new MemoryBackend();
  const kbs = await createKbs(config, { storage, ...opts });
  await kbs.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = kbs.app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const adminToken = kbs.adminTokenPath ? readFileSync(kbs.adminTokenPath, 'utf8').trim() : '';
  return {
    kbs,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    storage,
    adminToken,
    async stop() {
      await kbs.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const b64url = (s: string | Uint8Array) => Buffer.from(s).toString('base64url');
