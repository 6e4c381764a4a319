// Incremental checksum updates: bit-for-bit against a model of the kernel's arithmetic (x86-64,
// little-endian), and correct against a full recomputation at both alignments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  addWords,
  checksumApplyDifference,
  checksumReplace16,
  checksumReplace16AtOdd,
  checksumReplace32,
  foldChecksum,
  headerChecksumReplace16,
} from '../../src/packet/checksum.js';

const SEED = 0x6d7373;
const swap = (v: number): number => ((v & 0xff) << 8) | (v >>> 8);

/** inet_proto_csum_replace4(sum, skb, from, to, false) for a skb that is not CHECKSUM_PARTIAL, on a
 * little-endian machine: 16-bit network-order fields are seen as byte-swapped integers in memory. */
function kernelReplace4(check: number, from32Memory: number, to32Memory: number): number {
  const init = ~swap(check) >>> 0; // ~csum_unfold(*sum)
  let sum = init + (~from32Memory >>> 0) + to32Memory; // csum_partial over { ~from, to }
  while (sum > 0xffffffff) sum = (sum % 0x100000000) + Math.floor(sum / 0x100000000);
  let s = (sum & 0xffff) + (sum >>> 16); // csum_fold
  s = (s & 0xffff) + (s >>> 16);
  return swap(~s & 0xffff);
}
/** inet_proto_csum_replace2: the __be16 values zero-extended to __be32 (bytes [hi lo 0 0] in memory). */
function kernelReplace2(check: number, from: number, to: number): number {
  return kernelReplace4(check, swap(from), swap(to));
}
/** csum_replace2: ~csum16_add(csum16_sub(~sum, old), new) in memory order. */
function kernelCsumReplace2(check: number, from: number, to: number): number {
  const add = (a: number, b: number): number => {
    const r = (a + b) & 0xffff;
    return (r + (r < b ? 1 : 0)) & 0xffff;
  };
  return swap(~add(add(~swap(check) & 0xffff, ~swap(from) & 0xffff), swap(to)) & 0xffff);
}

const u16 = fc.integer({ min: 0, max: 0xffff });
const corner = fc.constantFrom(0, 1, 0xfffe, 0xffff, 0x8000, 0x00ff, 0xff00);
const value16 = fc.oneof(u16, corner);

test('checksumReplace16 equals inet_proto_csum_replace2 bit for bit, 0x0000/0xffff corners included', () => {
  for (const c of [0, 0xffff, 1, 0xfffe]) {
    for (const f of [0, 0xffff, 1]) {
      for (const t of [0, 0xffff, 1]) assert.equal(checksumReplace16(c, f, t), kernelReplace2(c, f, t), `${c} ${f} ${t}`);
    }
  }
  fc.assert(
    fc.property(value16, value16, value16, (c, f, t) => checksumReplace16(c, f, t) === kernelReplace2(c, f, t)),
    { seed: SEED, numRuns: 20000 },
  );
});

test('checksumReplace32 equals inet_proto_csum_replace4 bit for bit', () => {
  fc.assert(
    fc.property(value16, value16, value16, value16, value16, (c, fh, fl, th, tl) => {
      const from = ((fh << 16) | fl) >>> 0;
      const to = ((th << 16) | tl) >>> 0;
      // Memory order of a __be32 on little-endian: the two swapped halves, low address first.
      const mem = (hi: number, lo: number): number => ((swap(lo) << 16) | swap(hi)) >>> 0;
      return checksumReplace32(c, from, to) === kernelReplace4(c, mem(fh, fl), mem(th, tl));
    }),
    { seed: SEED, numRuns: 20000 },
  );
});

test('headerChecksumReplace16 equals csum_replace2 bit for bit', () => {
  assert.equal(headerChecksumReplace16(0xffff, 0xffff, 0), kernelCsumReplace2(0xffff, 0xffff, 0));
  assert.equal(headerChecksumReplace16(0xffff, 0xffff, 0), 0xffff);
  fc.assert(
    fc.property(value16, value16, value16, (c, f, t) => headerChecksumReplace16(c, f, t) === kernelCsumReplace2(c, f, t)),
    { seed: SEED, numRuns: 20000 },
  );
});

/** The MSS insertion's one update, as src/packet/rewrite.ts insertMssOption builds its difference. */
function insertUpdate(check: number, tcpLength: number, value: number, offsetWord: number): number {
  const grown = offsetWord + 0x1000;
  const difference = (~tcpLength & 0xffff) + tcpLength + 4 + 0xffff + 0x0204 + 0xffff + value + (~offsetWord & 0xffff) + grown;
  return checksumApplyDifference(check, difference);
}
/** xt_TCPMSS's three updates in its order: pseudo-header length, option word from zero, data offset. */
function kernelInsertUpdates(check: number, tcpLength: number, value: number, offsetWord: number): number {
  let c = kernelReplace2(check, tcpLength, tcpLength + 4);
  c = kernelReplace4(c, 0, ((swap(value) << 16) | swap(0x0204)) >>> 0);
  return kernelReplace2(c, offsetWord, offsetWord + 0x1000);
}

