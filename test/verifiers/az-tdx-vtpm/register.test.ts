import { test } from 'node:test';
import assert from 'node:assert/strict';
import { registeredTees, verifierFactory } from '../../../src/verifiers/index.js';
import { AzTdxVtpmVerifier } from '../../../src/verifiers/az-tdx-vtpm/verifier.js';
import { ConfigError } from '../../../src/util/config-error.js';

test('az-tdx-vtpm is registered and built from verifier_config.dcap_verifier', async () => {
  assert.ok(registeredTees().includes('az-tdx-vtpm'));
  const factory = verifierFactory('az-tdx-vtpm');
  assert.ok(factory);
  assert.ok((await factory({ config: {} })) instanceof AzTdxVtpmVerifier);
  // A typo in the shared DCAP settings is refused rather than silently ignored.
  assert.throws(() => factory({ config: { dcap_verifier: { insecure_allow_missing_crl: true } } }), ConfigError);
});
