// Where the IP header starts inside a captured frame, for each link type we read. Link type numbers
// are the LINKTYPE_ values of https://www.tcpdump.org/linktypes.html (the numbers files carry, which
// differ from some platforms' DLT_ values). Every offset below is checked against the record's end
// before it is read: a frame cut short by the snap length yields "no IP", never an out-of-range read.
import type { CapturedPacket } from './captured-packet.js';

export const LinkType = {
  /** BSD loopback: a 4-byte address family in the byte order of the machine that wrote the file. */
  NULL: 0,
  ETHERNET: 1,
  /** DLT_RAW as Linux numbers it; older files carry it instead of 101. */
  RAW_LINUX: 12,
  RAW: 101,
  /** OpenBSD loopback: the same 4-byte family, always big-endian. */
  LOOP: 108,
  /** Linux cooked capture v1 (`tcpdump -i any` before libpcap 1.10). */
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  /** Linux cooked capture v2 (`tcpdump -i any -y LINUX_SLL2`). */
  LINUX_SLL2: 276,
} as const;

const SUPPORTED = new Set<number>(Object.values(LinkType));

export function isSupportedLinkType(linkType: number): boolean {
  return SUPPORTED.has(linkType);
}

export const SUPPORTED_LINK_TYPES_TEXT = 'Ethernet, Linux cooked v1/v2, raw IP and BSD loopback';

// Ethernet II (IEEE 802.3): destination(6) source(6) type(2); an 802.1Q or 802.1ad tag inserts
// TPID(2) TCI(2) before the type, and QinQ stacks them: a type field that holds a TPID is followed by
// the tag's TCI and the next type.
const ETHERNET_TYPE = 12;
const ETHERNET_HEADER_LENGTH = 14;
const VLAN_TAG_LENGTH = 4;
const VLAN_TCI_LENGTH = 2;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const TPID_8021Q = 0x8100;
const TPID_8021AD = 0x88a8;
/** Pre-standard QinQ outer tags some switches still send. */
const TPID_QINQ_OLD = 0x9100;
const TPID_QINQ_OLD2 = 0x9200;

// Linux cooked v1 (LINKTYPE_LINUX_SLL): packet type(2) ARPHRD type(2) address length(2) address(8)
// protocol(2). v2 (LINKTYPE_LINUX_SLL2): protocol(2) reserved(2) interface index(4) ARPHRD type(2)
// packet type(1) address length(1) address(8).
const SLL_PROTOCOL = 14;
const SLL_HEADER_LENGTH = 16;
const SLL2_PROTOCOL = 0;
const SLL2_HEADER_LENGTH = 20;

// BSD loopback: the sender's AF_ value for the payload, 4 bytes.
const LOOPBACK_HEADER_LENGTH = 4;
const AF_INET = 2;
/** AF_INET6 differs by system: Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, Darwin 30. */
const AF_INET6_LINUX = 10;
const AF_INET6_BSD = 24;
const AF_INET6_FREEBSD = 28;
const AF_INET6_DARWIN = 30;

function u16(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 8) | bytes[at + 1]!;
}

function familyOfEthertype(ethertype: number): number {
  return ethertype === ETHERTYPE_IPV4 ? 4 : ethertype === ETHERTYPE_IPV6 ? 6 : 0;
}

function familyOfAddressFamily(af: number): number {
  if (af === AF_INET) return 4;
  if (af === AF_INET6_LINUX || af === AF_INET6_BSD || af === AF_INET6_FREEBSD || af === AF_INET6_DARWIN) return 6;
  return 0;
}

/** Raw IP carries no type field: the version nibble is all there is. */
function familyOfVersion(bytes: Uint8Array, at: number): number {
  const version = bytes[at]! >>> 4;
  return version === 4 || version === 6 ? version : 0;
}

