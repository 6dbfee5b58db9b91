// Shared launcher: registers tsx so the TypeScript entry points run straight after `npm ci`.
import { register } from 'tsx/esm/api';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';

export async function launch(entry) {
  register();
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const mod = await import(pathToFileURL(join(root, 'src', 'bin', `${entry}.ts`)).href);
  if (typeof mod.main === 'function') {
    const code = await mod.main(process.argv.slice(2));
    if (typeof code === 'number') process.exitCode = code;
  }
}
