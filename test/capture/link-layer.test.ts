// Every link type the reader knows, with the frames a capture of it holds: where the IP header starts
// and which family the link layer declares (gVisor-style case table).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CapturedPacket } from '../../src/capture/captured-packet.js';
import { LinkType, isSupportedLinkType, locateIp } from '../../src/capture/link-layer.js';
import { concat, hex } from './hex.js';
import { ARP_REQUEST, IPV4_SYN, IPV6_SYN } from './ip-samples.js';

const MACS = '020000000002 020000000001'; // destination, source

interface Case {
  name: string;
  linkType: number;
  frame: Uint8Array;
  /** Offset of the IP header within the frame, or -1. */
  ipAt: number;
  family: number;
}

// prettier-ignore
const cases: Case[] = [
  { name: 'Ethernet IPv4', linkType: LinkType.ETHERNET, frame: concat(hex`${MACS} 0800 # IPv4`, IPV4_SYN), ipAt: 14, family: 4 },
  { name: 'Ethernet IPv6', linkType: LinkType.ETHERNET, frame: concat(hex`${MACS} 86dd # IPv6`, IPV6_SYN), ipAt: 14, family: 6 },
  { name: 'Ethernet 802.1Q', linkType: LinkType.ETHERNET, frame: concat(hex`${MACS} 8100 0064 # TPID, VLAN 100
      0800 # IPv4`, IPV4_SYN), ipAt: 18, family: 4 },
  { name: 'Ethernet QinQ (802.1ad outer, 802.1Q inner)', linkType: LinkType.ETHERNET, frame: concat(hex`${MACS}
      88a8 00c8 # S-tag, VLAN 200
      8100 0064 # C-tag, VLAN 100
      86dd # IPv6`, IPV6_SYN), ipAt: 22, family: 6 },
  { name: 'Ethernet old QinQ 0x9100', linkType: LinkType.ETHERNET, frame: concat(hex`${MACS} 9100 00c8 8100 0064 0800`, IPV4_SYN), ipAt: 22, family: 4 },
  { name: 'Ethernet ARP carries no IP', linkType: LinkType.ETHERNET, frame: concat(hex`${MACS} 0806 # ARP`, ARP_REQUEST), ipAt: -1, family: 0 },
  { name: 'Ethernet 802.3 length field carries no IP', linkType: LinkType.ETHERNET, frame: concat(hex`${MACS} 002e # length 46`, ARP_REQUEST), ipAt: -1, family: 0 },
  { name: 'Ethernet type IPv6 over an IPv4 header is not IP', linkType: LinkType.ETHERNET, frame: concat(hex`${MACS} 86dd`, IPV4_SYN), ipAt: -1, family: 0 },
  { name: 'Linux cooked v2 QinQ as Linux writes it: IPv6 declared, the inner tag first', linkType: LinkType.LINUX_SLL2, frame: concat(hex`86dd 0000 00000002 0001 00 06 000000000000 0000
      0064 86dd # inner tag's TCI and type, its TPID lost`, IPV6_SYN), ipAt: -1, family: 0 },
  { name: 'Ethernet cut inside the VLAN tag', linkType: LinkType.ETHERNET, frame: hex`${MACS} 8100 00`, ipAt: -1, family: 0 },
  { name: 'Ethernet header only: no IP byte captured', linkType: LinkType.ETHERNET, frame: hex`${MACS} 0800`, ipAt: -1, family: 0 },
  { name: 'Ethernet shorter than its header', linkType: LinkType.ETHERNET, frame: hex`0200000000`, ipAt: -1, family: 0 },
  { name: 'Linux cooked v1 IPv4', linkType: LinkType.LINUX_SLL, frame: concat(hex`
      0000 # packet type: to us
      0304 # ARPHRD_LOOPBACK
      0006 # address length
      000000000000 0000 # address, padded to 8
      0800 # protocol IPv4`, IPV4_SYN), ipAt: 16, family: 4 },
  { name: 'Linux cooked v1 IPv6', linkType: LinkType.LINUX_SLL, frame: concat(hex`0004 0001 0006 020000000001 0000 86dd`, IPV6_SYN), ipAt: 16, family: 6 },
  { name: 'Linux cooked v1 ARP', linkType: LinkType.LINUX_SLL, frame: concat(hex`0001 0001 0006 020000000001 0000 0806`, ARP_REQUEST), ipAt: -1, family: 0 },
  { name: 'Linux cooked v2 IPv4', linkType: LinkType.LINUX_SLL2, frame: concat(hex`
      0800     # protocol IPv4
      0000     # reserved
      00000001 # interface index 1
      0304     # ARPHRD_LOOPBACK
      00       # packet type: to us
      06       # address length
      000000000000 0000 # address, padded to 8`, IPV4_SYN), ipAt: 20, family: 4 },
  { name: 'Linux cooked v2 IPv6', linkType: LinkType.LINUX_SLL2, frame: concat(hex`86dd 0000 00000002 0001 04 06 020000000001 0000`, IPV6_SYN), ipAt: 20, family: 6 },
  { name: 'Linux cooked v1 of an 802.1Q frame: protocol 0x8100, then TCI and type', linkType: LinkType.LINUX_SLL, frame: concat(hex`0000 0001 0006 020000000001 0000
      8100 # protocol: 802.1Q
      0064 0800 # TCI (VLAN 100), type IPv4`, IPV4_SYN), ipAt: 20, family: 4 },
  { name: 'Linux cooked v2 of a QinQ frame', linkType: LinkType.LINUX_SLL2, frame: concat(hex`88a8 0000 00000002 0001 00 06 000000000000 0000
      00c8 8100 # outer TCI (VLAN 200), inner TPID
      0064 86dd # inner TCI (VLAN 100), type IPv6`, IPV6_SYN), ipAt: 28, family: 6 },
  { name: 'Linux cooked v2 cut in its header', linkType: LinkType.LINUX_SLL2, frame: hex`0800 0000 00000002 0001`, ipAt: -1, family: 0 },
  { name: 'raw IP (101) IPv4', linkType: LinkType.RAW, frame: IPV4_SYN, ipAt: 0, family: 4 },
  { name: 'raw IP (101) IPv6', linkType: LinkType.RAW, frame: IPV6_SYN, ipAt: 0, family: 6 },
  { name: 'raw IP (12, Linux DLT_RAW)', linkType: LinkType.RAW_LINUX, frame: IPV6_SYN, ipAt: 0, family: 6 },
  { name: 'raw IPv4 (228)', linkType: LinkType.IPV4, frame: IPV4_SYN, ipAt: 0, family: 4 },
  { name: 'raw IPv6 (229)', linkType: LinkType.IPV6, frame: IPV6_SYN, ipAt: 0, family: 6 },
  { name: 'raw IP with version 5 is not IP', linkType: LinkType.RAW, frame: hex`50000000`, ipAt: -1, family: 0 },
  { name: 'raw IP, empty frame', linkType: LinkType.RAW, frame: hex``, ipAt: -1, family: 0 },
  { name: 'NULL AF_INET written little-endian', linkType: LinkType.NULL, frame: concat(hex`02000000 # AF_INET, LE`, IPV4_SYN), ipAt: 4, family: 4 },
  { name: 'NULL AF_INET written big-endian', linkType: LinkType.NULL, frame: concat(hex`00000002 # AF_INET, BE`, IPV4_SYN), ipAt: 4, family: 4 },
  { name: 'NULL AF_INET6 Linux (10) LE', linkType: LinkType.NULL, frame: concat(hex`0a000000`, IPV6_SYN), ipAt: 4, family: 6 },
  { name: 'NULL AF_INET6 NetBSD/OpenBSD (24) BE', linkType: LinkType.NULL, frame: concat(hex`00000018`, IPV6_SYN), ipAt: 4, family: 6 },
  { name: 'NULL AF_INET6 FreeBSD (28) LE', linkType: LinkType.NULL, frame: concat(hex`1c000000`, IPV6_SYN), ipAt: 4, family: 6 },
  { name: 'NULL AF_INET6 Darwin (30) LE', linkType: LinkType.NULL, frame: concat(hex`1e000000`, IPV6_SYN), ipAt: 4, family: 6 },
  { name: 'NULL unknown family (AF_APPLETALK 16)', linkType: LinkType.NULL, frame: concat(hex`10000000`, IPV4_SYN), ipAt: -1, family: 0 },
  { name: 'LOOP AF_INET, always big-endian', linkType: LinkType.LOOP, frame: concat(hex`00000002`, IPV4_SYN), ipAt: 4, family: 4 },
  { name: 'LOOP AF_INET6 (24)', linkType: LinkType.LOOP, frame: concat(hex`00000018`, IPV6_SYN), ipAt: 4, family: 6 },
  { name: 'LOOP does not guess little-endian', linkType: LinkType.LOOP, frame: concat(hex`02000000`, IPV4_SYN), ipAt: -1, family: 0 },
];

function blankPacket(): CapturedPacket {
  return {
    bytes: new Uint8Array(0),
    ipOffset: 99,
    ipLength: 99,
    family: 99,
    seconds: 0,
    nanos: 0,
    interfaceId: 0,
    index: 0,
    fileOffset: 0,
  };
}

for (const c of cases) {
  test(`locateIp: ${c.name}`, () => {
    // The frame sits at offset 7 of a larger buffer with bytes after it: offsets must count from the
    // frame's start and stop at its end.
    const buffer = concat(hex`ee ee ee ee ee ee ee`, c.frame, hex`45 45 45 45`);
    const packet = blankPacket();
    locateIp(c.linkType, buffer, 7, 7 + c.frame.length, packet);
    assert.equal(packet.ipOffset, c.ipAt === -1 ? -1 : 7 + c.ipAt);
    assert.equal(packet.family, c.family);
    assert.equal(packet.ipLength, c.ipAt === -1 ? 0 : c.frame.length - c.ipAt);
  });
}

test('every LinkType is supported and others are not', () => {
  for (const linkType of Object.values(LinkType)) assert.ok(isSupportedLinkType(linkType));
  for (const other of [9, 105, 127, 147, 220, 0xffff]) assert.ok(!isSupportedLinkType(other));
});
