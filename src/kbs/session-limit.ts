/**
 * Cap on live RCAR sessions (security-cases.md #27): counts the sessions this instance created whose lifetime has
 * not ended — how many, and how many bytes they hold in storage — without asking storage (no per-request `list()`
 * of a SQL/Redis namespace). Every session has the same lifetime, so expiry order is creation order and a FIFO of
 * (expiry, size) is enough: O(1) amortised per call. Per instance: N instances on one shared store hold at most
 * N × the caps.
 */
export interface SessionLimits {
  /** Live sessions. */
  maxSessions: number;
  /** Sum of the stored sizes of the live sessions (bytes). */
  maxBytes: number;
}

export class SessionLimiter {
  private readonly expiries: number[] = [];
  private readonly sizes: number[] = [];
  private head = 0;
  private bytes = 0;
  readonly max: number;
  readonly maxBytes: number;

  constructor(limits: number | SessionLimits) {
    const l = typeof limits === 'number' ? { maxSessions: limits, maxBytes: Number.MAX_SAFE_INTEGER } : limits;
    if (!Number.isInteger(l.maxSessions) || l.maxSessions < 1) throw new RangeError('max sessions must be a positive integer');
    if (!Number.isInteger(l.maxBytes) || l.maxBytes < 1) throw new RangeError('max session bytes must be a positive integer');
    this.max = l.maxSessions;
    this.maxBytes = l.maxBytes;
  }

  /** Live sessions at `nowMs` (drops the expired ones first). */
  live(nowMs: number): number {
    while (this.head < this.expiries.length && this.expiries[this.head]! <= nowMs) {
      this.bytes -= this.sizes[this.head]!;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.expiries.length) {
      this.expiries.splice(0, this.head);
      this.sizes.splice(0, this.head);
      this.head = 0;
    }
    return this.expiries.length - this.head;
  }

  /** Bytes held by the live sessions at `nowMs`. */
  liveBytes(nowMs: number): number {
    this.live(nowMs);
    return this.bytes;
  }

  /** Reserve one slot of `size` bytes until `expiresAtMs`; false (nothing reserved) when a cap would be exceeded. */
  tryAcquire(nowMs: number, expiresAtMs: number, size = 0): boolean {
    if (this.live(nowMs) >= this.max || this.bytes + size > this.maxBytes) return false;
    // Keep the FIFO sorted even if the clock stepped back: a slot never expires before an older one.
    const last = this.expiries.length > this.head ? this.expiries[this.expiries.length - 1]! : -Infinity;
    this.expiries.push(Math.max(expiresAtMs, last));
    this.sizes.push(size);
    this.bytes += size;
    return true;
  }

  /** Give back the most recent reservation (its session could not be stored). */
  releaseLast(): void {
    if (this.expiries.length > this.head) {
      this.expiries.pop();
      this.bytes -= this.sizes.pop()!;
    }
  }
}
