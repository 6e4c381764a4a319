// Packet builders for tests: IPv4 and IPv6 TCP segments with given TCP options, IPv4 options and IPv6
// extension headers, with valid checksums unless told otherwise. Test code: allocates freely.
import { addWords, computeTransportChecksum, foldChecksum, pseudoHeaderSum } from '../../src/packet/checksum.js';
import { IPV4_MIN_HEADER_LENGTH, Ipv4Field } from '../../src/packet/ipv4.js';
import { IPV6_HEADER_LENGTH, Ipv6Field, NextHeader } from '../../src/packet/ipv6.js';
import type { PacketInfo } from '../../src/packet/packet-info.js';
import { IPPROTO_TCP, TCP_MIN_HEADER_LENGTH, TcpField, TcpFlag } from '../../src/packet/tcp.js';

export const EOL = 0;
export const NOP = 1;
export const SYN = TcpFlag.SYN;
export const SYN_ACK = TcpFlag.SYN | TcpFlag.ACK;

export function mssOption(value: number): number[] {
  return [2, 4, (value >>> 8) & 0xff, value & 0xff];
}
export function windowScaleOption(shift: number): number[] {
  return [3, 3, shift];
}
export function sackPermittedOption(): number[] {
  return [4, 2];
}
export function timestampOption(value: number, echo: number): number[] {
  return [8, 10, ...u32(value), ...u32(echo)];
}
/** A typical Linux SYN's options: MSS, SACK permitted, timestamps, NOP, window scale (20 bytes). */
export function linuxSynOptions(mss: number): number[] {
  return [...mssOption(mss), ...sackPermittedOption(), ...timestampOption(0x01020304, 0), NOP, ...windowScaleOption(7)];
}

