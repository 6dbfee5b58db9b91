/**
 * `verify-evidence`: verify one piece of TEE evidence with the built-in verifiers and print the claims.
 *   bin/verify-evidence --tee snp --evidence evidence.json [--report-data HEX] [--init-data-digest HEX]
 *     [--now RFC3339] [--trust-anchors DIR] [--offline] [--collateral FILE] [--config FILE] [--vcek FILE] [--cache-dir DIR]
 * Accepted: claims JSON on stdout, exit 0. Rejected: one line on stderr, exit 1. Usage/config errors: exit 2.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import '../verifiers/index.js';
import { registeredTees, verifierFactory } from '../verifiers/index.js';
import { VerificationError, type Json, type JsonObject, type VerifierContext } from '../verifiers/types.js';
import { ConfigError } from '../util/config-error.js';
import { parseAmdCert, pemToDers } from '../verifiers/snp/certs.js';
import { REPORT_SIZE } from '../verifiers/snp/layout.js';

interface Flags {
  tee: string;
  evidence: string;
  reportData?: string;
  initDataDigest?: string;
  now?: string;
  trustAnchors?: string;
  offline?: boolean;
  collateral?: string;
  config?: string;
  vcek?: string;
  cacheDir?: string;
}

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

class UsageError extends Error {}

function hexArg(v: string | undefined, name: string): Uint8Array | undefined {
  if (v === undefined) return undefined;
  if (!/^([0-9a-fA-F]{2})+$/.test(v)) throw new UsageError(`${name} must be an even number of hex digits`);
  return new Uint8Array(Buffer.from(v, 'hex'));
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads the evidence file: JSON as is; for snp a raw 1184-byte report; for tdx/sgx a raw quote. */
export function loadEvidence(tee: string, bytes: Uint8Array, vcek?: Uint8Array): Json {
  const text = Buffer.from(bytes).toString('utf8');
  let evidence: Json;
  if (/^\s*[{[]/.test(text)) {
    try {
      evidence = JSON.parse(text) as Json;
    } catch {
      throw new UsageError('evidence file is not valid JSON');
    }
  } else if (tee === 'snp' && bytes.length === REPORT_SIZE) {
    evidence = { attestation_report: Buffer.from(bytes).toString('base64'), cert_chain: null };
  } else if (tee === 'tdx' || tee === 'sgx') {
    evidence = { quote: Buffer.from(bytes).toString('base64') };
  } else {
    throw new UsageError(`evidence file is neither JSON nor a raw ${tee} report`);
  }
  if (vcek) {
    if (tee !== 'snp' || !isObject(evidence)) throw new UsageError('--vcek applies to snp evidence only');
    const kind = parseAmdCert(vcek, '--vcek').subjectCN === 'SEV-VLEK' ? 'VLEK' : 'VCEK';
    const prior = Array.isArray(evidence.cert_chain) ? evidence.cert_chain.filter((e) => !(isObject(e) && (e.cert_type === 'VCEK' || e.cert_type === 'VLEK'))) : [];
    evidence = { ...evidence, cert_chain: [...prior, { cert_type: kind, data: [...vcek] }] };
  }
  return evidence;
}

function readCertFile(path: string): Uint8Array {
  const raw = new Uint8Array(readFileSync(path));
  const text = Buffer.from(raw).toString('latin1');
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    const ders = pemToDers(text);
    if (ders.length === 0) throw new UsageError(`${path}: no certificate`);
    return ders[0];
  }
  return raw;
}

function buildConfig(flags: Flags): JsonObject {
  let config: JsonObject = {};
  if (flags.config) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(flags.config, 'utf8'));
    } catch (e) {
      throw new UsageError(`--config ${flags.config}: ${(e as Error).message}`);
    }
    if (!isObject(parsed)) throw new UsageError('--config must hold a JSON object (verifier_config)');
    config = isObject(parsed.verifier_config) ? parsed.verifier_config : parsed;
  }
  const section = (k: string): JsonObject => {
    const cur = config[k];
    const obj: JsonObject = isObject(cur) ? { ...cur } : {};
    config = { ...config, [k]: obj };
    return obj;
  };
  if (flags.trustAnchors) section('snp_verifier').trust_anchors_dir = resolve(flags.trustAnchors);
  if (flags.offline) {
    // Offline, AMD's CRL cannot be fetched: revocation becomes a warning unless the config says otherwise.
    const snp = section('snp_verifier');
    if (snp.crl === undefined) snp.crl = 'best-effort';
  }
  if (flags.collateral) section('dcap_verifier').collateral_service = `file://${resolve(flags.collateral)}`;
  return config;
}

