/** Digests and HMACs over the UTF-8 bytes of strings, hex-encoded as OPA returns them. */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { def, asString } from './util.js';
import type { BuiltinDef } from './util.js';
import { stringToBytes } from './bytes.js';

function digest(name: string, alg: string): BuiltinDef {
  return def(name, ['string'], 'string', (args) => createHash(alg).update(stringToBytes(asString(name, args, 0))).digest('hex'));
}

function hmac(name: string, alg: string): BuiltinDef {
  return def(name, ['string', 'string'], 'string', (args) =>
    createHmac(alg, stringToBytes(asString(name, args, 1))).update(stringToBytes(asString(name, args, 0))).digest('hex'),
  );
}

export const CRYPTO_BUILTINS: BuiltinDef[] = [
  digest('crypto.md5', 'md5'),
  digest('crypto.sha1', 'sha1'),
  digest('crypto.sha256', 'sha256'),
  hmac('crypto.hmac.md5', 'md5'),
  hmac('crypto.hmac.sha1', 'sha1'),
  hmac('crypto.hmac.sha256', 'sha256'),
  hmac('crypto.hmac.sha512', 'sha512'),
  def('crypto.hmac.equal', ['string', 'string'], 'boolean', (args) => {
    const a = stringToBytes(asString('crypto.hmac.equal', args, 0));
    const b = stringToBytes(asString('crypto.hmac.equal', args, 1));
    // Constant time in the contents (hmac.Equal); lengths are not secret.
    return a.length === b.length && timingSafeEqual(a, b);
  }),
];
