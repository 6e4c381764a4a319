// The two "packet too big" messages, with the start of the datagram they quote.
//
// ICMPv4 Destination Unreachable, code 4 "fragmentation needed and DF set" (RFC 792, next-hop MTU
// from RFC 1191 4):
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |   Type = 3    |   Code = 4    |           Checksum            |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |           unused = 0          |         Next-Hop MTU          |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |      Internet Header + 64 bits of Original Datagram Data      |
//
// ICMPv6 Packet Too Big (RFC 4443 3.2):
//
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |   Type = 2    |   Code = 0    |           Checksum            |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                              MTU                              |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    As much of invoking packet                 |
//
// Both quote at least the IP header and the first 8 bytes of TCP: the ports and the sequence number.

/** Offsets from the start of the ICMP or ICMPv6 header. */
export const IcmpField = {
  TYPE: 0,
  CODE: 1,
  /** ICMPv4 frag-needed: the low 16 bits of the second word. */
  NEXT_HOP_MTU: 6,
  /** ICMPv6 Packet Too Big: the whole second word. */
  MTU: 4,
  /** The quoted datagram. */
  QUOTE: 8,
} as const;

export const ICMP_HEADER_LENGTH = IcmpField.QUOTE;

/** IANA protocol numbers. */
export const IPPROTO_ICMP = 1;
export const IPPROTO_ICMPV6 = 58;

export const ICMP_DESTINATION_UNREACHABLE = 3;
export const ICMP_FRAGMENTATION_NEEDED = 4;
export const ICMPV6_PACKET_TOO_BIG = 2;