const httpFetch: NonNullable<VerifierContext['fetch']> = async (url, init) => {
  const res = await fetch(url, { headers: init?.headers, signal: AbortSignal.timeout(20_000) });
  return { status: res.status, headers: res.headers, body: new Uint8Array(await res.arrayBuffer()) };
};

async function run(flags: Flags, io: Io): Promise<number> {
  const factory = verifierFactory(flags.tee);
  if (!factory) throw new UsageError(`unknown --tee "${flags.tee}" (known: ${registeredTees().join(', ')})`);
  let now = new Date();
  if (flags.now !== undefined) {
    now = new Date(flags.now);
    if (!/^\d{4}-\d\d-\d\dT/.test(flags.now) || Number.isNaN(now.getTime())) throw new UsageError('--now must be an RFC 3339 date-time');
  }
  const expectedReportData = hexArg(flags.reportData, '--report-data');
  const expectedInitDataHash = hexArg(flags.initDataDigest, '--init-data-digest');
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(flags.evidence));
  } catch (e) {
    throw new UsageError(`--evidence ${flags.evidence}: ${(e as Error).message}`);
  }
  const evidence = loadEvidence(flags.tee, bytes, flags.vcek ? readCertFile(flags.vcek) : undefined);
  const ctx: VerifierContext = {
    config: buildConfig(flags),
    ...(flags.cacheDir ? { cacheDir: resolve(flags.cacheDir) } : {}),
    ...(flags.offline ? {} : { fetch: httpFetch }),
    log: { warn: (m) => io.stderr(`warning: ${m}`), info: () => {} },
  };
  const verifier = await factory(ctx);
  const claims = await verifier.verify({
    evidence,
    now,
    ...(expectedReportData ? { expectedReportData } : {}),
    ...(expectedInitDataHash ? { expectedInitDataHash } : {}),
  });
  io.stdout(JSON.stringify(claims, null, 2));
  return 0;
}

const defaultIo: Io = { stdout: (s) => process.stdout.write(`${s}\n`), stderr: (s) => process.stderr.write(`${s}\n`) };

export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  const program = new Command('verify-evidence')
    .description('Verify TEE evidence with the built-in verifiers and print the claims')
    .requiredOption('--tee <tee>', 'TEE name (snp, tdx, sgx, …)')
    .requiredOption('--evidence <file>', 'evidence JSON, or a raw report/quote')
    .option('--report-data <hex>', 'expected report data (runtime-data digest)')
    .option('--init-data-digest <hex>', 'expected init-data digest')
    .option('--now <rfc3339>', 'verification time (default: the current time)')
    .option('--trust-anchors <dir>', 'snp_verifier.trust_anchors_dir')
    .option('--offline', 'no network; revocation that cannot be checked offline is a warning')
    .option('--collateral <file>', 'dcap_verifier.collateral_service = file://FILE')
    .option('--config <file>', 'JSON verifier_config')
    .option('--vcek <file>', 'snp: VCEK/VLEK certificate (DER or PEM) to add to the evidence')
    .option('--cache-dir <dir>', 'cache directory for downloaded trust anchors, VCEKs and CRLs')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s.trimEnd()), writeErr: (s) => io.stderr(s.trimEnd()) });
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  try {
    return await run(program.opts<Flags>(), io);
  } catch (e) {
    if (e instanceof VerificationError) {
      io.stderr(`verify-evidence: rejected (${e.code}): ${e.message}`);
      return 1;
    }
    if (e instanceof UsageError || e instanceof ConfigError) {
      io.stderr(`verify-evidence: ${e.message}`);
      return 2;
    }
    io.stderr(`verify-evidence: rejected: ${(e as Error).message ?? String(e)}`);
    return 1;
  }
}
