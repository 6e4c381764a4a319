// Test-only TCP SYN helpers over raw IP bytes: read ports and the MSS option, check the TCP checksum,
// and a trivial MSS rewrite (value in place + full checksum recomputation) for the consumer fixtures.
// Deliberately simple: the real packet core (src/packet/) is not used here, so these tests check the
// addon alone.

const IPV6_HEADER = 40;
const PROTO_TCP = 6;
const TCP_CHECKSUM = 16;
const OPT_EOL = 0;
const OPT_NOP = 1;
const OPT_MSS = 2;

export interface SynView {
  family: 4 | 6;
  sport: number;
  dport: number;
  flags: number;
  /** Offset of the MSS value (2 bytes) from the packet start, or -1. */
  mssAt: number;
  mss: number;
  /** The TCP checksum verifies over the pseudo-header. */
  checksumOk: boolean;
}

/** The TCP header offset of an IPv4/IPv6 TCP packet at `off` (no IPv6 extension headers), or -1. */
function tcpOffset(b: Uint8Array, off: number, len: number): number {
  const v = b[off]! >> 4;
  if (v === 4) return b[off + 9] === PROTO_TCP ? (b[off]! & 0x0f) * 4 : -1;
  if (v === 6) return b[off + 6] === PROTO_TCP && len >= IPV6_HEADER ? IPV6_HEADER : -1;
  return -1;
}

/** Ones' complement TCP checksum over pseudo-header and segment; 0 means the stored one is right. */
export function tcpChecksum(b: Uint8Array, off: number, len: number): number {
  const t = tcpOffset(b, off, len);
  const v4 = b[off]! >> 4 === 4;
  const segLen = len - t;
  let sum = PROTO_TCP + segLen;
  const [src, n] = v4 ? [off + 12, 8] : [off + 8, 32];
  for (let i = 0; i < n; i += 2) sum += (b[src + i]! << 8) | b[src + i + 1]!;
  for (let i = 0; i < segLen; i += 2) sum += (b[off + t + i]! << 8) | (i + 1 < segLen ? b[off + t + i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Offset of the MSS value (2 bytes) from `off`, or -1 when the packet has no MSS option. */
export function findMss(b: Uint8Array, off: number, len: number): number {
  const t = tcpOffset(b, off, len);
  if (t < 0 || len < t + 20) return -1;
  const tcp = off + t;
  const doff = (b[tcp + 12]! >> 4) * 4;
  for (let i = 20; i + 1 < doff;) {
    const kind = b[tcp + i]!;
    if (kind === OPT_EOL) break;
    if (kind === OPT_NOP) {
      i++;
      continue;
    }
    const l = b[tcp + i + 1]!;
    if (l < 2 || i + l > doff) break;
    if (kind === OPT_MSS && l === 4) return t + i + 2;
    i += l;
  }
  return -1;
}

/** The TCP destination port of an IPv4/IPv6 TCP packet, or -1. */
export function tcpDport(b: Uint8Array, off: number, len: number): number {
  const t = tcpOffset(b, off, len);
  return t < 0 || len < t + 4 ? -1 : (b[off + t + 2]! << 8) | b[off + t + 3]!;
}

export function readSyn(b: Uint8Array, off = 0, len = b.length - off): SynView | undefined {
  const t = tcpOffset(b, off, len);
  if (t < 0 || len < t + 20) return undefined;
  const tcp = off + t;
  const mssAt = findMss(b, off, len);
  return {
    family: b[off]! >> 4 === 4 ? 4 : 6,
    sport: (b[tcp]! << 8) | b[tcp + 1]!,
    dport: (b[tcp + 2]! << 8) | b[tcp + 3]!,
    flags: b[tcp + 13]!,
    mssAt,
    mss: mssAt < 0 ? -1 : (b[off + mssAt]! << 8) | b[off + mssAt + 1]!,
    checksumOk: tcpChecksum(b, off, len) === 0,
  };
}

/** Sets the MSS option to `mss` and recomputes the TCP checksum; false when there is no MSS option. */
export function rewriteMss(b: Uint8Array, off: number, len: number, mss: number): boolean {
  const at = findMss(b, off, len);
  if (at < 0) return false;
  b[off + at] = mss >> 8;
  b[off + at + 1] = mss & 0xff;
  const csum = off + tcpOffset(b, off, len) + TCP_CHECKSUM;
  b[csum] = 0;
  b[csum + 1] = 0;
  const c = tcpChecksum(b, off, len);
  b[csum] = c >> 8;
  b[csum + 1] = c & 0xff;
  return true;
}

/**
 * Adds an MSS option to a SYN that has no options and no data (grows the packet by 4 bytes in place,
 * into the tailroom): TCP data offset, IP length, IPv4 header checksum and TCP checksum follow.
 * Returns the new length, or 0 when the packet is not such a SYN.
 */
export function insertMss(b: Uint8Array, off: number, len: number, mss: number): number {
  const t = tcpOffset(b, off, len);
  if (t < 0 || len !== t + 20 || b[off + t + 12]! >> 4 !== 5) return 0;
  const tcp = off + t;
  b[tcp + 20] = OPT_MSS;
  b[tcp + 21] = 4;
  b[tcp + 22] = mss >> 8;
  b[tcp + 23] = mss & 0xff;
  b[tcp + 12] = 6 << 4;
  const n = len + 4;
  if (b[off]! >> 4 === 4) {
    b[off + 2] = n >> 8;
    b[off + 3] = n & 0xff;
    b[off + 10] = 0;
    b[off + 11] = 0;
    let sum = 0;
    for (let i = 0; i < t; i += 2) sum += (b[off + i]! << 8) | b[off + i + 1]!;
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    b[off + 10] = (~sum >> 8) & 0xff;
    b[off + 11] = ~sum & 0xff;
  } else {
    b[off + 4] = (n - IPV6_HEADER) >> 8;
    b[off + 5] = (n - IPV6_HEADER) & 0xff;
  }
  b[tcp + TCP_CHECKSUM] = 0;
  b[tcp + TCP_CHECKSUM + 1] = 0;
  const c = tcpChecksum(b, off, n);
  b[tcp + TCP_CHECKSUM] = c >> 8;
  b[tcp + TCP_CHECKSUM + 1] = c & 0xff;
  return n;
}
