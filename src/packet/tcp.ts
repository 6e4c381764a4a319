// TCP header (RFC 9293 3.1):
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |          Source Port          |       Destination Port        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                        Sequence Number                        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Acknowledgment Number                      |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Data |       |C|E|U|A|P|R|S|F|                               |
//   | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//   |       |       |R|E|G|K|H|T|N|N|                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |           Checksum            |         Urgent Pointer        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                           [Options]                           |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

/** Offsets from the start of the TCP header. */
export const TcpField = {
  SRC_PORT: 0,
  DST_PORT: 2,
  SEQ: 4,
  ACK: 8,
  DATA_OFFSET: 12,
  FLAGS: 13,
  WINDOW: 14,
  CHECKSUM: 16,
  URGENT: 18,
  OPTIONS: 20,
} as const;

export const TCP_MIN_HEADER_LENGTH = TcpField.OPTIONS;
/** Data Offset is four bits of 32-bit words. */
export const TCP_MAX_HEADER_LENGTH = 15 * 4;
export const TCP_MAX_OPTIONS_LENGTH = TCP_MAX_HEADER_LENGTH - TCP_MIN_HEADER_LENGTH;
/** One step of Data Offset, in bytes; also the high nibble's unit in the DATA_OFFSET byte. */
export const TCP_DATA_OFFSET_UNIT = 4;
export const TCP_DATA_OFFSET_SHIFT = 4;

export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/** IANA protocol number (IPv4 Protocol, IPv6 Next Header). */
export const IPPROTO_TCP = 6;

/**
 * Returns the TCP header length in bytes (20..60), or -1 when the segment [l4Offset, end) is shorter
 * than 20 bytes, Data Offset is below 5, or Data Offset reaches past `end`.
 *
 * Promise: when it returns a length, the fixed header and every option byte lie inside [l4Offset, end).
 */
export function tcpHeaderLength(bytes: Uint8Array, l4Offset: number, end: number): number {
  if (end - l4Offset < TCP_MIN_HEADER_LENGTH) return -1;
  const headerLength = (bytes[l4Offset + TcpField.DATA_OFFSET]! >>> TCP_DATA_OFFSET_SHIFT) * TCP_DATA_OFFSET_UNIT;
  if (headerLength < TCP_MIN_HEADER_LENGTH || l4Offset + headerLength > end) return -1;
  return headerLength;
}
