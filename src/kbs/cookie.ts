/** The RCAR session cookie (specs/trustee.md §2.6): `kbs-session-id=<id>; Expires=<date>` and nothing else. */
import { SESSION_COOKIE } from './session.js';

export function sessionCookie(id: string, expires: Date): string {
  return `${SESSION_COOKIE}=${id}; Expires=${expires.toUTCString()}`;
}

export function sessionIdFromCookieHeader(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}
