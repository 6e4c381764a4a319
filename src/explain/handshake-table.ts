// Every connection of one capture, fed one IP packet at a time. The flow: check the IP header once
// (the packet core's check-once parsers), then TCP goes to the connection it belongs to, and an
// ICMP frag-needed / ICMPv6 Packet Too Big goes to the connection its quoted header names. Packets
// of connections whose handshake the capture did not see are dropped on the spot: only handshakes
// are kept, so memory grows with connections, not with the file.
import { formatAddress } from '../config/prefix.js';
import { readU16, readU32 } from '../packet/bytes.js';
import {
  ICMP_DESTINATION_UNREACHABLE,
  ICMP_FRAGMENTATION_NEEDED,
  ICMP_HEADER_LENGTH,
  ICMPV6_PACKET_TOO_BIG,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IcmpField,
} from '../packet/icmp.js';
import { IPV4_ADDR_LENGTH, IPV4_VERSION, Ipv4Field, ipv4HeaderLength, ipv4IsFragment, ipv4TotalLength } from '../packet/ipv4.js';
import { IPV6_ADDR_LENGTH, IPV6_HEADER_LENGTH, IPV6_VERSION, Ipv6Field, ipv6HeaderLength, ipv6PayloadLength } from '../packet/ipv6.js';
import { ipv6TcpOffset } from '../packet/ipv6-extension-headers.js';
import { IPPROTO_TCP, TCP_MIN_HEADER_LENGTH, TcpField, TcpFlag, tcpHeaderLength } from '../packet/tcp.js';
import { compareEndpoints, connectionKey } from './connection-key.js';
import { Handshake, type SegmentSeen } from './handshake.js';
import { readOptionFacts } from './option-layout.js';

/** Address texts kept for reuse; past this many distinct addresses each connection formats its own. */
const MAX_CACHED_ADDRESSES = 65536;

/** The first 8 bytes of TCP a too-big message quotes: ports and sequence number (RFC 792, RFC 4443). */
const QUOTED_TCP_LENGTH = 8;

/** Where one packet's IP layer puts the fields the TCP and ICMP steps need; reused, never per packet. */
class IpView {
  family: 4 | 6 = 4;
  srcAddr = 0;
  dstAddr = 0;
  addrLength = 0;
  ttl = 0;
  /** End of the datagram by its IP length field (may lie past the captured bytes under a snaplen). */
  datagramEnd = 0;
  /** End of the captured bytes. */
  capturedEnd = 0;
}

export class HandshakeTable {
  /** In order of the first segment seen. */
  readonly handshakes: Handshake[] = [];
  private readonly byKey = new Map<string, Handshake>();
  private readonly ip = new IpView();
  private readonly addressTexts = new Map<string, string>();

  /** Feeds the IP packet at bytes[ipOffset, ipOffset + ipLength) captured at `time` seconds. Never throws. */
  add(bytes: Uint8Array, ipOffset: number, ipLength: number, time: number): void {
    if (ipLength <= 0 || ipOffset < 0 || ipOffset + ipLength > bytes.length) return;
    const version = bytes[ipOffset]! >>> 4;
    const ip = this.ip;
    ip.capturedEnd = ipOffset + ipLength;
    if (version === IPV4_VERSION) this.addIpv4(bytes, ipOffset, ipLength, time);
    else if (version === IPV6_VERSION) this.addIpv6(bytes, ipOffset, ipLength, time);
  }

  private addIpv4(bytes: Uint8Array, start: number, captured: number, time: number): void {
    const headerLength = ipv4HeaderLength(bytes, start, captured);
    if (headerLength < 0 || ipv4IsFragment(bytes, start)) return;
    const ip = this.ip;
    ip.family = 4;
    ip.srcAddr = start + Ipv4Field.SRC_ADDR;
    ip.dstAddr = start + Ipv4Field.DST_ADDR;
    ip.addrLength = IPV4_ADDR_LENGTH;
    ip.ttl = bytes[start + Ipv4Field.TTL]!;
    ip.datagramEnd = start + ipv4TotalLength(bytes, start);
    const protocol = bytes[start + Ipv4Field.PROTOCOL];
    if (protocol === IPPROTO_TCP) this.addTcp(bytes, start + headerLength, time);
    else if (protocol === IPPROTO_ICMP) this.addIcmpv4(bytes, start + headerLength);
  }

