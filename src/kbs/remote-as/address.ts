/**
 * `[attestation_service] as_addr` for `coco_as_grpc` (specs/trustee.md §3.3, §6.1): `http://host:port` (plaintext
 * gRPC) or `https://host:port` (TLS, server checked against Node's trusted roots). Parsed once at config time so a
 * typo stops start-up naming the key instead of failing every attestation later.
 */
import { isIP } from 'node:net';

export interface AsAddress {
  tls: boolean;
  host: string;
  port: number;
  /** gRPC target (`host:port`, IPv6 in brackets). */
  target: string;
  /** The address as configured, for logs. */
  text: string;
}

export const DEFAULT_AS_ADDR = 'http://127.0.0.1:50004';
/** `pool_size`: channels to the AS, each its own connection (Trustee's mobc pool default is 100). */
export const DEFAULT_AS_POOL_SIZE = 100;
export const MAX_AS_POOL_SIZE = 1000;

const ADDR = /^(https?):\/\/(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)):(\d{1,5})\/?$/;

/** Throws a plain Error saying what is wrong; the config parser names the key. */
export function parseAsAddress(text: string): AsAddress {
  const m = ADDR.exec(text);
  if (!m) throw new Error(`"${text.slice(0, 200)}" is not http://host:port or https://host:port`);
  const v6 = m[2];
  const host = v6 ?? m[3]!;
  if (v6 !== undefined && isIP(v6) !== 6) throw new Error(`"${text.slice(0, 200)}" has an invalid IPv6 address`);
  const port = Number(m[4]);
  if (port < 1 || port > 65535) throw new Error(`port out of range in "${text.slice(0, 200)}"`);
  return { tls: m[1] === 'https', host, port, target: v6 !== undefined ? `[${v6}]:${port}` : `${host}:${port}`, text };
}
