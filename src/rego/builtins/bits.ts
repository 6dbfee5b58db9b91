/** Bitwise operations on integers (big-integer exact, two's complement as Go's big.Int). */
import { def, asInteger, BuiltinTypeError, BuiltinError } from './util.js';
import type { BuiltinDef, Value } from './util.js';
import { normNum } from '../value.js';

function bin(name: string, f: (a: bigint, b: bigint) => bigint): BuiltinDef {
  return def(name, ['number', 'number'], 'number', (args: Value[]) => normNum(f(asInteger(name, args, 0), asInteger(name, args, 1))));
}

function unsigned(name: string): BuiltinTypeError {
  return new BuiltinTypeError(`${name}: operand 2 must be an unsigned integer number but got a negative integer`);
}

export const BITS_BUILTINS: BuiltinDef[] = [
  bin('bits.and', (a, b) => a & b),
  bin('bits.or', (a, b) => a | b),
  bin('bits.xor', (a, b) => a ^ b),
  def('bits.negate', ['number'], 'number', (args) => normNum(~asInteger('bits.negate', args, 0))),
  bin('bits.lsh', (a, b) => {
    if (b < 0n) throw unsigned('bits.lsh');
    // Bound the result size: a policy must not be able to allocate gigabytes with one shift.
    if (b > 65_536n) throw new BuiltinError('bits.lsh: shift too large');
    return a << b;
  }),
  bin('bits.rsh', (a, b) => {
    if (b < 0n) throw unsigned('bits.rsh');
    return a >> b;
  }),
];
