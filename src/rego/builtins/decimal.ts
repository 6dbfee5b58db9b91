/**
 * Exact decimal arithmetic for Rego numbers. OPA keeps numbers as decimal text and computes with big.Int/big.Float,
 * so `0.1 + 0.2` is `0.3` there, not IEEE's 0.30000000000000004. We do the arithmetic on exact decimals
 * (mantissa × 10^exp) and round once when turning the result back into a double.
 */
import { normNum } from '../value.js';

export interface Dec {
  m: bigint;
  e: number;
}

export function toDec(n: number | bigint): Dec {
  if (typeof n === 'bigint') return { m: n, e: 0 };
  if (Number.isInteger(n) && Number.isSafeInteger(n)) return { m: BigInt(n), e: 0 };
  const s = String(n);
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/.exec(s);
  if (!match) throw new RangeError(`not a finite number: ${s}`);
  const frac = match[3] ?? '';
  const m = BigInt((match[1] ?? '') + match[2] + frac);
  return { m, e: Number(match[4] ?? 0) - frac.length };
}

function pow10(k: number): bigint {
  return 10n ** BigInt(k);
}

/** A decimal back to a canonical Rego number: integers exact (bigint when large), others rounded to a double. */
export function fromDec(d: Dec): number | bigint {
  if (d.m === 0n) return 0;
  if (d.e >= 0) {
    if (d.e > 400) return d.m > 0n ? Infinity : -Infinity;
    return normNum(d.m * pow10(d.e));
  }
  const scale = pow10(-d.e);
  if (d.m % scale === 0n) return normNum(d.m / scale);
  return Number(`${d.m}e${d.e}`);
}

function align(a: Dec, b: Dec): [bigint, bigint, number] {
  if (a.e === b.e) return [a.m, b.m, a.e];
  if (a.e > b.e) return [a.m * pow10(a.e - b.e), b.m, b.e];
  return [a.m, b.m * pow10(b.e - a.e), a.e];
}

export function decAdd(a: Dec, b: Dec): Dec {
  const [x, y, e] = align(a, b);
  return { m: x + y, e };
}

export function decSub(a: Dec, b: Dec): Dec {
  const [x, y, e] = align(a, b);
  return { m: x - y, e };
}

export function decMul(a: Dec, b: Dec): Dec {
  return { m: a.m * b.m, e: a.e + b.e };
}

/** Quotient, exact when it terminates within `digits` significant digits, else rounded to that many. */
export function decDiv(a: Dec, b: Dec, digits = 40): Dec {
  // a/b = (a.m / b.m) * 10^(a.e-b.e). Scale a.m up so the integer quotient has enough digits.
  const k = digits + b.m.toString().length - a.m.toString().length + 2;
  const shift = Math.max(k, 0);
  const num = a.m * pow10(shift);
  const q = num / b.m;
  return trim({ m: q, e: a.e - b.e - shift });
}

function trim(d: Dec): Dec {
  let { m, e } = d;
  if (m === 0n) return { m, e: 0 };
  while (m % 10n === 0n) {
    m /= 10n;
    e++;
  }
  return { m, e };
}

/** Whether a number is an integer (bigints always are). */
export function isInt(n: number | bigint): boolean {
  return typeof n === 'bigint' || Number.isInteger(n);
}

export function toBig(n: number | bigint): bigint {
  return typeof n === 'bigint' ? n : BigInt(n);
}

/** Decimal text as OPA prints a number (exact for big integers). */
export function numText(n: number | bigint): string {
  if (typeof n === 'bigint') return n.toString();
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return n.toFixed(0);
  return String(n);
}