function u32(value: number): number[] {
  return [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}

export interface TcpSpec {
  srcPort?: number;
  dstPort?: number;
  seq?: number;
  ack?: number;
  /** TCP flags byte; SYN by default. */
  flags?: number;
  window?: number;
  /** Option bytes; padded with zeros (EOL) to a multiple of 4. */
  options?: number[];
  payload?: number[];
  /** Overrides the data offset nibble (in 32-bit words). */
  dataOffsetWords?: number;
  /** Overrides the computed TCP checksum. */
  tcpChecksum?: number;
  /** Extra bytes after the datagram (not counted in the IP length). */
  trailing?: number[];
  /** Extra zeroed bytes at the end of the returned array, after `trailing` (tailroom for insertion). */
  tailroom?: number;
}

export interface Ipv4Spec extends TcpSpec {
  src?: number[];
  dst?: number[];
  /** IPv4 option bytes; padded with zeros (End of Options List) to a multiple of 4. */
  ipOptions?: number[];
  /** Flags and fragment offset word (DF by default). */
  flagsFragment?: number;
  protocol?: number;
  ttl?: number;
  id?: number;
  /** Overrides the IHL nibble (in 32-bit words). */
  ihlWords?: number;
  /** Overrides the total length field. */
  totalLength?: number;
  /** Overrides the computed header checksum. */
  ipChecksum?: number;
  /** Overrides the version nibble. */
  version?: number;
}

export interface ExtensionHeader {
  type: number;
  /** The whole header; byte 0 (next header) is filled in by craftIpv6Tcp. */
  bytes: number[];
}

export interface Ipv6Spec extends TcpSpec {
  src?: number[];
  dst?: number[];
  extensionHeaders?: ExtensionHeader[];
  /** Next header after the last extension header (TCP by default). */
  upperLayer?: number;
  /** Overrides the payload length field. */
  payloadLength?: number;
  hopLimit?: number;
  version?: number;
}

function padTo(bytes: number[], multiple: number): number[] {
  const out = bytes.slice();
  while (out.length % multiple !== 0) out.push(0);
  return out;
}

function tcpBytes(spec: TcpSpec): number[] {
  const options = padTo(spec.options ?? [], 4);
  const header = new Array<number>(TCP_MIN_HEADER_LENGTH).fill(0);
  const words = spec.dataOffsetWords ?? (TCP_MIN_HEADER_LENGTH + options.length) / 4;
  const put16 = (at: number, v: number): void => {
    header[at] = (v >>> 8) & 0xff;
    header[at + 1] = v & 0xff;
  };
  put16(TcpField.SRC_PORT, spec.srcPort ?? 40000);
  put16(TcpField.DST_PORT, spec.dstPort ?? 80);
  u32(spec.seq ?? 0x11223344).forEach((b, i) => (header[TcpField.SEQ + i] = b));
  u32(spec.ack ?? 0).forEach((b, i) => (header[TcpField.ACK + i] = b));
  header[TcpField.DATA_OFFSET] = (words & 0x0f) << 4;
  header[TcpField.FLAGS] = spec.flags ?? TcpFlag.SYN;
  put16(TcpField.WINDOW, spec.window ?? 64240);
  return [...header, ...options, ...(spec.payload ?? [])];
}

function finish(datagram: number[], spec: TcpSpec): Uint8Array {
  const trailing = spec.trailing ?? [];
  const out = new Uint8Array(datagram.length + trailing.length + (spec.tailroom ?? 0));
  out.set(datagram, 0);
  out.set(trailing, datagram.length);
  return out;
}

function setTcpChecksum(out: Uint8Array, spec: TcpSpec, src: number, dst: number, addrLength: number, l4: number, end: number): void {
  const value = spec.tcpChecksum ?? computeTransportChecksum(out, src, dst, addrLength, IPPROTO_TCP, l4, end, l4 + TcpField.CHECKSUM);
  out[l4 + TcpField.CHECKSUM] = value >>> 8;
  out[l4 + TcpField.CHECKSUM + 1] = value & 0xff;
}

/** An IPv4 TCP segment (a SYN from 198.51.100.1 to 203.0.113.1 unless told otherwise). */
export function craftIpv4Tcp(spec: Ipv4Spec = {}): Uint8Array {
  const ipOptions = padTo(spec.ipOptions ?? [], 4);
  const headerLength = IPV4_MIN_HEADER_LENGTH + ipOptions.length;
  const tcp = tcpBytes(spec);
  const ip = new Array<number>(IPV4_MIN_HEADER_LENGTH).fill(0);
  ip[Ipv4Field.VERSION_IHL] = ((spec.version ?? 4) << 4) | ((spec.ihlWords ?? headerLength / 4) & 0x0f);
  const total = spec.totalLength ?? headerLength + tcp.length;
  ip[Ipv4Field.TOTAL_LENGTH] = (total >>> 8) & 0xff;
  ip[Ipv4Field.TOTAL_LENGTH + 1] = total & 0xff;
  const id = spec.id ?? 0x1c46;
  ip[4] = id >>> 8;
  ip[5] = id & 0xff;
  const ff = spec.flagsFragment ?? 0x4000;
  ip[Ipv4Field.FLAGS_FRAGMENT_OFFSET] = ff >>> 8;
  ip[Ipv4Field.FLAGS_FRAGMENT_OFFSET + 1] = ff & 0xff;
  ip[8] = spec.ttl ?? 64;
  ip[Ipv4Field.PROTOCOL] = spec.protocol ?? IPPROTO_TCP;
  (spec.src ?? [198, 51, 100, 1]).forEach((b, i) => (ip[Ipv4Field.SRC_ADDR + i] = b));
  (spec.dst ?? [203, 0, 113, 1]).forEach((b, i) => (ip[Ipv4Field.DST_ADDR + i] = b));
  const datagram = [...ip, ...ipOptions, ...tcp];
  const out = finish(datagram, spec);
  const headerCheck = spec.ipChecksum ?? ~addWords(out, 0, headerLength, 0) & 0xffff;
  out[Ipv4Field.CHECKSUM] = headerCheck >>> 8;
  out[Ipv4Field.CHECKSUM + 1] = headerCheck & 0xff;
  setTcpChecksum(out, spec, Ipv4Field.SRC_ADDR, Ipv4Field.DST_ADDR, 4, headerLength, datagram.length);
  return out;
}

const ULA_SRC = [0xfd, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
const ULA_DST = [0xfd, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1];

/** An IPv6 TCP segment (a SYN from fd00:0:0:1::1 to fd00:0:0:2::1 unless told otherwise). The TCP
 * checksum uses the destination field (craft Routing headers with Segments Left 0). */
export function craftIpv6Tcp(spec: Ipv6Spec = {}): Uint8Array {
  const tcp = tcpBytes(spec);
  const chain: number[] = [];
  const headers = spec.extensionHeaders ?? [];
  headers.forEach((h, i) => {
    const bytes = h.bytes.slice();
    // ESP has no next-header byte up front (it is in the encrypted trailer).
    if (h.type !== NextHeader.Esp) bytes[0] = i + 1 < headers.length ? headers[i + 1]!.type : (spec.upperLayer ?? IPPROTO_TCP);
    chain.push(...bytes);
  });
  const ip = new Array<number>(IPV6_HEADER_LENGTH).fill(0);
  ip[Ipv6Field.VERSION] = (spec.version ?? 6) << 4;
  const payload = spec.payloadLength ?? chain.length + tcp.length;
  ip[Ipv6Field.PAYLOAD_LENGTH] = (payload >>> 8) & 0xff;
  ip[Ipv6Field.PAYLOAD_LENGTH + 1] = payload & 0xff;
  ip[Ipv6Field.NEXT_HEADER] = headers.length > 0 ? headers[0]!.type : (spec.upperLayer ?? IPPROTO_TCP);
  ip[Ipv6Field.HOP_LIMIT] = spec.hopLimit ?? 64;
  (spec.src ?? ULA_SRC).forEach((b, i) => (ip[Ipv6Field.SRC_ADDR + i] = b));
  (spec.dst ?? ULA_DST).forEach((b, i) => (ip[Ipv6Field.DST_ADDR + i] = b));
  const datagram = [...ip, ...chain, ...tcp];
  const out = finish(datagram, spec);
  const l4 = IPV6_HEADER_LENGTH + chain.length;
  setTcpChecksum(out, spec, Ipv6Field.SRC_ADDR, Ipv6Field.DST_ADDR, 16, l4, datagram.length);
  return out;
}

/** Hop-by-Hop, Routing or Destination Options layout: options padded with Pad1 to a multiple of 8. */
function optionsHeader(type: number, body: number[]): ExtensionHeader {
  const bytes = padTo([0, 0, ...body], 8);
  bytes[1] = bytes.length / 8 - 1;
  return { type, bytes };
}
export function hopByHop(options: number[] = []): ExtensionHeader {
  return optionsHeader(NextHeader.HopByHop, options);
}
export function destinationOptions(options: number[] = []): ExtensionHeader {
  return optionsHeader(NextHeader.DestinationOptions, options);
}
/** A Routing header with Segments Left 0 (the packet is at its final destination's address). */
export function routing(routingType = 4, data: number[] = [0, 0, 0, 0]): ExtensionHeader {
  return optionsHeader(NextHeader.Routing, [routingType, 0, ...data]);
}
export function fragmentHeader(offsetUnits = 0, more = false, id = 0x12345678): ExtensionHeader {
  const word = ((offsetUnits & 0x1fff) << 3) | (more ? 1 : 0);
  return { type: NextHeader.Fragment, bytes: [0, 0, word >>> 8, word & 0xff, ...u32(id)] };
}
/** AH (RFC 4302) with a 12-byte ICV: Payload Len = (24 / 4) - 2. */
export function authenticationHeader(): ExtensionHeader {
  return { type: NextHeader.Ah, bytes: [0, 4, 0, 0, ...u32(0x100), ...u32(1), ...new Array<number>(12).fill(0xaa)] };
}
/** ESP (RFC 4303): SPI and sequence number; what follows is "encrypted". */
export function espHeader(): ExtensionHeader {
  return { type: NextHeader.Esp, bytes: [...u32(0x200), ...u32(1)] };
}
/** RFC 2675 Jumbo Payload option, for a Hop-by-Hop header. */
export function jumboPayloadOption(length: number): number[] {
  return [0xc2, 4, ...u32(length)];
}

/** Folded sum over the TCP segment and pseudo-header, stored checksum included: 0xffff when valid. */
export function tcpChecksumResidual(bytes: Uint8Array, info: PacketInfo): number {
  const pseudo = pseudoHeaderSum(bytes, info.srcAddrOffset, info.dstAddrOffset, info.addrLength, IPPROTO_TCP, info.ipEnd - info.l4Offset);
  return addWords(bytes, info.l4Offset, info.ipEnd, pseudo);
}
export function tcpChecksumValid(bytes: Uint8Array, info: PacketInfo): boolean {
  return tcpChecksumResidual(bytes, info) === 0xffff;
}
/** Folded sum over the IPv4 header, checksum included: 0xffff when valid. */
export function ipv4HeaderResidual(bytes: Uint8Array, start: number): number {
  const headerLength = (bytes[start]! & 0x0f) * 4;
  return foldChecksum(addWords(bytes, start, start + headerLength, 0));
}

export function hex(bytes: Uint8Array | number[]): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}
