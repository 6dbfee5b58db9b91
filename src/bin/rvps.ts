/**
 * rvps: the Reference Value Provider Service over gRPC (`reference.proto`, specs/trustee.md §5).
 *   rvps [--config <file>] [--address 127.0.0.1:50003]
 * Config (JSON, TOML or YAML): `{"storage": <storage_backend block>, "extractors": {"swid_extractor": {}}}`.
 */
import { Command } from 'commander';
import { Rvps } from '../rvps/index.js';
import { startRvpsGrpcServer } from '../rvps/grpc-server.js';
import { consoleLog, openStorage, parseSocket, readConfigFile } from '../as/standalone.js';
import { ConfigError } from '../util/config-error.js';

export function parseRvpsConfig(raw: unknown): { storage: unknown } {
  if (raw === undefined) return { storage: undefined };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError('', 'RVPS config must be a table');
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'storage' && k !== 'extractors') throw new ConfigError(k, 'unknown key');
  if (o.extractors !== undefined) {
    if (o.extractors === null || typeof o.extractors !== 'object' || Array.isArray(o.extractors)) throw new ConfigError('extractors', 'must be a table');
    for (const k of Object.keys(o.extractors)) if (k !== 'swid_extractor') throw new ConfigError(`extractors.${k}`, 'unknown extractor');
  }
  return { storage: o.storage };
}

export async function main(argv: string[]): Promise<number | void> {
  const program = new Command('rvps')
    .option('-c, --config <path>', 'RVPS config file')
    .option('-a, --address <host:port>', 'listen address', '127.0.0.1:50003')
    .exitOverride();
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    return (e as { exitCode?: number }).exitCode ?? 2;
  }
  const o = program.opts<{ config?: string; address: string }>();
  try {
    const cfg = parseRvpsConfig(o.config === undefined ? undefined : await readConfigFile(o.config));
    parseSocket(o.address);
    const rvps = await Rvps.open(openStorage(cfg.storage, 'storage'));
    const running = await startRvpsGrpcServer(rvps, o.address, consoleLog);
    consoleLog.info(`rvps listening on ${o.address} (port ${running.port})`);
  } catch (e) {
    console.error(e instanceof ConfigError ? `configuration error: ${e.message}` : `rvps failed to start: ${(e as Error).message}`);
    return 1;
  }
}
