/**
 * `bin/kbs [-c FILE]`: the Key Broker Service. Config from `-c/--config-file` or env `KBS_CONFIG_FILE`; without
 * either, the safe embedded defaults (docs/config.md). Logs JSON lines (pino) to stdout.
 *
 * `[http_server] worker_count` = N > 1: this process becomes a node:cluster primary that validates the config, does
 * the one-time start-up work, and forks N workers serving the same sockets (src/kbs/cluster/). Each worker runs this
 * same entry point and lands in `runWorker`.
 */
import cluster from 'node:cluster';
import { Command, CommanderError } from 'commander';
import { pino } from 'pino';
import { ConfigError } from '../util/config-error.js';
import { defaultKbsConfig, type KbsConfig } from '../kbs/config.js';
import { createKbs, listenKbs, KBS_VERSION } from '../kbs/bootstrap.js';
import { checkWorkerStorage, prepareSharedState, readConfigFile } from '../kbs/cluster/requirements.js';

export async function main(argv: string[]): Promise<number | void> {
  const level = process.env.KBS_LOG_LEVEL ?? 'info';
  if (cluster.isWorker) {
    const { runWorker } = await import('../kbs/cluster/worker.js');
    return runWorker(pino({ name: 'kbs', level }));
  }
  const program = new Command('kbs')
    .description('Keybroker KBS (Trustee KBS protocol 0.4.0)')
    .version(KBS_VERSION)
    .option('-c, --config-file <file>', 'KBS config file (.toml, .yaml, .json); default: env KBS_CONFIG_FILE, else built-in defaults')
    .exitOverride();
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    throw e;
  }
  const logger = pino({ name: 'kbs', level });
  const log = { info: (m: string) => logger.info(m), warn: (m: string) => logger.warn(m) };
  const file = (program.opts().configFile as string | undefined) ?? process.env.KBS_CONFIG_FILE;
  try {
    let config: KbsConfig;
    let text = '';
    if (file) ({ config, text } = readConfigFile(file));
    else {
      config = defaultKbsConfig();
      log.info(`no config file: using built-in defaults (data directory ${config.dataDir})`);
    }
    const workers = config.httpServer.workerCount ?? 1;
    if (file && workers > 1) return await runCluster(config, { text, file }, workers, logger);
    const kbs = await createKbs(config, { log, logger });
    if (kbs.adminTokenPath) log.info(`admin token: ${kbs.adminTokenPath}`);
    const addrs = await listenKbs(kbs);
    log.info(`KBS listening on ${addrs.join(', ')}`);
    const stop = async (sig: string) => {
      log.info(`${sig}: shutting down`);
      await kbs.close();
      process.exit(0);
    };
    process.once('SIGINT', () => void stop('SIGINT'));
    process.once('SIGTERM', () => void stop('SIGTERM'));
  } catch (e) {
    if (e instanceof ConfigError) {
      logger.error(`configuration error: ${e.message}`);
      return 2;
    }
    logger.error({ err: { message: (e as Error).message, code: (e as { code?: string }).code } }, 'start-up failed');
    return 1;
  }
}

/** The primary of a multi-process KBS: everything that may fail on the config fails here, before any fork. */
async function runCluster(config: KbsConfig, source: { text: string; file: string }, workers: number, base: pino.Logger): Promise<number> {
  const logger = base.child({ worker: 0 });
  const log = { info: (m: string) => logger.info(m), warn: (m: string) => logger.warn(m), error: (m: string) => logger.error(m) };
  checkWorkerStorage(config);
  for (const w of config.warnings) log.warn(w);
  const shared = prepareSharedState(config, new Date(), log);
  if (shared.adminTokenPath) log.info(`admin token: ${shared.adminTokenPath}`);
  log.info(`starting ${workers} workers`);
  const { runPrimary } = await import('../kbs/cluster/primary.js');
  const code = await runPrimary({ workerCount: workers, config: source, log });
  log.info(`all workers stopped (exit ${code})`);
  return code;
}
