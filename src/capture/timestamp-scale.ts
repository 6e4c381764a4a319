// Turning a capture's timestamp units into whole seconds and nanoseconds without losing digits. pcapng
// stores a 64-bit count of units whose size the interface's if_tsresol option sets (RFC draft
// draft-ietf-opsawg-pcapng, "if_tsresol": high bit clear, 10^-n seconds; set, 2^-n; default 10^-6). A
// nanosecond count of today is about 1.8e18, beyond the 2^53 a double holds exactly, so the division
// is done in 16-bit steps (each partial value stays below 2^53) with no BigInt on the common path.
import type { CapturedPacket } from './captured-packet.js';

const TWO_POW_16 = 0x1_0000;
const TWO_POW_32 = 0x1_0000_0000;
const NANOS_PER_SECOND = 1e9;
const TSRESOL_BINARY = 0x80;
const TSRESOL_EXPONENT = 0x7f;

export class TimestampScale {
  /** Units per second when it fits 32 bits (every resolution down to 1 ns or 2^-32 s), else 0. */
  readonly unitsPerSecond: number;
  /** Nanoseconds per unit for decimal resolutions of 1 ns or coarser; 0 for the others. */
  readonly nanosPerUnit: number;
  /** Units per second for resolutions finer than 32 bits hold (picoseconds): the BigInt path. */
  readonly bigUnitsPerSecond: bigint;

  /** Returns null for a resolution no clock has (below 2^-63 or 10^-19 s), which marks a damaged block. */
  static fromTsresol(tsresol: number): TimestampScale | null {
    const exponent = tsresol & TSRESOL_EXPONENT;
    if (tsresol & TSRESOL_BINARY) return exponent > 63 ? null : new TimestampScale(2n ** BigInt(exponent), 0);
    return exponent > 19 ? null : new TimestampScale(10n ** BigInt(exponent), exponent <= 9 ? 10 ** (9 - exponent) : 0);
  }

  private constructor(units: bigint, nanosPerUnit: number) {
    this.bigUnitsPerSecond = units;
    this.unitsPerSecond = units <= BigInt(TWO_POW_32) ? Number(units) : 0;
    this.nanosPerUnit = nanosPerUnit;
  }

  /** Sets packet.seconds and packet.nanos from the 64-bit unit count high * 2^32 + low. */
  apply(high: number, low: number, offsetSeconds: number, packet: CapturedPacket): void {
    const d = this.unitsPerSecond;
    if (d === 0) {
      this.applyBig(high, low, offsetSeconds, packet);
      return;
    }
    // Long division of (high, low-high-16, low-low-16) by d; every partial value is below d * 2^16 <= 2^48.
    const q0 = Math.floor(high / d);
    let rest = high - q0 * d;
    let partial = rest * TWO_POW_16 + (low >>> 16);
    const q1 = Math.floor(partial / d);
    rest = partial - q1 * d;
    partial = rest * TWO_POW_16 + (low & 0xffff);
    const q2 = Math.floor(partial / d);
    rest = partial - q2 * d;
    packet.seconds = q0 * TWO_POW_32 + q1 * TWO_POW_16 + q2 + offsetSeconds;
    // Binary fractions: rest * 1e9 may pass 2^53, so the last nanosecond can be rounded.
    packet.nanos = this.nanosPerUnit !== 0 ? rest * this.nanosPerUnit : Math.floor((rest * NANOS_PER_SECOND) / d);
  }

  private applyBig(high: number, low: number, offsetSeconds: number, packet: CapturedPacket): void {
    const units = (BigInt(high) << 32n) | BigInt(low);
    const d = this.bigUnitsPerSecond;
    packet.seconds = Number(units / d) + offsetSeconds;
    packet.nanos = Number(((units % d) * BigInt(NANOS_PER_SECOND)) / d);
  }
}

/** pcapng's default when an interface has no if_tsresol: microseconds. */
export const MICROSECONDS = TimestampScale.fromTsresol(6)!;
