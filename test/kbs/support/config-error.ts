/** The ConfigError `parseKbsConfig(raw)` throws; fails the test when it does not throw one. */
import assert from 'node:assert/strict';
import { parseKbsConfig } from '../../../src/kbs/config.js';
import { ConfigError } from '../../../src/util/config-error.js';

export function configErrorOf(raw: unknown): ConfigError {
  try {
    parseKbsConfig(raw, {});
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  assert.fail('expected a ConfigError');
}
