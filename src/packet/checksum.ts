// The Internet checksum (RFC 1071): one's-complement sum of 16-bit words, and its incremental
// update (RFC 1624). All values here are 16-bit numbers in network order (as readU16 returns them);
// a one's-complement sum does not depend on byte order, so this matches the kernel's memory-order sums.
//
// Incremental updates are bit-for-bit the kernel's, 0x0000/0xffff corner included:
// - checksumReplace16/32 are inet_proto_csum_replace2/4 (net/core/utils.c) for a packet that is
//   not CHECKSUM_PARTIAL: sum = csum_fold(csum_partial({~from, to}, ~csum_unfold(check))). The 32-bit
//   accumulator starts from ~check with its upper half all ones, so it is never zero, and csum_fold of
//   a non-zero sum is in 1..0xffff: the new checksum is never 0xffff (0x0000 is possible).
//   Several such updates in a row therefore equal one update with all the terms (same class mod 0xffff,
//   same representative), which is what lets the insert path match the kernel's three updates.
// - headerChecksumReplace16 is csum_replace2 (include/net/checksum.h), used by xt_TCPMSS for the IPv4
//   total length: ~csum16_add(csum16_sub(~check, old), new), 16-bit end-around-carry adds.

/** Adds the 16-bit words of bytes[from, to) to `sum` (a word is high byte first; an odd last byte is
 * padded with zero, RFC 1071). Returns an unfolded sum; fold with foldChecksum. For tests and checks,
 * not the packet path (which never recomputes). */
export function addWords(bytes: Uint8Array, from: number, to: number, sum: number): number {
  let i = from;
  for (; i + 1 < to; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < to) sum += bytes[i]! << 8;
  // Fold as we go so that sums over any realistic length stay exact small integers.
  return foldChecksum(sum);
}

/** Folds a non-negative sum to 16 bits with end-around carry: 0 only for 0, else 1..0xffff. */
export function foldChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), as inet_proto_csum_replace2: `from` and `to` are a 16-bit
 * field that MUST start at an even offset from the start of the checksummed data. */
export function checksumReplace16(check: number, from: number, to: number): number {
  let sum = (~check & 0xffff) + (~from & 0xffff) + to;
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  // The kernel's accumulator is never zero (see above), so its folded sum is 0xffff, not 0.
  if (sum === 0) sum = 0xffff;
  return ~sum & 0xffff;
}

/** RFC 1624 eqn. 3 for several changed fields at once: `difference` is the sum, over every changed
 * 16-bit word (each at an even offset), of (~from & 0xffff) + to, and must stay below 2 ** 31. Equal bit
 * for bit to checksumReplace16/32 applied to each word in turn (see the top of this file), so one fold
 * can stand for a sequence of the kernel's updates. */
export function checksumApplyDifference(check: number, difference: number): number {
  let sum = (~check & 0xffff) + difference;
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  if (sum === 0) sum = 0xffff;
  return ~sum & 0xffff;
}

function swapBytes(value: number): number {
  return ((value & 0xff) << 8) | ((value >>> 8) & 0xff);
}

/** The same update for a 16-bit field at an ODD offset from the start of the checksummed data (an MSS
 * option behind a single NOP): its high byte is the low half of one checksum word and its low byte the
 * high half of the next, so it adds to the sum byte-swapped (OpenBSD pf_patch_16_unaligned). The
 * kernel's xt_TCPMSS passes the value unswapped here and emits a wrong checksum. */
export function checksumReplace16AtOdd(check: number, from: number, to: number): number {
  return checksumReplace16(check, swapBytes(from), swapBytes(to));
}

/** inet_proto_csum_replace4: a 32-bit field at an even offset, given as an unsigned 32-bit number. */
export function checksumReplace32(check: number, from: number, to: number): number {
  let sum = (~check & 0xffff) + (~(from >>> 16) & 0xffff) + (~from & 0xffff) + (to >>> 16) + (to & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  if (sum === 0) sum = 0xffff;
  return ~sum & 0xffff;
}

function add16EndAround(a: number, b: number): number {
  const sum = a + b;
  return (sum & 0xffff) + (sum >>> 16);
}

/** csum_replace2 (include/net/checksum.h), which xt_TCPMSS uses for the IPv4 header checksum. It differs
 * from checksumReplace16 only when ~check, ~from and to are all zero (it yields 0xffff there). */
export function headerChecksumReplace16(check: number, from: number, to: number): number {
  return ~add16EndAround(add16EndAround(~check & 0xffff, ~from & 0xffff), to) & 0xffff;
}

/** The one's-complement sum of the TCP/UDP pseudo-header (RFC 9293 3.1 for IPv4, RFC 8200 8.1 for IPv6:
 * addresses, upper-layer length, next header). The length is at most 32 bits; only IPv6 uses the upper 16. */
export function pseudoHeaderSum(
  bytes: Uint8Array,
  srcAddrOffset: number,
  dstAddrOffset: number,
  addrLength: number,
  protocol: number,
  upperLayerLength: number,
): number {
  let sum = addWords(bytes, srcAddrOffset, srcAddrOffset + addrLength, 0);
  sum = addWords(bytes, dstAddrOffset, dstAddrOffset + addrLength, sum);
  return foldChecksum(sum + protocol + (upperLayerLength & 0xffff) + Math.floor(upperLayerLength / 0x10000));
}

/** Full recomputation of a transport checksum over [l4Offset, end) with the checksum field at
 * checksumOffset counted as zero. Tests and property checks use it to verify incremental updates. */
export function computeTransportChecksum(
  bytes: Uint8Array,
  srcAddrOffset: number,
  dstAddrOffset: number,
  addrLength: number,
  protocol: number,
  l4Offset: number,
  end: number,
  checksumOffset: number,
): number {
  let sum = pseudoHeaderSum(bytes, srcAddrOffset, dstAddrOffset, addrLength, protocol, end - l4Offset);
  sum = addWords(bytes, l4Offset, end, sum);
  const stored = (bytes[checksumOffset]! << 8) | bytes[checksumOffset + 1]!;
  sum = foldChecksum(sum + (~stored & 0xffff));
  return ~sum & 0xffff;
}
