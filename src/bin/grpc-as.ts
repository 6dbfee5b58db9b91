/**
 * grpc-as: the Attestation Service over gRPC (specs/trustee.md §3.3).
 *   grpc-as --config-file as.json [--socket 127.0.0.1:3000] [-t cert.pem -k key.pem]
 * Not yet: Trustee's HTTP/1 `GET /.well-known/jwks.json` on the same port (use restful-as or the KBS for the JWKS).
 */
import { readFile } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { Command } from 'commander';
import { parseAsConfig } from '../as/config.js';
import { createBuiltinAttestationService } from '../as/builtin.js';
import { createGrpcAsServer } from '../as/grpc.js';
import { consoleLog, openStorage, parseSocket, readConfigFile } from '../as/standalone.js';
import { listenGrpc } from '../rvps/grpc-server.js';
import { ConfigError } from '../util/config-error.js';

export async function main(argv: string[]): Promise<number | void> {
  const program = new Command('grpc-as')
    .option('-c, --config-file <path>', 'AS config file (JSON)')
    .option('-s, --socket <host:port>', 'listen address', '127.0.0.1:3000')
    .option('-t, --https-pubkey-cert <path>', 'TLS certificate (PEM)')
    .option('-k, --https-prikey <path>', 'TLS private key (PEM)')
    .exitOverride();
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    return (e as { exitCode?: number }).exitCode ?? 2;
  }
  const o = program.opts<{ configFile?: string; socket: string; httpsPubkeyCert?: string; httpsPrikey?: string }>();
  try {
    const raw = o.configFile === undefined ? {} : await readConfigFile(o.configFile);
    const config = parseAsConfig(raw, '');
    parseSocket(o.socket);
    if ((o.httpsPubkeyCert === undefined) !== (o.httpsPrikey === undefined)) throw new ConfigError('tls', '-t and -k must be given together');
    const storage = openStorage(config.storageBackend, 'storage_backend', config.workDir);
    const as = await createBuiltinAttestationService({ config, storage, log: consoleLog, ...(config.workDir !== undefined ? { dataDir: config.workDir } : {}) });
    const creds =
      o.httpsPubkeyCert !== undefined
        ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: await readFile(o.httpsPubkeyCert), private_key: await readFile(o.httpsPrikey!) }], false)
        : grpc.ServerCredentials.createInsecure();
    const running = await listenGrpc(createGrpcAsServer(as, consoleLog), o.socket, creds);
    consoleLog.info(`grpc-as listening on ${o.socket} (port ${running.port})`);
  } catch (e) {
    console.error(e instanceof ConfigError ? `configuration error: ${e.message}` : `grpc-as failed to start: ${(e as Error).message}`);
    return 1;
  }
}
