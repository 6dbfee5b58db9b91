/**
 * JSON text → Rego value, keeping integers exact (JSON.parse would round big integers) and reporting errors in the
 * words of Go's encoding/json, which OPA's messages carry.
 */
import { RegoObject } from '../value.js';
import type { Value } from '../value.js';
import { parseNumberText } from './numtext.js';

export class JsonSyntaxError extends Error {}

function describe(c: string): string {
  if (c === "'") return `'\\''`;
  if (c === '"') return `'"'`;
  const cp = c.codePointAt(0)!;
  if (cp < 0x20) return `'\\x${cp.toString(16).padStart(2, '0')}'`;
  return `'${c}'`;
}

export function parseJson(text: string): Value {
  let i = 0;
  const n = text.length;
  const ws = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const eof = () => new JsonSyntaxError('unexpected end of JSON input');
  const bad = (context: string) => new JsonSyntaxError(`invalid character ${describe(String.fromCodePoint(text.codePointAt(i)!))} ${context}`);

  const value = (depth: number): Value => {
    if (depth > 10_000) throw new JsonSyntaxError('exceeded max depth');
    ws();
    if (i >= n) throw eof();
    const c = text[i]!;
    if (c === '{') {
      i++;
      const entries: [Value, Value][] = [];
      ws();
      if (text[i] === '}') {
        i++;
        return new RegoObject(entries);
      }
      for (;;) {
        ws();
        if (i >= n) throw eof();
        if (text[i] !== '"') throw bad('looking for beginning of object key string');
        const k = str();
        ws();
        if (i >= n) throw eof();
        if (text[i] !== ':') throw bad('after object key');
        i++;
        entries.push([k, value(depth + 1)]);
        ws();
        if (i >= n) throw eof();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return new RegoObject(entries);
        }
        throw bad('after object key:value pair');
      }
    }
    if (c === '[') {
      i++;
      const out: Value[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return out;
      }
      for (;;) {
        out.push(value(depth + 1));
        ws();
        if (i >= n) throw eof();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return out;
        }
        throw bad('after array element');
      }
    }
    if (c === '"') return str();
    if (c === '-' || (c >= '0' && c <= '9')) {
      const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i));
      if (!m) {
        i++;
        if (i >= n) throw eof();
        throw bad('in numeric literal');
      }
      i += m[0].length;
      return parseNumberText(m[0])!;
    }
    for (const [lit, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return v;
      }
      if (lit.startsWith(text.slice(i)) && text.slice(i).length < lit.length) throw eof();
    }
    throw bad('looking for beginning of value');
  };

  const str = (): string => {
    i++; // opening quote
    let out = '';
    for (;;) {
      if (i >= n) throw eof();
      const c = text[i]!;
      if (c === '"') {
        i++;
        return out;
      }
      if (c === '\\') {
        i++;
        if (i >= n) throw eof();
        const e = text[i]!;
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e in simple) {
          out += simple[e];
          i++;
          continue;
        }
        if (e === 'u') {
          const hex = text.slice(i + 1, i + 5);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new JsonSyntaxError('invalid character in \\u hexadecimal character escape');
          out += String.fromCharCode(parseInt(hex, 16));
          i += 5;
          continue;
        }
        throw bad('in string escape code');
      }
      if (c.charCodeAt(0) < 0x20) throw bad('in string literal');
      out += c;
      i++;
    }
  };

  const v = value(0);
  ws();
  if (i < n) throw bad('after top-level value');
  return v;
}
