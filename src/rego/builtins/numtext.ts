/** Decimal number text → canonical Rego number (integers exact, e.g. "-42.0" → -42, "1e3" → 1000). */
import { fromDec } from './decimal.js';

const NUM = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

export function parseNumberText(s: string): number | bigint | undefined {
  const m = NUM.exec(s);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
  const frac = m[3] ?? '';
  const exp = Number(m[4] ?? 0);
  if (!Number.isFinite(exp) || Math.abs(exp) > 100_000) return Number(s);
  const mant = BigInt((m[1] === '-' ? '-' : '') + (m[2] || '0') + frac);
  return fromDec({ m: mant, e: exp - frac.length });
}
