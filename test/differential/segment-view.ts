// Test-side views of captured segments, independent of the core under test: where the TCP header is
// (through IPv6 extension headers, AH and Fragment included, and whatever the data offset says), the
// checksums by full recomputation, and the MSS options as the kernel's option walk finds them.
import { addWords, computeTransportChecksum, pseudoHeaderSum } from '../../src/packet/checksum.js';
import { IPPROTO_TCP } from '../../src/packet/tcp.js';

export interface SegmentView {
  family: 4 | 6;
  /** Offset of the TCP header. */
  l4: number;
  /** One past the datagram, from the IP length field (capped at the bytes there are). */
  ipEnd: number;
  srcAddr: number;
  dstAddr: number;
  addrLength: number;
  srcPort: number;
  /** Data offset in bytes, as the header says (not checked). */
  tcpHeaderLength: number;
}

const HOP_BY_HOP = 0;
const ROUTING = 43;
const FRAGMENT = 44;
const AH = 51;
const DESTINATION_OPTIONS = 60;

/** Finds the TCP header of an IPv4 or IPv6 TCP segment, or returns undefined (not TCP, too short). */
export function viewSegment(bytes: Uint8Array): SegmentView | undefined {
  if (bytes.length < 20) return undefined;
  const version = bytes[0]! >>> 4;
  let l4: number;
  let ipEnd: number;
  let view: Omit<SegmentView, 'l4' | 'ipEnd' | 'srcPort' | 'tcpHeaderLength'>;
  if (version === 4) {
    if (bytes[9] !== IPPROTO_TCP) return undefined;
    l4 = (bytes[0]! & 0x0f) * 4;
    ipEnd = Math.min(bytes.length, (bytes[2]! << 8) | bytes[3]!);
    view = { family: 4, srcAddr: 12, dstAddr: 16, addrLength: 4 };
  } else if (version === 6 && bytes.length >= 40) {
    ipEnd = Math.min(bytes.length, 40 + ((bytes[4]! << 8) | bytes[5]!));
    let next = bytes[6]!;
    l4 = 40;
    while (next !== IPPROTO_TCP) {
      if (l4 + 8 > ipEnd) return undefined;
      if (next === HOP_BY_HOP || next === ROUTING || next === DESTINATION_OPTIONS) {
        const length = (bytes[l4 + 1]! + 1) * 8;
        next = bytes[l4]!;
        l4 += length;
      } else if (next === FRAGMENT) {
        next = bytes[l4]!;
        l4 += 8;
      } else if (next === AH) {
        const length = (bytes[l4 + 1]! + 2) * 4;
        next = bytes[l4]!;
        l4 += length;
      } else {
        return undefined;
      }
    }
    view = { family: 6, srcAddr: 8, dstAddr: 24, addrLength: 16 };
  } else {
    return undefined;
  }
  if (l4 + 20 > ipEnd) return undefined;
  return { ...view, l4, ipEnd, srcPort: (bytes[l4]! << 8) | bytes[l4 + 1]!, tcpHeaderLength: (bytes[l4 + 12]! >>> 4) * 4 };
}

const TCP_CHECKSUM = 16;

/** True when the TCP checksum verifies by full recomputation over pseudo-header and segment. */
export function tcpChecksumOk(bytes: Uint8Array, v: SegmentView): boolean {
  const pseudo = pseudoHeaderSum(bytes, v.srcAddr, v.dstAddr, v.addrLength, IPPROTO_TCP, v.ipEnd - v.l4);
  return addWords(bytes, v.l4, v.ipEnd, pseudo) === 0xffff;
}

/** Writes the TCP checksum a full recomputation gives. */
export function recomputeTcpChecksum(bytes: Uint8Array, v: SegmentView): void {
  const value = computeTransportChecksum(bytes, v.srcAddr, v.dstAddr, v.addrLength, IPPROTO_TCP, v.l4, v.ipEnd, v.l4 + TCP_CHECKSUM);
  bytes[v.l4 + TCP_CHECKSUM] = value >>> 8;
  bytes[v.l4 + TCP_CHECKSUM + 1] = value & 0xff;
}

/** True when the IPv4 header checksum verifies (always true for IPv6, which has none). */
export function ipv4HeaderChecksumOk(bytes: Uint8Array): boolean {
  if (bytes[0]! >>> 4 !== 4) return true;
  return addWords(bytes, 0, (bytes[0]! & 0x0f) * 4, 0) === 0xffff;
}

export function tcpChecksumField(bytes: Uint8Array, v: SegmentView): number {
  return (bytes[v.l4 + TCP_CHECKSUM]! << 8) | bytes[v.l4 + TCP_CHECKSUM + 1]!;
}

/**
 * Offsets of the MSS options (kind 2, length 4) the way xt_TCPMSS walks the options: EOL and NOP step
 * one byte, so does a length of 0; anything else steps its length; an option must start at or before
 * header length - 4. The kernel acts on the first only; the rest are listed for the tests.
 */
export function kernelWalkMssOffsets(bytes: Uint8Array, v: SegmentView): number[] {
  const found: number[] = [];
  const header = bytes.subarray(v.l4, v.ipEnd);
  const limit = Math.min(v.tcpHeaderLength, header.length);
  for (let i = 20; i <= limit - 4;) {
    if (header[i] === 2 && header[i + 1] === 4) found.push(v.l4 + i);
    i += header[i]! <= 1 || header[i + 1] === 0 ? 1 : header[i + 1]!;
  }
  return found;
}

export function mssAt(bytes: Uint8Array, optionOffset: number): number {
  return (bytes[optionOffset + 2]! << 8) | bytes[optionOffset + 3]!;
}
