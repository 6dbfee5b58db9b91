/**
 * A configuration problem found at start-up. `key` is the dotted path of the offending key
 * (e.g. `attestation_service.attestation_token_broker.duration_min`) so the message can name it.
 */
export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG';
  constructor(readonly key: string, message: string) {
    super(key ? `config key "${key}": ${message}` : message);
    this.name = 'ConfigError';
  }
}

/** Error for a key that Trustee knows but this build does not implement yet. */
export function notSupportedYet(key: string): ConfigError {
  return new ConfigError(key, 'not supported yet');
}
