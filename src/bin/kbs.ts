/**
 * `bin/kbs [-c FILE]`: the Key Broker Service. Config from `-c/--config-file` or env `KBS_CONFIG_FILE`; without
 * either, the safe embedded defaults (docs/config.md). Logs JSON lines (pino) to stdout.
 */
import { Command, CommanderError } from 'commander';
import { pino } from 'pino';
import { ConfigError } from '../util/config-error.js';
import { defaultKbsConfig, loadConfigFile } from '../kbs/config.js';
import { createKbs, listenKbs, KBS_VERSION } from '../kbs/bootstrap.js';

export async function main(argv: string[]): Promise<number | void> {
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
  const logger = pino({ name: 'kbs', level: process.env.KBS_LOG_LEVEL ?? 'info' });
  const log = { info: (m: string) => logger.info(m), warn: (m: string) => logger.warn(m) };
  const file = (program.opts().configFile as string | undefined) ?? process.env.KBS_CONFIG_FILE;
  try {
    const config = file ? loadConfigFile(file) : defaultKbsConfig();
    if (!file) log.info(`no config file: using built-in defaults (data directory ${config.dataDir})`);
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
