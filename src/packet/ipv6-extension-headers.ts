// The IPv6 extension-header chain (RFC 8200 4), walked with bounds to the upper-layer header.
//
// Hop-by-Hop, Routing and Destination Options share one layout (RFC 8200 4.3, 4.4, 4.6):
//
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Next Header  |  Hdr Ext Len  |                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//   .          (Hdr Ext Len + 1) * 8 octets in all                  .
//
// The walk ends at TCP (the answer), at anything else that is not one of those three (not TCP), or at
// a header that makes the packet one we never touch:
// - Fragment (RFC 8200 4.5): the TCP header may be in another piece, or the MSS decision belongs to
//   the reassembled datagram.
// - AH (RFC 4302): the ICV covers the TCP header; a rewrite would make the receiver drop the packet.
//   (xt_TCPMSS's ipv6_skip_exthdr walks through AH and rewrites anyway.)
// - ESP (RFC 4303): everything after it is encrypted.
import * as outcomeModule from './outcome.js';
import * as ipv6Module from './ipv6.js';

// Imports are read through module-local constants: V8 folds a module-local constant (and the fields
// of the table it holds) into optimized code, but reloads an imported binding on every use. Measured
// on Node 20: about 15% of parsePacket.
const { Outcome } = outcomeModule;
const { IPV6_HEADER_LENGTH, Ipv6Field, NextHeader } = ipv6Module;

/** Offsets within an extension header. */
export const ExtensionHeaderField = {
  NEXT_HEADER: 0,
  HDR_EXT_LEN: 1,
  /** First option of a Hop-by-Hop or Destination Options header. */
  OPTIONS: 2,
} as const;

/** Hdr Ext Len counts 8-octet units, not including the first 8 octets. */
export const EXTENSION_HEADER_UNIT = 8;

/** More headers than this is not a packet anyone sends (RFC 8200 4.1 allows each once, Destination
 * Options twice); the walk stops there so a crafted chain costs bounded time. */
export const MAX_EXTENSION_HEADERS = 16;

/** Hop-by-Hop and Destination options are type-length-value: a type byte, a length byte, then data
 * (RFC 8200 4.2); Pad1 alone is a single byte. */
export const OPTION_TLV_HEADER_LENGTH = 2;

/** Hop-by-Hop option types (RFC 8200 4.2, RFC 2675). */
export const HopByHopOption = {
  Pad1: 0,
  JumboPayload: 0xc2,
} as const;

/**
 * Walks the chain of the IPv6 packet at `start` whose datagram ends at `end` (40 + payload length,
 * already known to lie inside the captured bytes). Returns the absolute offset of the TCP header, or
 * MINUS an outcome code: NotTcp, Fragment, UnderAh, Encrypted, or MalformedIp (a header running past
 * `end`, or more than MAX_EXTENSION_HEADERS).
 *
 * Promise: a returned offset is in [start + 40, end]; every header before it lay inside [start, end).
 */
export function ipv6TcpOffset(bytes: Uint8Array, start: number, end: number): number {
  let next = bytes[start + Ipv6Field.NEXT_HEADER]!;
  let offset = start + IPV6_HEADER_LENGTH;
  for (let seen = 0; seen <= MAX_EXTENSION_HEADERS; seen++) {
    switch (next) {
      case NextHeader.Tcp:
        return offset;
      case NextHeader.HopByHop:
      case NextHeader.Routing:
      case NextHeader.DestinationOptions: {
        if (offset + ExtensionHeaderField.OPTIONS > end) return -Outcome.MalformedIp;
        const length = (bytes[offset + ExtensionHeaderField.HDR_EXT_LEN]! + 1) * EXTENSION_HEADER_UNIT;
        if (offset + length > end) return -Outcome.MalformedIp;
        next = bytes[offset + ExtensionHeaderField.NEXT_HEADER]!;
        offset += length;
        break;
      }
      case NextHeader.Fragment:
        return -Outcome.Fragment;
      case NextHeader.Ah:
        return -Outcome.UnderAh;
      case NextHeader.Esp:
        return -Outcome.Encrypted;
      default:
        return -Outcome.NotTcp;
    }
  }
  return -Outcome.MalformedIp;
}

/**
 * True when the packet's first extension header is Hop-by-Hop and carries a Jumbo Payload option
 * (RFC 2675): then the 16-bit payload length is zero and the real length is 32 bits, which the
 * queue cannot hand over whole anyway. Looks only inside the captured bytes [start, start + captured).
 */
export function ipv6HasJumboPayload(bytes: Uint8Array, start: number, captured: number): boolean {
  if (bytes[start + Ipv6Field.NEXT_HEADER] !== NextHeader.HopByHop) return false;
  const header = start + IPV6_HEADER_LENGTH;
  const limit = start + captured;
  if (header + ExtensionHeaderField.OPTIONS > limit) return false;
  const headerEnd = header + (bytes[header + ExtensionHeaderField.HDR_EXT_LEN]! + 1) * EXTENSION_HEADER_UNIT;
  const end = headerEnd < limit ? headerEnd : limit;
  let offset = header + ExtensionHeaderField.OPTIONS;
  while (offset < end) {
    const type = bytes[offset]!;
    if (type === HopByHopOption.Pad1) {
      offset += 1;
      continue;
    }
    if (type === HopByHopOption.JumboPayload) return true;
    if (offset + 1 >= end) return false;
    offset += OPTION_TLV_HEADER_LENGTH + bytes[offset + 1]!;
  }
  return false;
}
