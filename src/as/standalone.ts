/**
 * Start-up helpers shared by the standalone servers (restful-as, grpc-as, rvps): read a config file (JSON, or TOML /
 * YAML by extension), open the storage backend it names.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../util/config-error.js';
import { createStorageBackend, parseStorageBackendConfig } from '../storage/config.js';
import type { StorageBackend } from '../storage/types.js';

export async function readConfigFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new ConfigError('', `cannot read config file ${path}`);
  }
  try {
    if (/\.toml$/i.test(path)) return JSON.parse(JSON.stringify(parseToml(text)));
    if (/\.ya?ml$/i.test(path)) return parseYaml(text) as unknown;
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ConfigError('', `config file ${path} does not parse: ${(e as Error).message}`);
  }
}

export function openStorage(raw: unknown, key: string, dataDir?: string): StorageBackend {
  const cfg = parseStorageBackendConfig(raw, { env: process.env, key });
  return createStorageBackend(cfg, dataDir === undefined ? {} : { dataDir });
}

/** `HOST:PORT` (IPv6 as `[::1]:PORT`). */
export function parseSocket(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(s);
  if (!m) throw new ConfigError('socket', `expected HOST:PORT, got "${s}"`);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError('socket', 'port out of range');
  return { host: (m[1] ?? m[2])!, port };
}

export const consoleLog = {
  info: (m: string) => console.error(`[INFO] ${m}`),
  warn: (m: string) => console.error(`[WARN] ${m}`),
};
