/**
 * Crash-safe file replacement: write a temp file in the same directory, fsync it, rename (or link) it over the
 * target, fsync the directory. After a crash the target holds its old or its new content, never a torn one.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, link, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Temp names use `+`, which is outside the key alphabet, so they can never be mistaken for a key. */
export const TEMP_PREFIX = '+tmp.';

export function tempName(): string {
  return TEMP_PREFIX + randomBytes(12).toString('hex');
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function writeTemp(dir: string, chunks: readonly Uint8Array[]): Promise<string> {
  const tmp = join(dir, tempName());
  const fh = await open(tmp, 'wx', 0o600);
  try {
    for (const c of chunks) if (c.length > 0) await fh.write(c);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  return tmp;
}

/** Replace `dir/name` with the concatenation of `chunks`. Does not fsync the directory (callers batch that). */
export async function replaceFile(dir: string, name: string, chunks: readonly Uint8Array[]): Promise<void> {
  const tmp = await writeTemp(dir, chunks);
  try {
    await rename(tmp, join(dir, name));
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

/**
 * Create `dir/name` only if it does not exist (link(2) fails with EEXIST atomically, even across processes).
 * Returns false when it already existed.
 */
export async function createFileExclusive(dir: string, name: string, chunks: readonly Uint8Array[]): Promise<boolean> {
  const tmp = await writeTemp(dir, chunks);
  try {
    await link(tmp, join(dir, name));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tmp).catch(() => {});
  }
}
