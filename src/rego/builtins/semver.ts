/** semver.is_valid / semver.compare (Semantic Versioning 2.0.0, no leading "v"). */
import { def, asString, builtinError } from './util.js';
import type { BuiltinDef } from './util.js';

const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

interface Version {
  core: [bigint, bigint, bigint];
  pre: string[];
}

export function parseSemver(s: string): Version | undefined {
  const m = SEMVER.exec(s);
  if (!m) return undefined;
  return { core: [BigInt(m[1]!), BigInt(m[2]!), BigInt(m[3]!)], pre: m[4] ? m[4].split('.') : [] };
}

function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareSemver(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) {
    const c = cmpBig(a.core[i]!, b.core[i]!);
    if (c) return c;
  }
  // A version without pre-release identifiers has higher precedence.
  if (a.pre.length === 0 || b.pre.length === 0) return a.pre.length === b.pre.length ? 0 : a.pre.length === 0 ? 1 : -1;
  for (let i = 0; i < Math.min(a.pre.length, b.pre.length); i++) {
    const x = a.pre[i]!;
    const y = b.pre[i]!;
    const xn = /^\d+$/.test(x);
    const yn = /^\d+$/.test(y);
    let c: number;
    if (xn && yn) c = cmpBig(BigInt(x), BigInt(y));
    else if (xn) c = -1;
    else if (yn) c = 1;
    else c = x < y ? -1 : x > y ? 1 : 0;
    if (c) return c;
  }
  return Math.sign(a.pre.length - b.pre.length);
}

export const SEMVER_BUILTINS: BuiltinDef[] = [
  def('semver.is_valid', ['any'], 'boolean', (args) => typeof args[0] === 'string' && parseSemver(args[0]) !== undefined),
  def('semver.compare', ['string', 'string'], 'number', (args) => {
    const parsed = [0, 1].map((i) => {
      const s = asString('semver.compare', args, i);
      const v = parseSemver(s);
      if (!v) throw builtinError('semver.compare', `operand ${i + 1}: string ${JSON.stringify(s)} is not a valid SemVer`);
      return v;
    });
    return compareSemver(parsed[0]!, parsed[1]!);
  }),
];