/**
 * The payload of a frame whose type field says `type` and whose payload starts at `payloadAt`: each
 * VLAN tag in front (802.1Q, 802.1ad, QinQ) is its TCI(2) and the next type(2). Linux cooked captures
 * keep tags this way too, with the protocol field set to the TPID. Sets packet.family and returns the
 * payload's offset; family 0 when the frame ends inside the tags.
 */
function afterVlanTags(bytes: Uint8Array, type: number, payloadAt: number, end: number, packet: CapturedPacket): number {
  while (type === TPID_8021Q || type === TPID_8021AD || type === TPID_QINQ_OLD || type === TPID_QINQ_OLD2) {
    if (payloadAt + VLAN_TAG_LENGTH > end) {
      packet.family = 0;
      return payloadAt;
    }
    type = u16(bytes, payloadAt + VLAN_TCI_LENGTH);
    payloadAt += VLAN_TAG_LENGTH;
  }
  packet.family = familyOfEthertype(type);
  return payloadAt;
}

/**
 * Fills packet.ipOffset, ipLength and family for the frame in bytes[start, end) of the given (supported)
 * link type. Family comes from the link layer's type field where there is one, and the IP header's
 * version nibble must say the same. No IP, or no byte of it captured: ipOffset -1, ipLength 0, family 0.
 */
export function locateIp(linkType: number, bytes: Uint8Array, start: number, end: number, packet: CapturedPacket): void {
  let ipOffset = -1;
  packet.family = 0;
  switch (linkType) {
    case LinkType.ETHERNET:
      if (start + ETHERNET_HEADER_LENGTH <= end) {
        ipOffset = afterVlanTags(bytes, u16(bytes, start + ETHERNET_TYPE), start + ETHERNET_HEADER_LENGTH, end, packet);
      }
      break;
    case LinkType.RAW:
    case LinkType.RAW_LINUX:
    case LinkType.IPV4:
    case LinkType.IPV6:
      if (start < end) {
        packet.family = familyOfVersion(bytes, start);
        ipOffset = start;
      }
      break;
    case LinkType.LINUX_SLL:
      if (start + SLL_HEADER_LENGTH <= end) {
        ipOffset = afterVlanTags(bytes, u16(bytes, start + SLL_PROTOCOL), start + SLL_HEADER_LENGTH, end, packet);
      }
      break;
    case LinkType.LINUX_SLL2:
      if (start + SLL2_HEADER_LENGTH <= end) {
        ipOffset = afterVlanTags(bytes, u16(bytes, start + SLL2_PROTOCOL), start + SLL2_HEADER_LENGTH, end, packet);
      }
      break;
    case LinkType.NULL:
    case LinkType.LOOP:
      if (start + LOOPBACK_HEADER_LENGTH <= end) {
        const bigEndian = ((bytes[start]! << 24) | (bytes[start + 1]! << 16) | (bytes[start + 2]! << 8) | bytes[start + 3]!) >>> 0;
        // NULL is in the writer's byte order: AF_ values are small, so a value with high bytes set was
        // written little-endian.
        const af =
          linkType === LinkType.NULL && bigEndian > 0xffff
            ? (bytes[start]! | (bytes[start + 1]! << 8) | (bytes[start + 2]! << 16) | (bytes[start + 3]! << 24)) >>> 0
            : bigEndian;
        packet.family = familyOfAddressFamily(af);
        ipOffset = start + LOOPBACK_HEADER_LENGTH;
      }
      break;
  }
  // The version nibble must agree with the link layer: Linux cooked captures of QinQ frames, for one,
  // can declare IPv6 and start with the inner tag's TCI (tshark calls those bytes data, and so do we).
  if (packet.family === 0 || ipOffset >= end || bytes[ipOffset]! >>> 4 !== packet.family) {
    packet.ipOffset = -1;
    packet.ipLength = 0;
    packet.family = 0;
  } else {
    packet.ipOffset = ipOffset;
    packet.ipLength = end - ipOffset;
  }
}