test('one folded update equals the three kernel updates of an insertion bit for bit, every checksum value', () => {
  // Every stored checksum (0x0000 and 0xffff included) against corner and typical option values, for
  // data offsets 5..14 (the insertion needs one free word) with each flags byte pattern that matters.
  for (let check = 0; check <= 0xffff; check++) {
    for (const value of [0, 1, 536, 1220, 1400, 0x8000, 0xfffe, 0xffff]) {
      for (const offsetWord of [0x5002, 0x5012, 0x8002, 0xe0ff]) {
        const tcpLength = (offsetWord >>> 12) * 4;
        const ours = insertUpdate(check, tcpLength, value, offsetWord);
        const kernel = kernelInsertUpdates(check, tcpLength, value, offsetWord);
        if (ours !== kernel) assert.fail(`check ${check} value ${value} offset word ${offsetWord}: ${ours} != ${kernel}`);
      }
    }
  }
  fc.assert(
    fc.property(u16, u16, fc.integer({ min: 5, max: 14 }), fc.integer({ min: 0, max: 0xfff }), (c, v, doff, low) => {
      const offsetWord = (doff << 12) | low;
      return insertUpdate(c, doff * 4, v, offsetWord) === kernelInsertUpdates(c, doff * 4, v, offsetWord);
    }),
    { seed: SEED, numRuns: 20000 },
  );
});

/** A buffer with a valid checksum at [0, 2) over all of it; returns the residual after changing two
 * bytes at `offset` with the given update function. */
function updateAndVerify(data: number[], offset: number, next: number, odd: boolean): number {
  const bytes = Uint8Array.from(data);
  bytes[0] = 0;
  bytes[1] = 0;
  const check = ~foldChecksum(addWords(bytes, 0, bytes.length, 0)) & 0xffff;
  bytes[0] = check >>> 8;
  bytes[1] = check & 0xff;
  assert.equal(addWords(bytes, 0, bytes.length, 0), 0xffff);
  const old = (bytes[offset]! << 8) | bytes[offset + 1]!;
  bytes[offset] = next >>> 8;
  bytes[offset + 1] = next & 0xff;
  const stored = (bytes[0]! << 8) | bytes[1]!;
  const updated = odd ? checksumReplace16AtOdd(stored, old, next) : checksumReplace16(stored, old, next);
  bytes[0] = updated >>> 8;
  bytes[1] = updated & 0xff;
  return addWords(bytes, 0, bytes.length, 0);
}

test('incremental updates verify by full recomputation at even offsets', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 8, maxLength: 64 }), fc.nat(), u16, (data, at, next) => {
      const offset = 2 + 2 * (at % ((data.length - 3) >> 1));
      return updateAndVerify(data, offset, next, false) === 0xffff;
    }),
    { seed: SEED, numRuns: 5000 },
  );
});

test('incremental updates verify by full recomputation at odd offsets (byte-swapped operands)', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 8, maxLength: 64 }), fc.nat(), u16, (data, at, next) => {
      const offset = 3 + 2 * (at % ((data.length - 4) >> 1));
      return updateAndVerify(data, offset, next, true) === 0xffff;
    }),
    { seed: SEED, numRuns: 5000 },
  );
});

test('the unswapped (kernel) update at an odd offset is wrong: the case we fix', () => {
  // Value bytes at offset 3..4: 0x05 0xb4 (1460) -> 0x05 0x78 (1400).
  const data = [0, 0, 0x01, 0x05, 0xb4, 0x00, 0x11, 0x22];
  const bytes = Uint8Array.from(data);
  const check = ~foldChecksum(addWords(bytes, 0, bytes.length, 0)) & 0xffff;
  bytes[0] = check >>> 8;
  bytes[1] = check & 0xff;
  bytes[4] = 0x78;
  const wrong = checksumReplace16(check, 1460, 1400);
  const right = checksumReplace16AtOdd(check, 1460, 1400);
  bytes[0] = wrong >>> 8;
  bytes[1] = wrong & 0xff;
  assert.notEqual(addWords(bytes, 0, bytes.length, 0), 0xffff);
  bytes[0] = right >>> 8;
  bytes[1] = right & 0xff;
  assert.equal(addWords(bytes, 0, bytes.length, 0), 0xffff);
});

test('a bad checksum stays bad by the same amount after an incremental update', () => {
  fc.assert(
    fc.property(u16, u16, u16, u16, (stored, from, to, other) => {
      // Residual before: stored + from + other; after: updated + to + other. Same class mod 0xffff.
      const before = foldChecksum(stored + from + other) % 0xffff;
      const after = foldChecksum(checksumReplace16(stored, from, to) + to + other) % 0xffff;
      return before === after;
    }),
    { seed: SEED, numRuns: 5000 },
  );
});
