/** Public surface of the storage library. */
export * from './types.js';
export { parseStorageBackendConfig, parseStorageType, withStorageType, type StorageBackendConfig, type StorageType, type SqlServerConfig, type ParseStorageOptions } from './config.js';
export { createStorageBackend, registerStorageBackend, rebasePath, type BackendContext, type BackendFactory } from './registry.js';
export { isValidKey, validateKey, validateNamespace } from './validate.js';
export { MemoryBackend } from './memory.js';
export { LocalFsBackend } from './local-fs.js';
export { LocalJsonBackend } from './local-json.js';
export { PostgresBackend } from './postgres.js';
export { RedisBackend } from './redis.js';
export { MySqlBackend } from './mysql.js';