  private addIpv6(bytes: Uint8Array, start: number, captured: number, time: number): void {
    if (ipv6HeaderLength(bytes, start, captured) < 0) return;
    const ip = this.ip;
    ip.family = 6;
    ip.srcAddr = start + Ipv6Field.SRC_ADDR;
    ip.dstAddr = start + Ipv6Field.DST_ADDR;
    ip.addrLength = IPV6_ADDR_LENGTH;
    ip.ttl = bytes[start + Ipv6Field.HOP_LIMIT]!;
    ip.datagramEnd = start + IPV6_HEADER_LENGTH + ipv6PayloadLength(bytes, start);
    const walkEnd = ip.datagramEnd < ip.capturedEnd ? ip.datagramEnd : ip.capturedEnd;
    const l4 = ipv6TcpOffset(bytes, start, walkEnd);
    if (l4 >= 0) this.addTcp(bytes, l4, time);
    // Packet Too Big right after the fixed header (its usual place; no extension headers walked for ICMPv6).
    else if (bytes[start + Ipv6Field.NEXT_HEADER] === IPPROTO_ICMPV6) this.addIcmpv6(bytes, start + IPV6_HEADER_LENGTH);
  }

  private addTcp(bytes: Uint8Array, l4: number, time: number): void {
    const ip = this.ip;
    const headerLength = tcpHeaderLength(bytes, l4, ip.capturedEnd);
    if (headerLength < 0) return;
    const srcPort = readU16(bytes, l4 + TcpField.SRC_PORT);
    const dstPort = readU16(bytes, l4 + TcpField.DST_PORT);
    const flags = bytes[l4 + TcpField.FLAGS]!;
    const srcFirst = compareEndpoints(bytes, ip.srcAddr, srcPort, ip.dstAddr, dstPort, ip.addrLength) <= 0;
    const key = connectionKey(bytes, ip.srcAddr, srcPort, ip.dstAddr, dstPort, ip.addrLength, srcFirst);
    let handshake = this.byKey.get(key);
    if ((flags & TcpFlag.SYN) !== 0) {
      if ((flags & (TcpFlag.RST | TcpFlag.FIN)) !== 0) return;
      const seen = this.segment(bytes, l4, headerLength, time);
      if ((flags & TcpFlag.ACK) === 0) {
        // A SYN: a retransmission of the one we hold, or a new connection (possibly reusing the ports).
        const fromClient = handshake !== undefined && handshake.clientFirst === srcFirst;
        if (handshake !== undefined && fromClient && handshake.syn === null) handshake.syn = seen;
        else if (handshake === undefined || !fromClient || handshake.syn!.seq !== seen.seq) {
          handshake = this.open(key, bytes, ip.srcAddr, srcPort, ip.dstAddr, dstPort, srcFirst, time);
          handshake.syn = seen;
        }
        return;
      }
      // A SYN/ACK: the answer to the SYN we hold, or the first we see of a connection whose SYN the
      // capture missed (then the receiver is the client).
      if (handshake === undefined) {
        handshake = this.open(key, bytes, ip.dstAddr, dstPort, ip.srcAddr, srcPort, !srcFirst, time);
      }
      if (handshake.clientFirst !== srcFirst && handshake.synAck === null) handshake.synAck = seen;
      return;
    }
    if (handshake === undefined) return;
    const payload = ip.datagramEnd - l4 - headerLength;
    if (payload <= 0) return;
    if (handshake.clientFirst === srcFirst) {
      if (handshake.clientDataTtl < 0) handshake.clientDataTtl = ip.ttl;
      if (payload > handshake.largestToServer) handshake.largestToServer = payload;
    } else {
      if (handshake.serverDataTtl < 0) handshake.serverDataTtl = ip.ttl;
      if (payload > handshake.largestToClient) handshake.largestToClient = payload;
    }
  }

  private segment(bytes: Uint8Array, l4: number, headerLength: number, time: number): SegmentSeen {
    const facts = readOptionFacts(bytes, l4 + TCP_MIN_HEADER_LENGTH, l4 + headerLength);
    return {
      mss: facts.mss,
      options: facts.layout,
      seq: readU32(bytes, l4 + TcpField.SEQ),
      ttl: this.ip.ttl,
      wscale: facts.wscale,
      tsVal: facts.tsVal,
      time,
    };
  }

