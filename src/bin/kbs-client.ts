/**
 * `kbs-client`: command-line client for the KBS, with the commands, flags and outputs of Trustee's kbs-client
 * (specs/trustee.md §7.1), plus `keygen` for admin credentials. Results go to stdout, errors to stderr as one line
 * naming the step that failed. Exit codes: 0 success, 1 operation failed, 2 usage error.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import {
  adminConfigSnippet,
  generateAdminCredentials,
  resolveAdminToken,
  writeAdminCredentials,
} from '../client/admin-token.js';
import { detectAttesters } from '../client/attester.js';
import { KbsClientError, reason } from '../client/errors.js';
import { HttpTransport } from '../client/http.js';
import { parseInitData } from '../client/init-data.js';
import { KbsClient } from '../client/kbs-client.js';
import { cannedPolicy, type CannedPolicy } from '../client/policies.js';
import { parseTeeKeyAlgorithm, TEE_KEY_ALGORITHMS, TeeKeyPair } from '../client/tee-key.js';

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  home?: string;
  now: () => Date;
}

interface GlobalOpts {
  url: string;
  certFile?: string;
}

const USAGE = 2;

export async function main(argv: string[]): Promise<number> {
  return run(argv, {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    env: process.env,
    cwd: process.cwd(),
    home: safeHome(),
    now: () => new Date(),
  });
}

function safeHome(): string | undefined {
  try {
    return homedir();
  } catch {
    return undefined;
  }
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are exits with code 0; commander already printed the message for usage errors.
      return e.exitCode === 0 ? 0 : USAGE;
    }
    if (e instanceof KbsClientError) {
      io.stderr(`error: ${e.step}: ${oneLine(e.message)}\n`);
      return e.step === 'input' ? USAGE : 1;
    }
    io.stderr(`error: ${oneLine(reason(e))}\n`);
    return 1;
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}

function readInput(path: string, what: string, cwd: string): Buffer {
  try {
    return readFileSync(resolve(cwd, path));
  } catch (e) {
    throw new KbsClientError('input', 'ERR_INPUT', `cannot read ${what} ${path}: ${reason(e)}`);
  }
}

function buildProgram(io: CliIo): Command {
  const program = new Command('kbs-client');
  program
    .description('A command line client for the Key Broker Service (Trustee kbs-client compatible)')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showSuggestionAfterError(false)
    .option('--url <url>', 'KBS root URL', 'http://127.0.0.1:8080')
    .option('--cert-file <pem>', 'extra trust root for an HTTPS KBS (PEM)');

  const globals = (): GlobalOpts => program.opts<GlobalOpts>();

  const transport = (): HttpTransport => {
    const g = globals();
    const extraCaPem = g.certFile ? [readInput(g.certFile, 'certificate file', io.cwd).toString('utf8')] : undefined;
    return new HttpTransport({ url: g.url, extraCaPem });
  };

  const teeKey = (file: string | undefined, alg: string | undefined): TeeKeyPair => {
    if (file !== undefined) {
      if (alg !== undefined) throw new KbsClientError('input', 'ERR_INPUT', '--tee-key-algorithm and --tee-key-file are exclusive');
      return TeeKeyPair.fromPem(readInput(file, 'TEE key file', io.cwd));
    }
    return TeeKeyPair.generate(alg === undefined ? undefined : parseTeeKeyAlgorithm(alg));
  };

  /** INIT_DATA is the TOML text itself (as Trustee's); `@file` reads it from a file. */
  const initData = (arg: string | undefined) => {
    if (arg === undefined) return undefined;
    const text = arg.startsWith('@') ? readInput(arg.slice(1), 'init-data file', io.cwd).toString('utf8') : arg;
    return parseInitData(text).wire;
  };

  const keyAlgOption = () =>
    new Option('--tee-key-algorithm <alg>', 'algorithm of the generated TEE key').choices([...TEE_KEY_ALGORITHMS]);

  program
    .command('attest')
    .description('Attest (RCAR handshake) and print the attestation token')
    .option('--tee-key-file <pem>', 'TEE private key (RSA PKCS#1 or EC PKCS#8 PEM); default: a fresh EC P-256 key')
    .addOption(keyAlgOption())
    .argument('[INIT_DATA]', 'init-data TOML text (or @file)')
    .action(async (init: string | undefined, opts: { teeKeyFile?: string; teeKeyAlgorithm?: string }) => {
      const client = new KbsClient({
        transport: transport(),
        teeKey: teeKey(opts.teeKeyFile, opts.teeKeyAlgorithm),
        attesters: detectAttesters(io.env),
        initData: initData(init),
      });
      io.stdout(`${await client.handshake()}\n`);
    });

  program
    .command('get-resource')
    .description('Get a resource (RCAR, or passport mode with --attestation-token) and print it as base64')
    .requiredOption('--path <repo/type/tag>', 'resource path')
    .option('--tee-key-file <pem>', 'TEE private key (RSA PKCS#1 or EC PKCS#8 PEM)')
    .option('--attestation-token <file>', 'attestation token file (needs --tee-key-file)')
    .addOption(keyAlgOption())
    .argument('[INIT_DATA]', 'init-data TOML text (or @file)')
    .action(
      async (
        init: string | undefined,
        opts: { path: string; teeKeyFile?: string; attestationToken?: string; teeKeyAlgorithm?: string },
      ) => {
        let token: string | undefined;
        if (opts.attestationToken !== undefined) {
          if (opts.teeKeyFile === undefined) {
            throw new KbsClientError(
              'input',
              'ERR_INPUT',
              '--attestation-token needs --tee-key-file, the key whose public part is the tee-pubkey in the token',
            );
          }
          if (init !== undefined) throw new KbsClientError('input', 'ERR_INPUT', 'INIT_DATA has no effect with --attestation-token');
          token = readInput(opts.attestationToken, 'attestation token file', io.cwd).toString('utf8').trim();
          if (token.length === 0) throw new KbsClientError('input', 'ERR_INPUT', 'attestation token file is empty');
        }
        const client = new KbsClient({
          transport: transport(),
          teeKey: teeKey(opts.teeKeyFile, opts.teeKeyAlgorithm),
          attesters: detectAttesters(io.env),
          initData: initData(init),
          token,
        });
        const content = await client.getResource(opts.path);
        io.stdout(`${content.toString('base64')}\n`);
      },
    );

  const config = program
    .command('config')
    .description('Administer the KBS (policies, resources, reference values)')
    .option('--admin-token-file <file>', 'admin bearer token (default: see docs/kbs-client.md)');

  const adminClient = (): KbsClient => {
    const resolved = resolveAdminToken({
      flag: config.opts<{ adminTokenFile?: string }>().adminTokenFile,
      env: io.env,
      cwd: io.cwd,
      home: io.home,
    });
    return new KbsClient({ transport: transport(), adminToken: resolved?.token });
  };

  config
    .command('set-attestation-policy')
    .description('Set an attestation policy of the AS')
    .requiredOption('--policy-file <file>', 'policy file')
    .option('--type <type>', 'policy type', 'rego')
    .option('--id <id>', 'policy id', 'default_cpu')
    .action(async (opts: { policyFile: string; type: string; id: string }) => {
      const policy = readInput(opts.policyFile, 'policy file', io.cwd);
      await adminClient().setAttestationPolicy(policy, { type: opts.type, id: opts.id });
      io.stdout(`Set attestation policy success \n policy: ${policy.toString('base64')}\n`);
    });

  config
    .command('set-resource-policy')
    .description('Set the resource policy (a file or one of the canned policies)')
    .option('--policy-file <file>', 'Rego policy file')
    .option('--allow-all', 'allow every resource request that carries a valid token')
    .option('--deny-all', 'deny every resource request')
    .option('--affirming', 'allow only when every submodule of the token is affirming')
    .option('--default', 'the KBS default policy (allow unless the evidence is from the sample TEE)')
    .action(
      async (opts: { policyFile?: string; allowAll?: boolean; denyAll?: boolean; affirming?: boolean; default?: boolean }) => {
        const canned: CannedPolicy[] = [];
        if (opts.allowAll) canned.push('allow-all');
        if (opts.denyAll) canned.push('deny-all');
        if (opts.affirming) canned.push('affirming');
        if (opts.default) canned.push('default');
        const chosen = canned.length + (opts.policyFile !== undefined ? 1 : 0);
        if (chosen !== 1) {
          throw new KbsClientError(
            'input',
            'ERR_INPUT',
            'give exactly one of --policy-file, --allow-all, --deny-all, --affirming, --default',
          );
        }
        const policy =
          opts.policyFile !== undefined
            ? readInput(opts.policyFile, 'policy file', io.cwd)
            : Buffer.from(cannedPolicy(canned[0]!), 'utf8');
        await adminClient().setResourcePolicy(policy);
        io.stdout(`Set resource policy success \n policy: ${policy.toString('base64')}\n`);
      },
    );

  config
    .command('set-resource')
    .description('Store a resource')
    .requiredOption('--path <repo/type/tag>', 'resource path')
    .requiredOption('--resource-file <file>', 'file with the resource content')
    .action(async (opts: { path: string; resourceFile: string }) => {
      const content = readInput(opts.resourceFile, 'resource file', io.cwd);
      await adminClient().setResource(opts.path, content);
      io.stdout(`Set resource success \n resource: ${content.toString('base64')}\n`);
    });

  config
    .command('delete-resource')
    .description('Delete a resource')
    .requiredOption('--path <repo/type/tag>', 'resource path')
    .action(async (opts: { path: string }) => {
      await adminClient().deleteResource(opts.path);
      io.stdout('Delete resource success\n');
    });

  config
    .command('get-reference-value')
    .description('Print a reference value stored in the RVPS')
    .requiredOption('--id <id>', 'reference value id')
    .action(async (opts: { id: string }) => {
      const body = await adminClient().getReferenceValue(opts.id);
      io.stdout(`${rustDebugString(body)}\n`);
    });

  config
    .command('set-sample-reference-value')
    .description('Register a reference value through the RVPS sample extractor')
    .argument('<NAME>', 'reference value name')
    .argument('<VALUE>', 'value (a string unless --as-integer or --as-bool)')
    .option('--as-integer', 'parse VALUE as a 32-bit integer')
    .option('--as-bool', 'parse VALUE as true or false')
    .option('--as-single-value', 'store the value itself instead of a one-element list')
    .action(async (name: string, value: string, opts: { asInteger?: boolean; asBool?: boolean; asSingleValue?: boolean }) => {
      const parsed = parseReferenceValue(value, opts);
      await adminClient().setSampleReferenceValue(name, opts.asSingleValue ? parsed : [parsed]);
      io.stdout('Reference Values Updated\n');
    });

  program
    .command('keygen')
    .description('Create an Ed25519 admin key pair and an EdDSA admin token; print the KBS [admin] config')
    .option('--out-dir <dir>', 'where to write admin-key.pem, admin-key.pub.pem and admin-token', '.')
    .option('--issuer <iss>', 'token issuer', 'kbs-client-keygen')
    .option('--audience <aud>', 'token audience', 'keybroker-admin')
    .option('--role <role>', 'token role', 'admin')
    .option('--days <n>', 'token lifetime in days', '365')
    .option('--force', 'replace existing files')
    .action(async (opts: { outDir: string; issuer: string; audience: string; role: string; days: string; force?: boolean }) => {
      if (!/^\d+$/.test(opts.days)) throw new KbsClientError('input', 'ERR_INPUT', '--days must be a positive integer');
      const creds = await generateAdminCredentials({
        issuer: opts.issuer,
        audience: opts.audience,
        role: opts.role,
        days: Number(opts.days),
        now: io.now(),
      });
      const dir = resolve(io.cwd, opts.outDir);
      const files = writeAdminCredentials(dir, creds, opts.force === true);
      io.stdout(
        [
          `# admin private key: ${files.privateKey}`,
          `# admin token:       ${files.token}  (use: kbs-client config --admin-token-file ${files.token} …)`,
          adminConfigSnippet({ issuer: opts.issuer, audience: opts.audience, role: opts.role, publicKeyPath: files.publicKey }),
        ].join('\n'),
      );
    });

  return program;
}

/** Trustee: `--as-integer` → i32, `--as-bool` → bool, else the string. */
export function parseReferenceValue(value: string, opts: { asInteger?: boolean; asBool?: boolean }): string | number | boolean {
  if (opts.asInteger && opts.asBool) throw new KbsClientError('input', 'ERR_INPUT', '--as-integer and --as-bool are exclusive');
  if (opts.asInteger) {
    const n = /^[+-]?\d+$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < -2147483648 || n > 2147483647) {
      throw new KbsClientError('input', 'ERR_INPUT', `VALUE ${JSON.stringify(value)} is not a 32-bit integer`);
    }
    return n;
  }
  if (opts.asBool) {
    if (value === 'true') return true;
    if (value === 'false') return false;
    throw new KbsClientError('input', 'ERR_INPUT', `VALUE ${JSON.stringify(value)} is not true or false`);
  }
  return value;
}

/** The body printed as Rust's `{:?}` of a String does (Trustee prints it that way). */
export function rustDebugString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\0') out += '\\0';
    else if (cp < 0x20 || cp === 0x7f) out += `\\u{${cp.toString(16)}}`;
    else out += ch;
  }
  return out + '"';
}
