/**
 * local-fs crash safety: a child process writes a stream of self-checking values (plain and TTL'd, up to 512 KiB)
 * and is killed with SIGKILL mid-stream, several times over the same directory. Afterwards every key must hold a
 * complete value, and it must be the last acknowledged one or the one that was in flight — never torn, never older.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalFsBackend } from '../../src/storage/local-fs.js';
import { CRASH_KEYS, checkCrashValue, keyFor } from './fixtures/crash-values.js';

const writer = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));
const K = CRASH_KEYS.length;

/** Runs the writer from `start`, kills it as write number `killAfter` begins; returns the highest acknowledged seq. */
function runAndKill(dir: string, start: number, killAfter: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, dir, String(start)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let acked = start - 1;
    let count = 0;
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const m = /^(ack|begin) (\d+)$/.exec(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (m?.[1] === 'ack') acked = Number(m[2]);
        else if (m?.[1] === 'begin' && ++count === killAfter) child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer exited on its own (code ${code})`));
      else resolve(acked);
    });
  });
}

test('local-fs: SIGKILL during a stream of writes leaves every key with a complete old or new value', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kbt-crash-'));
  try {
    let next = 0;
    const lastAcked = new Map<string, number>();
    // Eight kills at varying points (each as a write begins, with keys cycling plain/TTL'd values of varying size).
    for (const killAfter of [K + 1, K + 2, K + 3, K + 4, 2 * K + 1, K + 7, K + 5, 2 * K + 3]) {
      const acked = await runAndKill(dir, next, killAfter);
      assert.ok(acked >= next + K - 1, 'every key was written at least once this round');
      for (let s = next; s <= acked; s++) lastAcked.set(keyFor(s), s);

      const store = await new LocalFsBackend({ dirPath: dir }).open('crash');
      for (const key of CRASH_KEYS) {
        const v = await store.get(key);
        assert.ok(v, `${key} lost its value`);
        const r = checkCrashValue(v);
        assert.ok('seq' in r, `${key}: torn value: ${'error' in r ? r.error : ''}`);
        const acc = lastAcked.get(key)!;
        // One write in flight at a time: the key holds its last acknowledged value or the next one written to it.
        assert.ok(r.seq === acc || r.seq === acc + K, `${key}: holds seq ${r.seq}, last acked ${acc}`);
        lastAcked.set(key, r.seq);
      }
      assert.deepEqual(await store.list(), [...CRASH_KEYS].sort(), 'temp files and tombstones never show up as keys');
      next = acked + 1;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
