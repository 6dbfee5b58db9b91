/**
 * restful-as: the Attestation Service over HTTP (specs/trustee.md §3.2).
 *   restful-as --config-file as.json --socket 127.0.0.1:8080 [-t cert.pem -k key.pem]
 */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import Fastify, { type FastifyInstance } from 'fastify';
import { parseAsConfig } from '../as/config.js';
import { createBuiltinAttestationService } from '../as/builtin.js';
import { registerRestfulAsRoutes } from '../as/restful.js';
import { consoleLog, openStorage, parseSocket, readConfigFile } from '../as/standalone.js';
import { ConfigError } from '../util/config-error.js';

export async function main(argv: string[]): Promise<number | void> {
  const program = new Command('restful-as')
    .option('-c, --config-file <path>', 'AS config file (JSON)')
    .requiredOption('-s, --socket <host:port>', 'listen address')
    .option('-t, --https-pubkey-cert <path>', 'HTTPS certificate (PEM)')
    .option('-k, --https-prikey <path>', 'HTTPS private key (PEM)')
    .option('-r, --allowed_origin <origin...>', 'CORS allowed origins')
    .exitOverride();
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    return (e as { exitCode?: number }).exitCode ?? 2;
  }
  const o = program.opts<{ configFile?: string; socket: string; httpsPubkeyCert?: string; httpsPrikey?: string; allowed_origin?: string[] }>();
  try {
    const raw = o.configFile === undefined ? {} : await readConfigFile(o.configFile);
    const config = parseAsConfig(raw, '');
    const { host, port } = parseSocket(o.socket);
    if ((o.httpsPubkeyCert === undefined) !== (o.httpsPrikey === undefined)) throw new ConfigError('https', '-t and -k must be given together');
    const storage = openStorage(config.storageBackend, 'storage_backend', config.workDir);
    const as = await createBuiltinAttestationService({ config, storage, log: consoleLog, ...(config.workDir !== undefined ? { dataDir: config.workDir } : {}) });
    const https = o.httpsPubkeyCert !== undefined ? { cert: await readFile(o.httpsPubkeyCert), key: await readFile(o.httpsPrikey!) } : null;
    const app = (https ? Fastify({ https, bodyLimit: 8 << 20 }) : Fastify({ bodyLimit: 8 << 20 })) as unknown as FastifyInstance;
    const origins = (o.allowed_origin ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
    if (origins.length > 0) {
      app.addHook('onRequest', async (req, reply) => {
        const origin = req.headers.origin;
        if (origin !== undefined && origins.includes(origin)) {
          reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
          reply.header('access-control-allow-methods', 'GET, POST, OPTIONS').header('access-control-allow-headers', 'content-type');
        }
        if (req.method === 'OPTIONS') return reply.code(204).send();
      });
    }
    registerRestfulAsRoutes(app, as, { log: consoleLog });
    if (!['127.0.0.1', 'localhost', '::1'].includes(host)) consoleLog.warn('restful-as has no authentication: POST /policy is open to anyone who can reach this address');
    await app.listen({ host, port });
    consoleLog.info(`restful-as listening on ${https ? 'https' : 'http'}://${o.socket}`);
  } catch (e) {
    console.error(e instanceof ConfigError ? `configuration error: ${e.message}` : `restful-as failed to start: ${(e as Error).message}`);
    return 1;
  }
}
