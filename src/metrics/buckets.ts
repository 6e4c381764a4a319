// Histogram bucket bounds, and the index functions the packet path uses to find a bucket without a
// search: the MSS index is one table load, the batch index is one clz32.

/**
 * MSS values people configure or meet: 536 (RFC 879 IPv4 default), 1220 (IPv6 minimum MTU 1280 - 60),
 * common tunnel and PPPoE clamps, 1460 (Ethernet IPv4), 8940 (9000-byte jumbo frames, IPv6).
 */
export const MSS_BUCKETS: readonly number[] = Object.freeze([536, 1220, 1240, 1280, 1360, 1380, 1400, 1420, 1440, 1452, 1460, 8940]);

/** Finite bounds plus the +Inf bucket. */
export const MSS_BUCKET_SLOTS = MSS_BUCKETS.length + 1;

/** The MSS is a 16-bit field (RFC 9293 3.2), so every possible value has an entry. */
const mssSlotTable = new Uint8Array(0x10000);
{
  let slot = 0;
  for (let mss = 0; mss < mssSlotTable.length; mss++) {
    while (slot < MSS_BUCKETS.length && mss > MSS_BUCKETS[slot]!) slot++;
    mssSlotTable[mss] = slot;
  }
}

/** Index of the first bucket whose upper bound is >= mss (non-cumulative slot). */
export function mssSlot(mss: number): number {
  return mssSlotTable[mss & 0xffff]!;
}

/** Batch sizes in packets: powers of two up to the addon's largest sensible batch. */
export const BATCH_BUCKETS: readonly number[] = Object.freeze([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]);

export const BATCH_BUCKET_SLOTS = BATCH_BUCKETS.length + 1;

/** Slot for a batch of n >= 1 packets: ceil(log2(n)), capped at the +Inf slot. */
export function batchSlot(n: number): number {
  const slot = n <= 1 ? 0 : 32 - Math.clz32(n - 1);
  return slot < BATCH_BUCKETS.length ? slot : BATCH_BUCKETS.length;
}
