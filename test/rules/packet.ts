// Minimal IPv4/IPv6 + TCP SYN headers for matcher tests, and the PacketInfo parsePacket would fill for
// them. Local to test/rules/ on purpose: the matcher reads only addresses, ports, family and direction.
import { Direction } from '../../src/packet/direction.js';
import { PacketInfo } from '../../src/packet/packet-info.js';

const IPV4_HEADER = 20;
const IPV6_HEADER = 40;
const TCP_HEADER = 20;
const IPV4_SRC = 12;
const IPV4_DST = 16;
const IPV6_SRC = 8;
const IPV6_DST = 24;
const TCP_FLAGS = 13;
const SYN = 0x02;
const ACK = 0x10;

export interface Crafted {
  readonly bytes: Uint8Array;
  readonly info: PacketInfo;
}

function addressBytes(text: string): number[] {
  if (text.includes('.')) return text.split('.').map(Number);
  const [head = '', tail = ''] = text.split('::');
  const groups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const h = groups(head);
  const t = groups(tail);
  const all = text.includes('::') ? [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t] : h;
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

/** A SYN (or SYN/ACK) from src:sport to dst:dport, placed at `start` inside a larger buffer. */
export function craft(src: string, dst: string, sport: number, dport: number, synAck = false, start = 0): Crafted {
  const v6 = src.includes(':');
  const ipLength = v6 ? IPV6_HEADER : IPV4_HEADER;
  const bytes = new Uint8Array(start + ipLength + TCP_HEADER + 8).fill(0xee);
  const srcOff = start + (v6 ? IPV6_SRC : IPV4_SRC);
  const dstOff = start + (v6 ? IPV6_DST : IPV4_DST);
  bytes[start] = v6 ? 0x60 : 0x45;
  bytes.set(addressBytes(src), srcOff);
  bytes.set(addressBytes(dst), dstOff);
  const l4 = start + ipLength;
  bytes[l4] = sport >> 8;
  bytes[l4 + 1] = sport & 0xff;
  bytes[l4 + 2] = dport >> 8;
  bytes[l4 + 3] = dport & 0xff;
  bytes[l4 + TCP_FLAGS] = synAck ? SYN | ACK : SYN;
  const info = new PacketInfo();
  info.family = v6 ? 6 : 4;
  info.start = start;
  info.ipEnd = l4 + TCP_HEADER;
  info.l4Offset = l4;
  info.tcpHeaderLength = TCP_HEADER;
  info.tcpFlags = synAck ? SYN | ACK : SYN;
  info.direction = synAck ? Direction.SynAck : Direction.Syn;
  info.srcPort = sport;
  info.dstPort = dport;
  info.srcAddrOffset = srcOff;
  info.dstAddrOffset = dstOff;
  info.addrLength = v6 ? 16 : 4;
  return { bytes, info };
}
