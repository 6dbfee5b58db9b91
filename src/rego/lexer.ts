/** Rego tokenizer: identifiers, numbers, strings (escaped and raw), operators, and significant newlines. */
import { RegoError, type Location } from './errors.js';

export type TokKind = 'ident' | 'number' | 'string' | 'op' | 'nl' | 'eof';

export interface Token {
  kind: TokKind;
  text: string;
  /** For strings: the decoded value. */
  value?: string;
  loc: Location;
  /** Whitespace (not newline) directly precedes this token. */
  spaceBefore: boolean;
}

const OPS3 = new Set<string>();
const OPS2 = new Set([':=', '==', '!=', '<=', '>=']);
const OPS1 = new Set(['{', '}', '[', ']', '(', ')', '.', ',', ';', ':', '=', '<', '>', '+', '-', '*', '/', '%', '&', '|']);

function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}
function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

export interface Comment {
  row: number;
  col: number;
  /** Text after the '#'. */
  text: string;
}

export function tokenize(src: string, file: string, comments?: Comment[]): Token[] {
  const out: Token[] = [];
  let i = 0;
  let row = 1;
  let lineStart = 0;
  let space = false;
  const loc = (at: number): Location => ({ file, row, col: at - lineStart + 1 });
  const err = (at: number, msg: string): never => {
    throw new RegoError('rego_parse_error', msg, loc(at));
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\n') {
      out.push({ kind: 'nl', text: '\n', loc: loc(i), spaceBefore: space });
      i++;
      row++;
      lineStart = i;
      space = false;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      space = true;
      continue;
    }
    if (c === '#') {
      const start = i;
      while (i < src.length && src[i] !== '\n') i++;
      comments?.push({ row, col: start - lineStart + 1, text: src.slice(start + 1, i) });
      continue;
    }
    const start = i;
    if (isIdentStart(c)) {
      while (i < src.length && (isIdentStart(src[i]!) || isDigit(src[i]!))) i++;
      out.push({ kind: 'ident', text: src.slice(start, i), loc: loc(start), spaceBefore: space });
    } else if (isDigit(c) || (c === '.' && isDigit(src[i + 1] ?? ''))) {
      while (i < src.length && isDigit(src[i]!)) i++;
      if (src[i] === '.' && isDigit(src[i + 1] ?? '')) {
        i++;
        while (i < src.length && isDigit(src[i]!)) i++;
      }
      if (src[i] === 'e' || src[i] === 'E') {
        let j = i + 1;
        if (src[j] === '+' || src[j] === '-') j++;
        if (isDigit(src[j] ?? '')) {
          i = j;
          while (i < src.length && isDigit(src[i]!)) i++;
        }
      }
      if (i < src.length && isIdentStart(src[i]!)) err(start, `invalid number literal "${src.slice(start, i + 1)}"`);
      out.push({ kind: 'number', text: src.slice(start, i), loc: loc(start), spaceBefore: space });
    } else if (c === '"') {
      i++;
      let s = '';
      for (;;) {
        if (i >= src.length || src[i] === '\n') err(start, 'non-terminated string');
        const d = src[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\') {
          const e = src[i + 1];
          i += 2;
          switch (e) {
            case '"': s += '"'; break;
            case '\\': s += '\\'; break;
            case '/': s += '/'; break;
            case 'b': s += '\b'; break;
            case 'f': s += '\f'; break;
            case 'n': s += '\n'; break;
            case 'r': s += '\r'; break;
            case 't': s += '\t'; break;
            case 'u': {
              const hex = src.slice(i, i + 4);
              if (!/^[0-9a-fA-F]{4}$/.test(hex)) err(i - 2, 'invalid \\u escape in string');
              s += String.fromCharCode(parseInt(hex, 16));
              i += 4;
              break;
            }
            default:
              err(i - 2, `invalid escape sequence "\\${e ?? ''}" in string`);
          }
          continue;
        }
        s += d;
        i++;
      }
      out.push({ kind: 'string', text: src.slice(start, i), value: s, loc: loc(start), spaceBefore: space });
    } else if (c === '`') {
      const startRow = row;
      const startCol = start - lineStart + 1;
      i++;
      while (i < src.length && src[i] !== '`') {
        if (src[i] === '\n') {
          row++;
          lineStart = i + 1;
        }
        i++;
      }
      if (i >= src.length) throw new RegoError('rego_parse_error', 'non-terminated raw string', { file, row: startRow, col: startCol });
      i++;
      out.push({ kind: 'string', text: src.slice(start, i), value: src.slice(start + 1, i - 1), loc: { file, row: startRow, col: startCol }, spaceBefore: space });
    } else {
      const two = src.slice(i, i + 2);
      if (OPS3.has(src.slice(i, i + 3))) {
        i += 3;
      } else if (OPS2.has(two)) {
        i += 2;
      } else if (OPS1.has(c)) {
        i += 1;
      } else {
        err(start, `unexpected character ${JSON.stringify(c)}`);
      }
      out.push({ kind: 'op', text: src.slice(start, i), loc: loc(start), spaceBefore: space });
    }
    space = false;
  }
  out.push({ kind: 'eof', text: '', loc: loc(i), spaceBefore: space });
  return out;
}
