/**
 * TCG2 crypto-agile event logs as found in the ACPI CCEL table (TDX) — parse, replay, and Trustee's
 * `uefi_event_logs` claim shape (deps/eventlog). Pure functions over bytes.
 *
 * Layout (TCG PC Client Platform Firmware Profile, §10): a legacy TCG_PCR_EVENT header carrying the
 * TCG_EfiSpecIdEvent (digest sizes per algorithm), then TCG_PCR_EVENT2 entries until an all-0x00 or all-0xFF
 * 8-byte marker or the end of the buffer.
 */
import { createHash } from 'node:crypto';
import { VerificationError } from '../types.js';
import { bytesEqual } from '../../util/bytes.js';

export class EventLogError extends VerificationError {
  constructor(message: string, code = 'ERR_EVENTLOG_FORMAT') {
    super(code, `event log: ${message}`);
    this.name = 'EventLogError';
  }
}

export const EV_NO_ACTION = 0x3;

const EVENT_TYPES: Record<number, string> = {
  0x0: 'EV_PREBOOT_CERT',
  0x1: 'EV_POST_CODE',
  0x2: 'EV_UNUSED',
  0x3: 'EV_NO_ACTION',
  0x4: 'EV_SEPARATOR',
  0x5: 'EV_ACTION',
  0x6: 'EV_EVENT_TAG',
  0x7: 'EV_S_CRTM_CONTENTS',
  0x8: 'EV_S_CRTM_VERSION',
  0x9: 'EV_CPU_MICROCODE',
  0xa: 'EV_PLATFORM_CONFIG_FLAGS',
  0xb: 'EV_TABLE_OF_DEVICES',
  0xc: 'EV_COMPACT_HASH',
  0xd: 'EV_IPL',
  0xe: 'EV_IPL_PARTITION_DATA',
  0xf: 'EV_NONHOST_CODE',
  0x10: 'EV_NONHOST_CONFIG',
  0x11: 'EV_NONHOST_INFO',
  0x12: 'EV_OMIT_BOOT_DEVICE_EVENTS',
  0x13: 'EV_POST_CODE2',
  0x80000000: 'EV_EFI_EVENT_BASE',
  0x80000001: 'EV_EFI_VARIABLE_DRIVER_CONFIG',
  0x80000002: 'EV_EFI_VARIABLE_BOOT',
  0x80000003: 'EV_EFI_BOOT_SERVICES_APPLICATION',
  0x80000004: 'EV_EFI_BOOT_SERVICES_DRIVER',
  0x80000005: 'EV_EFI_RUNTIME_SERVICES_DRIVER',
  0x80000006: 'EV_EFI_GPT_EVENT',
  0x80000007: 'EV_EFI_ACTION',
  0x80000008: 'EV_EFI_PLATFORM_FIRMWARE_BLOB',
  0x80000009: 'EV_EFI_HANDOFF_TABLES',
  0x8000000a: 'EV_EFI_PLATFORM_FIRMWARE_BLOB2',
  0x8000000b: 'EV_EFI_HANDOFF_TABLES2',
  0x8000000c: 'EV_EFI_VARIABLE_BOOT2',
  0x8000000d: 'EV_EFI_GPT_EVENT2',
  0x80000010: 'EV_EFI_HCRTM_EVENT',
  0x800000e0: 'EV_EFI_VARIABLE_AUTHORITY',
  0x800000e1: 'EV_EFI_SPDM_FIRMWARE_BLOB',
  0x800000e2: 'EV_EFI_SPDM_FIRMWARE_CONFIG',
};

/** TCG algorithm registry ids → (name as Trustee prints it, node hash name). */
const ALGS: Record<number, { name: string; hash?: string }> = {
  0x0004: { name: 'SHA-1', hash: 'sha1' },
  0x000b: { name: 'SHA-256', hash: 'sha256' },
  0x000c: { name: 'SHA-384', hash: 'sha384' },
  0x000d: { name: 'SHA-512', hash: 'sha512' },
  0x0012: { name: 'SM3', hash: 'sm3' },
};

export interface EventDigest {
  algId: number;
  digest: Uint8Array;
}

export interface LogEvent {
  /** CC measurement-register index (CCEL: 1..4 = RTMR0..3; 0 = MRTD). */
  index: number;
  type: number;
  digests: EventDigest[];
  data: Uint8Array;
}

export interface EventLog {
  /** algId → digest size, from the Spec ID event. */
  digestSizes: Map<number, number>;
  events: LogEvent[];
}

