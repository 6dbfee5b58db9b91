/**
 * `npm run bench`: raw crypto baselines, then every component benchmark that exists, each printed with medians,
 * p99 and its ratio to the crypto it cannot avoid, measured in the same run.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';
import { benchCrypto } from './crypto.js';
import { printSamples } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);

const baseline = await benchCrypto();
printSamples('raw crypto (node:crypto, this machine, this run)', Object.values(baseline));

/** Component benchmarks: module file → exported function taking the baseline and printing its own section. */
const components: [string, string][] = [
  ['rego.ts', 'benchRego'],
  ['verifiers.ts', 'benchVerifiers'],
  ['kbs.ts', 'benchKbs'],
  ['rvps.ts', 'benchRvps'],
];
for (const [file, fn] of components) {
  const name = file.replace(/\.ts$/, '');
  if (only.length && !only.includes(name)) continue;
  const path = join(here, file);
  if (!existsSync(path)) continue;
  const mod = (await import(path)) as Record<string, (b: typeof baseline) => Promise<unknown>>;
  const f = mod[fn];
  if (typeof f !== 'function') {
    console.log(`\n## ${name}: ${file} does not export ${fn}`);
    continue;
  }
  await f(baseline);
}
