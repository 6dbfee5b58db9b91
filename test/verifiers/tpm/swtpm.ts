/**
 * A software TPM for tests: `swtpm socket` on free loopback ports in a temp dir, driven with tpm2-tools through the
 * swtpm TCTI. Only the tests use this; nothing here is trusted by the verifier.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const TOOLS = ['swtpm', 'tpm2_createprimary', 'tpm2_create', 'tpm2_load', 'tpm2_readpublic', 'tpm2_pcrextend', 'tpm2_pcrread', 'tpm2_quote', 'tpm2_sign', 'tpm2_flushcontext'];

/** `false` when swtpm and tpm2-tools are installed, otherwise the reason to skip (printed by node:test). */
export function swtpmSkip(): false | string {
  const missing = TOOLS.filter((t) => spawnSync(t, ['--version'], { stdio: 'ignore' }).error !== undefined);
  return missing.length === 0 ? false : `swtpm/tpm2-tools not installed (missing: ${missing.join(', ')}); apt-get install swtpm swtpm-tools tpm2-tools`;
}

function listen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    s.listen(port, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** Two consecutive free ports (server, control). */
async function freePortPair(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const p = await listen(0);
    if (p !== undefined && p < 65535 && (await listen(p + 1)) !== undefined) return p;
  }
  throw new Error('no free loopback port pair for swtpm');
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}

export interface TpmAk {
  /** Context file of the loaded key. */
  ctx: string;
  /** DER SubjectPublicKeyInfo. */
  spki: Buffer;
}

export interface TpmQuoteFiles {
  /** TPMS_ATTEST bytes. */
  message: Buffer;
  /** Marshalled TPMT_SIGNATURE. */
  signature: Buffer;
}

export class Swtpm {
  private n = 0;

  private constructor(readonly dir: string, private readonly proc: ChildProcess, private readonly port: number) {}

  static async start(): Promise<Swtpm> {
    const dir = mkdtempSync(join(tmpdir(), 'keybroker-swtpm-'));
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePortPair();
      const proc = spawn('swtpm', ['socket', '--tpm2', '--tpmstate', `dir=${dir}`,
        '--server', `type=tcp,port=${port},bindaddr=127.0.0.1`, '--ctrl', `type=tcp,port=${port + 1},bindaddr=127.0.0.1`,
        '--flags', 'not-need-init,startup-clear'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let exited = false;
      proc.once('exit', () => { exited = true; });
      proc.once('error', () => { exited = true; });
      for (let i = 0; i < 100 && !exited; i++) {
        if (await canConnect(port)) return new Swtpm(dir, proc, port);
        await sleep(20);
      }
      proc.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
    throw new Error('swtpm did not start');
  }

  /** Runs one tpm2-tools command, then flushes what it left loaded (there is no resource manager). */
  run(tool: string, args: string[]): Buffer {
    const env = { ...process.env, TPM2TOOLS_TCTI: `swtpm:host=127.0.0.1,port=${this.port}` };
    const out = execFileSync(tool, args, { cwd: this.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    execFileSync('tpm2_flushcontext', ['-t'], { cwd: this.dir, env, stdio: 'ignore' });
    return out;
  }

  private file(stem: string): string {
    return join(this.dir, `${stem}-${++this.n}`);
  }

  /** A primary storage key in the endorsement hierarchy, parent of the AKs. */
  createPrimary(): string {
    const ctx = this.file('primary.ctx');
    this.run('tpm2_createprimary', ['-C', 'e', '-g', 'sha256', '-G', 'rsa', '-c', ctx, '-Q']);
    return ctx;
  }

  /**
   * A restricted signing key (an AK): `rsa2048:rsassa-sha256:null` or `ecc256:ecdsa-sha256:null`. With
   * `restricted = false` an ordinary signing key, which will sign anything, including a forged TPMS_ATTEST.
   */
  createAk(parent: string, alg: string, restricted = true): TpmAk {
    const pub = this.file('ak.pub');
    const priv = this.file('ak.priv');
    const ctx = this.file('ak.ctx');
    const der = this.file('ak.der');
    this.run('tpm2_create', ['-C', parent, '-G', alg, '-a', `fixedtpm|fixedparent|sensitivedataorigin|userwithauth|${restricted ? 'restricted|' : ''}sign`, '-u', pub, '-r', priv, '-Q']);
    this.run('tpm2_load', ['-C', parent, '-u', pub, '-r', priv, '-c', ctx, '-Q']);
    this.run('tpm2_readpublic', ['-c', ctx, '-f', 'der', '-o', der, '-Q']);
    return { ctx, spki: readFileSync(der) };
  }

  extend(pcr: number, sha256: Buffer): void {
    this.run('tpm2_pcrextend', [`${pcr}:sha256=${sha256.toString('hex')}`]);
  }

  /** The SHA-256 bank, PCRs 0..23, as the TPM reports them now. */
  readPcrs(): Buffer[] {
    const out = this.file('pcrs.bin');
    this.run('tpm2_pcrread', [`sha256:${[...Array(24).keys()].join(',')}`, '-o', out]);
    const raw = readFileSync(out);
    if (raw.length !== 24 * 32) throw new Error(`tpm2_pcrread wrote ${raw.length} bytes`);
    return [...Array(24).keys()].map((i) => raw.subarray(i * 32, i * 32 + 32));
  }

  quote(ak: TpmAk, nonce: Buffer, pcrs: number[] = [...Array(24).keys()]): TpmQuoteFiles {
    const m = this.file('quote.msg');
    const s = this.file('quote.sig');
    const o = this.file('quote.pcrs');
    this.run('tpm2_quote', ['-c', ak.ctx, '-l', `sha256:${pcrs.join(',')}`, '-q', nonce.toString('hex'), '-g', 'sha256', '-m', m, '-s', s, '-o', o, '-Q']);
    return { message: readFileSync(m), signature: readFileSync(s) };
  }

  /** TPM2_Sign over arbitrary bytes (a restricted key refuses data that starts with TPM_GENERATED_VALUE). */
  sign(key: TpmAk, data: Buffer): Buffer {
    const m = this.file('sign.in');
    const o = this.file('sign.sig');
    writeFileSync(m, data);
    this.run('tpm2_sign', ['-c', key.ctx, '-g', 'sha256', '-o', o, m]);
    return readFileSync(o);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((resolve) => this.proc.once('exit', resolve));
      this.proc.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
