/**
 * local-fs take() across processes: two KBS processes sharing one directory race to take the same nonces; every
 * nonce must be taken exactly once (the per-key lock only covers one process; the rename-to-tombstone covers both).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalFsBackend } from '../../src/storage/local-fs.js';

const worker = fileURLToPath(new URL('./fixtures/take-worker.ts', import.meta.url));
const COUNT = 1000;

interface Worker {
  ready: Promise<void>;
  go(): void;
  result: Promise<string[]>;
}

function startWorker(dir: string): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', worker, dir, String(COUNT)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  let onReady!: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    out += c;
    if (out.startsWith('ready\n')) onReady();
  });
  const result = new Promise<string[]>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.slice('ready\n'.length)) as string[]) : reject(new Error(`worker exit ${code}`))));
  });
  return { ready, result, go: () => child.stdin.end('go\n') };
}

test('local-fs: two processes taking the same nonces, each nonce is taken exactly once', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kbt-mp-'));
  try {
    const store = await new LocalFsBackend({ dirPath: dir }).open('nonces');
    for (let i = 0; i < COUNT; i++) await store.set(`n${i}`, Buffer.from(`v${i}`), i % 2 ? { ttlMs: 3_600_000 } : {});
    const workers = [startWorker(dir), startWorker(dir)];
    await Promise.all(workers.map((w) => w.ready));
    for (const w of workers) w.go();
    const [a, b] = await Promise.all(workers.map((w) => w.result));
    const all = [...a!, ...b!].sort();
    const expected = Array.from({ length: COUNT }, (_, i) => `n${i}=v${i}`).sort();
    assert.deepEqual(all, expected, 'every nonce taken once, with its own value, by exactly one process');
    assert.deepEqual(await store.list(), []);
    assert.deepEqual(await readdir(join(dir, 'nonces')), [], 'no tombstones left');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
