/**
 * Locates ../shared/testdata (env KEYBROKER_TESTDATA). Tests that need it call `testdataPath()` and pass
 * `{ skip: testdataSkip() }` to `test()`, so a machine without it prints the reason instead of failing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

export const TESTDATA: string = resolve(process.env.KEYBROKER_TESTDATA ?? join(repoRoot, '..', 'shared', 'testdata'));

export const testdataPresent: boolean = existsSync(join(TESTDATA, 'README.md'));

/** `false` when present, otherwise the reason (node:test prints it as the skip message). */
export function testdataSkip(sub?: string): false | string {
  if (!testdataPresent) return `KEYBROKER_TESTDATA not found at ${TESTDATA}`;
  if (sub && !existsSync(join(TESTDATA, sub))) return `${sub} not found under ${TESTDATA}`;
  return false;
}

export function testdataPath(...parts: string[]): string {
  return join(TESTDATA, ...parts);
}

export function readTestdata(...parts: string[]): Buffer {
  return readFileSync(testdataPath(...parts));
}

export { repoRoot };
