/** Type predicates, type_name, to_number and the deprecated cast_* built-ins. */
import { def, typeError, builtinError, RegoObject, RegoSet, typeName, isNumber } from './util.js';
import type { BuiltinDef, Value } from './util.js';
import { parseNumberText } from './numtext.js';

function pred(name: string, f: (v: Value) => boolean): BuiltinDef {
  return def(name, ['any'], 'boolean', (args) => f(args[0]!));
}

function cast(name: string, expected: string, ok: (v: Value) => boolean, conv: (v: Value) => Value = (v) => v): BuiltinDef {
  return def(name, ['any'], 'any', (args) => {
    const v = args[0]!;
    if (!ok(v)) throw typeError(name, 1, expected, v);
    return conv(v);
  });
}

/** Go's strconv.ParseFloat accepts these spellings; OPA then rejects the non-finite ones. */
function toNumber(v: Value): Value {
  if (v === null) return 0;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (isNumber(v)) return v;
  if (typeof v === 'string') {
    const s = v.replace(/_/g, (m) => m); // Go ParseFloat does not accept underscores without a base prefix
    const n = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) ? parseNumberText(s) : undefined;
    if (n === undefined || (typeof n === 'number' && !Number.isFinite(n))) {
      throw builtinError('to_number', `strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
    }
    return n;
  }
  throw typeError('to_number', 1, 'null|boolean|number|string', v);
}

export const TYPE_BUILTINS: BuiltinDef[] = [
  pred('is_number', isNumber),
  pred('is_string', (v) => typeof v === 'string'),
  pred('is_boolean', (v) => typeof v === 'boolean'),
  pred('is_array', (v) => Array.isArray(v)),
  pred('is_set', (v) => v instanceof RegoSet),
  pred('is_object', (v) => v instanceof RegoObject),
  pred('is_null', (v) => v === null),
  def('type_name', ['any'], 'string', (args) => typeName(args[0]!)),
  def('to_number', ['any'], 'number', (args) => toNumber(args[0]!)),
  cast('cast_array', 'array|set', (v) => Array.isArray(v) || v instanceof RegoSet, (v) => (v instanceof RegoSet ? [...v.values()] : v)),
  cast('cast_set', 'array|set', (v) => Array.isArray(v) || v instanceof RegoSet, (v) => (Array.isArray(v) ? new RegoSet(v) : v)),
  cast('cast_string', 'string', (v) => typeof v === 'string'),
  cast('cast_boolean', 'boolean', (v) => typeof v === 'boolean'),
  cast('cast_null', 'null', (v) => v === null),
  cast('cast_object', 'object', (v) => v instanceof RegoObject),
];