  private open(
    key: string,
    bytes: Uint8Array,
    clientAddr: number,
    clientPort: number,
    serverAddr: number,
    serverPort: number,
    clientFirst: boolean,
    time: number,
  ): Handshake {
    const ip = this.ip;
    const handshake = new Handshake(
      ip.family,
      this.addressText(bytes, clientAddr),
      clientPort,
      this.addressText(bytes, serverAddr),
      serverPort,
      this.handshakes.length,
      time,
    );
    this.handshakes.push(handshake);
    this.byKey.set(key, handshake);
    handshake.clientFirst = clientFirst;
    return handshake;
  }

  /** The address at bytes[at] as text (RFC 5952 for IPv6), one string per distinct address: the same
   * few addresses recur across thousands of connections. */
  private addressText(bytes: Uint8Array, at: number): string {
    const length = this.ip.addrLength;
    let key = '';
    for (let i = 0; i < length; i += 2) key += String.fromCharCode(readU16(bytes, at + i));
    let text = this.addressTexts.get(key);
    if (text === undefined) {
      const address: number[] = [];
      for (let i = 0; i < length; i++) address.push(bytes[at + i]!);
      text = formatAddress(this.ip.family, address);
      if (this.addressTexts.size < MAX_CACHED_ADDRESSES) this.addressTexts.set(key, text);
    }
    return text;
  }

  /** ICMP type 3 code 4 (RFC 1191): the quoted IPv4 header and TCP ports name the connection. */
  private addIcmpv4(bytes: Uint8Array, icmp: number): void {
    const end = this.ip.capturedEnd;
    if (icmp + ICMP_HEADER_LENGTH > end) return;
    if (bytes[icmp + IcmpField.TYPE] !== ICMP_DESTINATION_UNREACHABLE || bytes[icmp + IcmpField.CODE] !== ICMP_FRAGMENTATION_NEEDED) return;
    const mtu = readU16(bytes, icmp + IcmpField.NEXT_HOP_MTU);
    const quote = icmp + IcmpField.QUOTE;
    const quotedHeader = ipv4HeaderLength(bytes, quote, end - quote);
    if (quotedHeader < 0 || bytes[quote + Ipv4Field.PROTOCOL] !== IPPROTO_TCP) return;
    this.attributeTooBig(bytes, quote + Ipv4Field.SRC_ADDR, quote + Ipv4Field.DST_ADDR, IPV4_ADDR_LENGTH, quote + quotedHeader, mtu);
  }

  /** ICMPv6 type 2 (RFC 4443 3.2): the same, through the quoted packet's extension headers. */
  private addIcmpv6(bytes: Uint8Array, icmp: number): void {
    const end = this.ip.capturedEnd;
    if (icmp + ICMP_HEADER_LENGTH > end || bytes[icmp + IcmpField.TYPE] !== ICMPV6_PACKET_TOO_BIG) return;
    const mtu = readU32(bytes, icmp + IcmpField.MTU);
    const quote = icmp + IcmpField.QUOTE;
    if (ipv6HeaderLength(bytes, quote, end - quote) < 0) return;
    const l4 = ipv6TcpOffset(bytes, quote, end);
    if (l4 < 0) return;
    this.attributeTooBig(bytes, quote + Ipv6Field.SRC_ADDR, quote + Ipv6Field.DST_ADDR, IPV6_ADDR_LENGTH, l4, mtu);
  }

  private attributeTooBig(bytes: Uint8Array, srcAddr: number, dstAddr: number, addrLength: number, l4: number, mtu: number): void {
    if (l4 + QUOTED_TCP_LENGTH > this.ip.capturedEnd) return;
    const srcPort = readU16(bytes, l4 + TcpField.SRC_PORT);
    const dstPort = readU16(bytes, l4 + TcpField.DST_PORT);
    const srcFirst = compareEndpoints(bytes, srcAddr, srcPort, dstAddr, dstPort, addrLength) <= 0;
    const handshake = this.byKey.get(connectionKey(bytes, srcAddr, srcPort, dstAddr, dstPort, addrLength, srcFirst));
    if (handshake === undefined) return;
    handshake.addTooBig(mtu, handshake.clientFirst === srcFirst);
  }
}
