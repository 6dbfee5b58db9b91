/**
 * Trustee's `uefi_event_logs` claim: one object per event with `index`, `type_name`, `digests`, `event` (base64),
 * `digest_matches_event` and type-specific `details` (strings, EFI variables, device paths, AAEL tagged events).
 * Decoding here is best-effort display only: nothing in it is trusted beyond what the RTMR replay proves.
 */
import type { Json, JsonObject } from '../types.js';
import { algName, digestMatchesEvent, eventTypeName, type EventLog, type LogEvent } from './ccel.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Lossy = new TextDecoder('utf-8');
const utf16 = new TextDecoder('utf-16le');

/** Text up to the first NUL (EV_IPL, EV_EFI_ACTION, tagged-event strings). */
function cString(b: Uint8Array): string {
  const end = b.indexOf(0);
  return utf8Lossy.decode(end < 0 ? b : b.subarray(0, end));
}

/**
 * EV_IPL: grub / shim log UTF-8 text; systemd-stub logs its PE section names (".linux", ".cmdline", …) as
 * UTF-16LE, which Trustee prints without the leading dot (testdata CCEL_data_grub_gke).
 */
function iplString(b: Uint8Array): string {
  if (b.length >= 4 && b.length % 2 === 0 && b[0] !== 0 && b[1] === 0) {
    const s = utf16.decode(b);
    const end = s.indexOf('\0');
    return (end < 0 ? s : s.slice(0, end)).replace(/^\./, '');
  }
  return cString(b);
}

/** Whole buffer as UTF-8, runs of control characters collapsed to one space (EV_PLATFORM_CONFIG_FLAGS). */
function printable(b: Uint8Array): string {
  let s: string;
  try {
    s = utf8.decode(b);
  } catch {
    return '';
  }
  return s
    .split(/[\u0000-\u001f\u007f]+/)
    .filter((x) => x.length > 0)
    .join(' ');
}

function rawGuid(b: Uint8Array): string {
  const h = Buffer.from(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** EFI_GUID in registry form (first three fields little-endian), uppercase as UEFI prints it. */
function efiGuid(b: Uint8Array): string {
  const d = Buffer.from(b);
  const h = (x: Buffer) => x.toString('hex').toUpperCase();
  return `${h(Buffer.from(d.subarray(0, 4)).reverse())}-${h(Buffer.from(d.subarray(4, 6)).reverse())}-${h(Buffer.from(d.subarray(6, 8)).reverse())}-${h(d.subarray(8, 10))}-${h(d.subarray(10, 16))}`;
}

const u32 = (b: Uint8Array, o: number) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).readUInt32LE(o);
const u64 = (b: Uint8Array, o: number) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).readBigUInt64LE(o);

function efiVariable(d: Uint8Array): JsonObject | undefined {
  if (d.length < 32) return undefined;
  const nameLen = Number(u64(d, 16));
  const dataLen = Number(u64(d, 24));
  if (32 + nameLen * 2 + dataLen > d.length) return undefined;
  const name = utf16.decode(d.subarray(32, 32 + nameLen * 2));
  const data = d.subarray(32 + nameLen * 2, 32 + nameLen * 2 + dataLen);
  return {
    unicode_name: name,
    unicode_name_length: nameLen,
    variable_data: Buffer.from(data).toString('base64'),
    variable_data_length: dataLen,
    variable_name: rawGuid(d.subarray(0, 16)),
  };
}

