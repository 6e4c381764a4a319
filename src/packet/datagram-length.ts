// Growing a datagram by whole option words: the IP length field (and for IPv4 its header checksum)
// after the TCP header gained bytes. Shared by the MSS insertion and the duplicate fault.
import * as bytesModule from './bytes.js';
import * as checksumModule from './checksum.js';
import * as ipv4Module from './ipv4.js';
import * as ipv6Module from './ipv6.js';
import type { PacketInfo } from './packet-info.js';

const { readU16, writeU16 } = bytesModule;
const { headerChecksumReplace16 } = checksumModule;
const { IPV4_VERSION, Ipv4Field } = ipv4Module;
const { Ipv6Field } = ipv6Module;

/** The largest value of a 16-bit IP length field. */
export const MAX_IP_LENGTH_FIELD = 0xffff;

/** tcpmss_tg4: total length and the header checksum (csum_replace2); tcpmss_tg6: payload length only.
 * The caller has checked the field cannot wrap. */
export function growIpLength(bytes: Uint8Array, info: PacketInfo, grow: number): void {
  if (info.family === IPV4_VERSION) growIpv4Length(bytes, info.start, grow);
  else growIpv6Length(bytes, info.start, grow);
}

/** growIpLength for the IPv4 header at `start`. One function per family, so a caller that inlines
 * it pays V8's inlining budget only for the family it sees. */
export function growIpv4Length(bytes: Uint8Array, start: number, grow: number): void {
  const lengthOffset = start + Ipv4Field.TOTAL_LENGTH;
  const totalLength = readU16(bytes, lengthOffset);
  writeU16(bytes, lengthOffset, totalLength + grow);
  const checkOffset = start + Ipv4Field.CHECKSUM;
  writeU16(bytes, checkOffset, headerChecksumReplace16(readU16(bytes, checkOffset), totalLength, totalLength + grow));
}

/** growIpLength for the IPv6 header at `start`. */
export function growIpv6Length(bytes: Uint8Array, start: number, grow: number): void {
  const lengthOffset = start + Ipv6Field.PAYLOAD_LENGTH;
  writeU16(bytes, lengthOffset, readU16(bytes, lengthOffset) + grow);
}
