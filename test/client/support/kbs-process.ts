/**
 * Runs `bin/kbs` on a free loopback port for end-to-end tests and `bin/kbs-client` against it as a subprocess.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { repoRoot } from '../../support/testdata.js';

export const kbsSkip: false | string = existsSync(join(repoRoot, 'src', 'bin', 'kbs.ts')) ? false : 'src/bin/kbs.ts not written yet';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function healthy(url: string, ca?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const onResponse = (res: http.IncomingMessage) => {
      res.resume();
      resolve(res.statusCode === 200);
    };
    const req = ca ? https.get(`${url}/healthz`, { ca }, onResponse) : http.get(`${url}/healthz`, onResponse);
    req.on('error', () => resolve(false));
  });
}

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** `bin/kbs-client <args>` with a clean environment (PATH, HOME=cwd, plus `env`). */
export function runClient(cwd: string, args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'bin', 'kbs-client'), ...args],
      { cwd, env: { PATH: process.env.PATH ?? '', HOME: cwd, ...env }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, out: stdout, err: stderr });
      },
    );
  });
}

export interface KbsProcess {
  url: string;
  log(): string;
  stop(): void;
}

/**
 * Writes `configToml` (with `{{PORT}}` replaced by a free port) to `<work>/kbs.toml`, starts `bin/kbs` and waits until
 * `/healthz` answers (bounded, so a broken server fails the suite instead of hanging it).
 */
export async function startKbs(
  work: string,
  configToml: string,
  env: Record<string, string> = {},
  tls?: { caPem: string },
): Promise<KbsProcess> {
  const port = await freePort();
  const cfgPath = join(work, 'kbs.toml');
  writeFileSync(cfgPath, configToml.replaceAll('{{PORT}}', String(port)));
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  let log = '';
  const child: ChildProcess = spawn(process.execPath, [join(repoRoot, 'bin', 'kbs'), '--config-file', cfgPath], {
    cwd: work,
    env: { PATH: process.env.PATH ?? '', HOME: work, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (log += c.toString()));
  let exited = false;
  child.on('exit', () => (exited = true));
  const proc: KbsProcess = { url, log: () => log, stop: () => void child.kill('SIGTERM') };
  for (let i = 0; i < 300 && !exited; i++) {
    if (await healthy(url, tls?.caPem)) return proc;
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.stop();
  throw new Error(`bin/kbs did not come up:\n${log.slice(-2000)}`);
}