function eisaId(id: number): string {
  const c = (n: number) => String.fromCharCode(0x40 + (n & 0x1f));
  const vendor = c(id >> 10) + c(id >> 5) + c(id);
  return `${vendor}${((id >>> 16) & 0xffff).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** UEFI device path nodes → text, as Trustee's boot_services_app parser prints them. */
function devicePaths(p: Uint8Array): string[] {
  const out: string[] = [];
  let i = 0;
  while (i + 4 <= p.length) {
    const type = p[i];
    const sub = p[i + 1];
    const len = p[i + 2] | (p[i + 3] << 8);
    if (len < 4 || i + len > p.length) break;
    const d = p.subarray(i + 4, i + len);
    i += len;
    if (type === 0x7f) {
      if (sub === 0xff) break;
      continue;
    }
    if (type === 2 && sub === 1 && d.length >= 8) out.push(`ACPI(${eisaId(u32(d, 0))},${u32(d, 4)})`);
    else if (type === 1 && sub === 1 && d.length >= 2) out.push(`Pci(${d[0]},${d[1]})`);
    else if (type === 4 && sub === 1 && d.length >= 38) {
      const fmt = d[36] === 2 ? 'GPT' : d[36] === 1 ? 'MBR' : String(d[36]);
      const sig = d[37] === 2 ? efiGuid(d.subarray(20, 36)) : Buffer.from(d.subarray(20, 24)).toString('hex');
      out.push(`HD(${u32(d, 0)},${fmt},${sig},0x${u64(d, 4).toString(16)},0x${u64(d, 12).toString(16)})`);
    } else if (type === 4 && sub === 4) out.push(`File(${utf16.decode(d).replace(/\0+$/, '')})`);
    else if (type === 4 && sub === 3 && d.length >= 16) out.push(`VenMedia(${efiGuid(d.subarray(0, 16))},${Buffer.from(d.subarray(16)).toString('hex')})`);
    else out.push(`Path(${type},${sub},${Buffer.from(d).toString('hex')})`);
  }
  return out;
}

const AAEL_TAG = 0x4141454c; // "AAEL"

function eventTag(d: Uint8Array): JsonObject {
  if (d.length < 8) return {};
  const id = u32(d, 0);
  const size = u32(d, 4);
  const data = d.subarray(8, 8 + size);
  if (id !== AAEL_TAG) return { string: cString(data) };
  const s = utf8Lossy.decode(data);
  const [domain = '', operation = '', ...rest] = s.split(' ');
  const contentText = rest.join(' ');
  let content: Json = contentText;
  try {
    content = JSON.parse(contentText) as Json;
  } catch {
    content = contentText;
  }
  return { data: { domain, operation, content }, string: s, unicode_name: 'AAEL' };
}

function details(e: LogEvent): JsonObject {
  const d = e.data;
  switch (eventTypeName(e.type)) {
    case 'EV_IPL':
      return { string: iplString(d) };
    case 'EV_EFI_ACTION':
    case 'EV_ACTION':
      return { string: cString(d) };
    case 'EV_POST_CODE':
    case 'EV_PLATFORM_CONFIG_FLAGS':
      return { string: printable(d) };
    case 'EV_EFI_PLATFORM_FIRMWARE_BLOB2':
    case 'EV_EFI_HANDOFF_TABLES2':
      return d.length >= 1 ? { string: cString(d.subarray(1, 1 + d[0])) } : {};
    case 'EV_EFI_VARIABLE_DRIVER_CONFIG':
    case 'EV_EFI_VARIABLE_BOOT':
    case 'EV_EFI_VARIABLE_BOOT2':
    case 'EV_EFI_VARIABLE_AUTHORITY':
      return efiVariable(d) ?? {};
    case 'EV_EFI_BOOT_SERVICES_APPLICATION':
    case 'EV_EFI_BOOT_SERVICES_DRIVER':
    case 'EV_EFI_RUNTIME_SERVICES_DRIVER': {
      if (d.length < 32) return {};
      const len = Number(u64(d, 24));
      if (len === 0 || 32 + len > d.length) return {};
      return { device_paths: devicePaths(d.subarray(32, 32 + len)) };
    }
    case 'EV_EVENT_TAG':
      return eventTag(d);
    default:
      return {};
  }
}

export function uefiEventLogsClaim(log: EventLog): Json[] {
  return log.events.map((e) => ({
    details: details(e),
    digest_matches_event: digestMatchesEvent(e),
    digests: e.digests.map((x) => ({ alg: algName(x.algId), digest: Buffer.from(x.digest).toString('hex') })),
    event: Buffer.from(e.data).toString('base64'),
    index: e.index,
    type_name: eventTypeName(e.type),
  }));
}
