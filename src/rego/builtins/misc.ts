/** opa.runtime, trace, rand.intn, and the network built-ins (refused: Keybroker policies never reach the network). */
import { createHash } from 'node:crypto';
import { def, asString, asNumber, BuiltinError, RegoObject } from './util.js';
import type { BuiltinDef } from './util.js';

export const MISC_BUILTINS: BuiltinDef[] = [
  def('opa.runtime', [], 'object', () => RegoObject.EMPTY),
  def('trace', ['string'], 'boolean', (args) => {
    asString('trace', args, 0);
    return true;
  }),
  def(
    'rand.intn',
    ['string', 'number'],
    'number',
    (args, ctx) => {
      const key = asString('rand.intn', args, 0);
      const n = asNumber('rand.intn', args, 1);
      if (typeof n === 'number' && !Number.isInteger(n)) throw new BuiltinError('rand.intn: operand 2 must be an integer');
      let bound = typeof n === 'bigint' ? n : BigInt(n);
      if (bound < 0n) bound = -bound;
      if (bound === 0n) return 0;
      const cacheKey = `rand.intn\u0000${key}\u0000${bound}`;
      const hit = ctx.cache.get(cacheKey);
      if (typeof hit === 'number') return hit;
      const h = createHash('sha256').update(`rand.intn\u0000${ctx.seed}\u0000${key}\u0000${bound}`).digest();
      const r = Number(h.readBigUInt64BE(0) % bound);
      ctx.cache.set(cacheKey, r);
      return r;
    },
    { nondeterministic: true },
  ),
  def(
    'http.send',
    ['object'],
    'object',
    () => {
      throw new BuiltinError('http.send: network access disabled');
    },
    { network: true },
  ),
];