class Cursor {
  constructor(private readonly b: Uint8Array, public pos = 0) {}
  get remaining(): number {
    return this.b.length - this.pos;
  }
  take(n: number, what: string): Uint8Array {
    if (n < 0 || this.pos + n > this.b.length) throw new EventLogError(`truncated at ${what} (offset ${this.pos})`);
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  u8(what: string): number {
    return this.take(1, what)[0];
  }
  u16(what: string): number {
    const b = this.take(2, what);
    return b[0] | (b[1] << 8);
  }
  u32(what: string): number {
    const b = this.take(4, what);
    return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  }
}

const SPEC_ID_SIGNATURE = 'Spec ID Event03';

export function parseEventLog(bytes: Uint8Array): EventLog {
  const c = new Cursor(bytes);
  // Legacy header: pcrIndex, eventType (EV_NO_ACTION), SHA-1 digest (20), eventSize, TCG_EfiSpecIdEvent.
  c.u32('header.pcr_index');
  const headerType = c.u32('header.event_type');
  if (headerType !== EV_NO_ACTION) throw new EventLogError('first event is not the Spec ID event');
  c.take(20, 'header.digest');
  const spec = new Cursor(c.take(c.u32('header.event_size'), 'header.event'));
  const sig = Buffer.from(spec.take(16, 'spec.signature')).toString('latin1').replace(/\0+$/, '');
  if (sig !== SPEC_ID_SIGNATURE) throw new EventLogError(`Spec ID signature "${sig}" is not "${SPEC_ID_SIGNATURE}"`);
  spec.take(4 + 4, 'spec.platform_class+version'); // platformClass u32, minor, major, errata, uintnSize
  const n = spec.u32('spec.number_of_algorithms');
  if (n === 0 || n > 16) throw new EventLogError(`Spec ID event lists ${n} algorithms`);
  const digestSizes = new Map<number, number>();
  for (let i = 0; i < n; i++) digestSizes.set(spec.u16('spec.alg_id'), spec.u16('spec.digest_size'));

  const events: LogEvent[] = [];
  while (c.remaining >= 8) {
    const marker = bytes.subarray(c.pos, c.pos + 8);
    if (marker.every((b) => b === 0) || marker.every((b) => b === 0xff)) break;
    const index = c.u32('event.index');
    const type = c.u32('event.type');
    const count = c.u32('event.digest_count');
    if (count > 16) throw new EventLogError(`event lists ${count} digests`);
    const digests: EventDigest[] = [];
    for (let i = 0; i < count; i++) {
      const algId = c.u16('event.alg_id');
      const size = digestSizes.get(algId);
      if (size === undefined) throw new EventLogError(`digest algorithm 0x${algId.toString(16)} not declared in the Spec ID event`);
      digests.push({ algId, digest: c.take(size, 'event.digest') });
    }
    const data = c.take(c.u32('event.size'), 'event.data');
    events.push({ index, type, digests, data });
  }
  return { digestSizes, events };
}

/** Replays one algorithm's digests per MR index: acc = H(acc ‖ digest) from zeros; EV_NO_ACTION is skipped. */
export function replay(log: EventLog, algId: number): Map<number, Uint8Array> {
  const alg = ALGS[algId];
  const size = log.digestSizes.get(algId);
  if (!alg?.hash || size === undefined) throw new EventLogError(`cannot replay algorithm 0x${algId.toString(16)}`);
  const acc = new Map<number, Uint8Array>();
  for (const e of log.events) {
    if (e.type === EV_NO_ACTION) continue;
    const d = e.digests.find((x) => x.algId === algId);
    if (!d) continue;
    const prev = acc.get(e.index) ?? new Uint8Array(size);
    acc.set(e.index, new Uint8Array(createHash(alg.hash).update(prev).update(d.digest).digest()));
  }
  return acc;
}

export const TPM_ALG_SHA384 = 0x000c;

/**
 * TDX: CCEL index 1..4 replayed with SHA-384 must equal RTMR0..3. Throws naming the first register that differs
 * (with the computed value, which is public) — Trustee `test_rtmr_integrity`.
 */
export function checkRtmrs(log: EventLog, rtmrs: readonly Uint8Array[]): void {
  const acc = replay(log, TPM_ALG_SHA384);
  for (let i = 0; i < 4; i++) {
    const got = acc.get(i + 1) ?? new Uint8Array(48);
    if (!Buffer.from(got).equals(Buffer.from(rtmrs[i]))) {
      throw new EventLogError(`RTMR${i} mismatch: event log replays to ${Buffer.from(got).toString('hex')}`, 'ERR_EVENTLOG_RTMR_MISMATCH');
    }
  }
}

export function eventTypeName(type: number): string {
  return EVENT_TYPES[type] ?? `EV_UNKNOWN_0x${type.toString(16)}`;
}

export function algName(algId: number): string {
  return ALGS[algId]?.name ?? `0x${algId.toString(16).padStart(4, '0')}`;
}

/** Whether some digest of the event equals the hash of its data (Trustee `digest_matches_event`). */
export function digestMatchesEvent(e: LogEvent): boolean {
  return e.digests.some((d) => {
    const h = ALGS[d.algId]?.hash;
    if (!h) return false;
    try {
      return bytesEqual(createHash(h).update(e.data).digest(), d.digest);
    } catch {
      return false;
    }
  });
}
