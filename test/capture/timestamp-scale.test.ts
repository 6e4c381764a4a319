// The 16-bit long division that turns pcapng timestamp units into seconds and nanoseconds, checked
// against BigInt arithmetic for every resolution a clock can have.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CapturedPacket } from '../../src/capture/captured-packet.js';
import { TimestampScale } from '../../src/capture/timestamp-scale.js';
import { seededRandom } from '../support/seeded-random.js';

function packet(): CapturedPacket {
  return { bytes: new Uint8Array(0), ipOffset: -1, ipLength: 0, family: 0, seconds: 0, nanos: 0, interfaceId: 0, index: 0, fileOffset: 0 };
}

function expected(high: number, low: number, unitsPerSecond: bigint): { seconds: number; nanos: number } {
  const units = (BigInt(high) << 32n) | BigInt(low);
  return { seconds: Number(units / unitsPerSecond), nanos: Number(((units % unitsPerSecond) * 1_000_000_000n) / unitsPerSecond) };
}

test('decimal resolutions 10^0 .. 10^-19 are exact', () => {
  const next = seededRandom(1);
  for (let exponent = 0; exponent <= 19; exponent++) {
    const scale = TimestampScale.fromTsresol(exponent)!;
    for (let i = 0; i < 2000; i++) {
      const high = i === 0 ? 0xffffffff : next();
      const low = i === 0 ? 0xffffffff : next();
      const p = packet();
      scale.apply(high, low, 0, p);
      const want = expected(high, low, 10n ** BigInt(exponent));
      // seconds beyond 2^53 (only at 10^0 with huge high words) cannot be exact in a double.
      if (want.seconds <= Number.MAX_SAFE_INTEGER) assert.equal(p.seconds, want.seconds, `10^-${exponent} ${high} ${low}`);
      assert.equal(p.nanos, want.nanos, `10^-${exponent} ${high} ${low}`);
    }
  }
});

test('binary resolutions 2^0 .. 2^-63 are within a nanosecond', () => {
  const next = seededRandom(2);
  for (let exponent = 0; exponent <= 63; exponent++) {
    const scale = TimestampScale.fromTsresol(0x80 | exponent)!;
    for (let i = 0; i < 500; i++) {
      const high = next() >>> (exponent < 20 ? 12 : 0);
      const low = next();
      const p = packet();
      scale.apply(high, low, 0, p);
      const want = expected(high, low, 2n ** BigInt(exponent));
      assert.equal(p.seconds, want.seconds, `2^-${exponent}`);
      assert.ok(Math.abs(p.nanos - want.nanos) <= 1, `2^-${exponent}: ${p.nanos} vs ${want.nanos}`);
    }
  }
});

test('the offset adds whole seconds; impossible resolutions are refused', () => {
  const p = packet();
  TimestampScale.fromTsresol(9)!.apply(0, 1_500_000_000, 1796532043, p);
  assert.deepEqual([p.seconds, p.nanos], [1796532044, 500_000_000]);
  assert.equal(TimestampScale.fromTsresol(20), null);
  assert.equal(TimestampScale.fromTsresol(0x80 | 64), null);
});
