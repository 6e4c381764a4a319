// pcapng (draft-ietf-opsawg-pcapng; what dumpcap and Wireshark write, and `editcap -F pcapng`). A file
// is a run of blocks, each framed the same way, in the byte order of its section:
//
//   0 Block Type | 4 Block Total Length | 8 body ... | Block Total Length again (last 4 bytes)
//
// A Section Header Block starts each section, says its byte order and forgets the interfaces before it.
// Interface Description Blocks number the interfaces 0, 1, ... in order; each packet names its
// interface, which gives its link type and timestamp resolution. Blocks of other types (statistics,
// name resolution, decryption secrets, custom) are skipped by their length.
import { captureError, damagedRemedy } from './capture-error.js';
import type { CapturedPacket, PacketHandler } from './captured-packet.js';
import { SUPPORTED_LINK_TYPES_TEXT, isSupportedLinkType, locateIp } from './link-layer.js';
import type { RecordReader } from './record-reader.js';
import { MICROSECONDS, TimestampScale } from './timestamp-scale.js';

export const BlockType = {
  SECTION_HEADER: 0x0a0d0d0a,
  INTERFACE_DESCRIPTION: 0x00000001,
  /** Obsolete Packet Block (pcapng drafts before EPB): a 16-bit interface id and a 16-bit drop count. */
  PACKET: 0x00000002,
  SIMPLE_PACKET: 0x00000003,
  ENHANCED_PACKET: 0x00000006,
} as const;

export const BlockField = { TYPE: 0, TOTAL_LENGTH: 4, BODY: 8 } as const;
/** Type, total length, and the trailing copy of the total length. */
const BLOCK_FRAMING_LENGTH = 12;
const BLOCK_TRAILER_LENGTH = 4;

/** Section Header Block body: byte-order magic, version, section length (-1: unknown), options. */
export const SectionHeaderField = { BYTE_ORDER_MAGIC: 8, VERSION_MAJOR: 12, VERSION_MINOR: 14, SECTION_LENGTH: 16, OPTIONS: 24 } as const;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const PCAPNG_VERSION_MAJOR = 1;

/** Interface Description Block body: link type, reserved, snap length, options. */
export const InterfaceField = { LINK_TYPE: 8, SNAPLEN: 12, OPTIONS: 16 } as const;

/** Enhanced Packet Block body: interface id, timestamp (high, low), captured and original length, data. */
export const EnhancedPacketField = {
  INTERFACE_ID: 8,
  TIMESTAMP_HIGH: 12,
  TIMESTAMP_LOW: 16,
  CAPTURED_LENGTH: 20,
  ORIGINAL_LENGTH: 24,
  DATA: 28,
} as const;
/** Obsolete Packet Block body: as the EPB, but the interface id is 16 bits followed by a drop count. */
export const PacketField = {
  INTERFACE_ID: 8,
  DROPS: 10,
  TIMESTAMP_HIGH: 12,
  TIMESTAMP_LOW: 16,
  CAPTURED_LENGTH: 20,
  ORIGINAL_LENGTH: 24,
  DATA: 28,
} as const;
/** Simple Packet Block body: original length, data (captured length = what fits, up to the snap length). */
export const SimplePacketField = { ORIGINAL_LENGTH: 8, DATA: 12 } as const;

/** Options: code(2) length(2) value, padded to 32 bits; code 0 ends the list. */
const OptionField = { CODE: 0, LENGTH: 2, VALUE: 4 } as const;
const OPT_ENDOFOPT = 0;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;

/** Larger than any packet block of a real capture (Wireshark's own limit is 16 MiB as well): a longer
 * length means a damaged file, and the reader's buffer never needs to grow past it. */
export const PCAPNG_MAX_BLOCK_LENGTH = 16 * 1024 * 1024;

interface Interface {
  linkType: number;
  snaplen: number;
  scale: TimestampScale;
  offsetSeconds: number;
}

function padded(length: number): number {
  return (length + 3) & ~3;
}

export class PcapngBlocks implements RecordReader {
  readonly format = 'pcapng';
  readonly linkTypes: number[] = [];
  packets = 0;
  wanted = BLOCK_FRAMING_LENGTH;
  private littleEndian = true;
  private interfaces: Interface[] = [];

  constructor(
    private readonly file: string,
    private readonly packet: CapturedPacket,
    private readonly onPacket: PacketHandler,
  ) {}

  parse(bytes: Uint8Array, view: DataView, start: number, end: number, base: number): number {
    let at = start;
    const packet = this.packet;
    packet.bytes = bytes;
    while (end - at >= BLOCK_FRAMING_LENGTH) {
      const type = view.getUint32(at + BlockField.TYPE, this.littleEndian);
      if (type === BlockType.SECTION_HEADER) this.littleEndian = this.sectionByteOrder(view, at, base);
      const le = this.littleEndian;
      const length = view.getUint32(at + BlockField.TOTAL_LENGTH, le);
      if (length < BLOCK_FRAMING_LENGTH || length % 4 !== 0 || length > PCAPNG_MAX_BLOCK_LENGTH) {
        throw this.damaged(base + at, `block of type 0x${type.toString(16)} claims a length of ${length} bytes`);
      }
      if (length > end - at) {
        this.wanted = length;
        return at;
      }
      const trailer = view.getUint32(at + length - BLOCK_TRAILER_LENGTH, le);
      if (trailer !== length) {
        throw this.damaged(base + at, `block of type 0x${type.toString(16)} starts with length ${length} and ends with ${trailer}`);
      }
      const bodyEnd = at + length - BLOCK_TRAILER_LENGTH;
      switch (type) {
        case BlockType.ENHANCED_PACKET:
          if (length < EnhancedPacketField.DATA + BLOCK_TRAILER_LENGTH)
            throw this.damaged(base + at, `enhanced packet block of ${length} bytes is too short`);
          this.packetBlock(
            bytes,
            at,
            base,
            view.getUint32(at + EnhancedPacketField.INTERFACE_ID, le),
            view.getUint32(at + EnhancedPacketField.TIMESTAMP_HIGH, le),
            view.getUint32(at + EnhancedPacketField.TIMESTAMP_LOW, le),
            view.getUint32(at + EnhancedPacketField.CAPTURED_LENGTH, le),
            at + EnhancedPacketField.DATA,
            bodyEnd,
          );
          break;
        case BlockType.SIMPLE_PACKET:
          if (length < SimplePacketField.DATA + BLOCK_TRAILER_LENGTH)
            throw this.damaged(base + at, `simple packet block of ${length} bytes is too short`);
          this.simplePacketBlock(bytes, view, at, base, bodyEnd);
          break;
        case BlockType.PACKET:
          if (length < PacketField.DATA + BLOCK_TRAILER_LENGTH)
            throw this.damaged(base + at, `packet block of ${length} bytes is too short`);
          this.packetBlock(
            bytes,
            at,
            base,
            view.getUint16(at + PacketField.INTERFACE_ID, le),
            view.getUint32(at + PacketField.TIMESTAMP_HIGH, le),
            view.getUint32(at + PacketField.TIMESTAMP_LOW, le),
            view.getUint32(at + PacketField.CAPTURED_LENGTH, le),
            at + PacketField.DATA,
            bodyEnd,
          );
          break;
        case BlockType.INTERFACE_DESCRIPTION:
          if (length < InterfaceField.OPTIONS + BLOCK_TRAILER_LENGTH)
            throw this.damaged(base + at, `interface description block of ${length} bytes is too short`);
          this.interfaceBlock(bytes, view, at, base, bodyEnd);
          break;
        case BlockType.SECTION_HEADER:
          if (length < SectionHeaderField.OPTIONS + BLOCK_TRAILER_LENGTH)
            throw this.damaged(base + at, `section header block of ${length} bytes is too short`);
          this.sectionBlock(view, at, base);
          break;
        default:
          break; // statistics, name resolution, secrets, custom blocks: nothing explain needs
      }
      at += length;
    }
    this.wanted = BLOCK_FRAMING_LENGTH;
    return at;
  }

  /** The byte-order magic decides how to read the rest of the section, its own length included. */
  private sectionByteOrder(view: DataView, at: number, base: number): boolean {
    const magic = view.getUint32(at + SectionHeaderField.BYTE_ORDER_MAGIC, true);
    if (magic === BYTE_ORDER_MAGIC) return true;
    if (view.getUint32(at + SectionHeaderField.BYTE_ORDER_MAGIC, false) === BYTE_ORDER_MAGIC) return false;
    throw this.damaged(
      base + at + SectionHeaderField.BYTE_ORDER_MAGIC,
      `section header has byte-order magic 0x${magic.toString(16)}, not 0x1a2b3c4d`,
    );
  }

  private sectionBlock(view: DataView, at: number, base: number): void {
    const major = view.getUint16(at + SectionHeaderField.VERSION_MAJOR, this.littleEndian);
    if (major !== PCAPNG_VERSION_MAJOR) {
      throw captureError(
        this.file,
        base + at + SectionHeaderField.VERSION_MAJOR,
        `pcapng version ${major} is not 1, the only one there is`,
        'the file is damaged or not a capture; convert it with `editcap -F pcapng FILE OUT`',
      );
    }
    this.interfaces = [];
  }

  private interfaceBlock(bytes: Uint8Array, view: DataView, at: number, base: number, bodyEnd: number): void {
    const le = this.littleEndian;
    const iface: Interface = {
      linkType: view.getUint16(at + InterfaceField.LINK_TYPE, le),
      snaplen: view.getUint32(at + InterfaceField.SNAPLEN, le),
      scale: MICROSECONDS,
      offsetSeconds: 0,
    };
    // Options are advisory: a malformed list ends the walk rather than the file.
    let option = at + InterfaceField.OPTIONS;
    while (option + OptionField.VALUE <= bodyEnd) {
      const code = view.getUint16(option + OptionField.CODE, le);
      const length = view.getUint16(option + OptionField.LENGTH, le);
      const value = option + OptionField.VALUE;
      if (code === OPT_ENDOFOPT || value + length > bodyEnd) break;
      if (code === IF_TSRESOL && length >= 1) {
        const scale = TimestampScale.fromTsresol(bytes[value]!);
        if (scale === null)
          throw this.damaged(
            base + value,
            `interface ${this.interfaces.length} has timestamp resolution 0x${bytes[value]!.toString(16)}, finer than any clock`,
          );
        iface.scale = scale;
      } else if (code === IF_TSOFFSET && length >= 8) {
        iface.offsetSeconds = Number(view.getBigInt64(value, le));
      }
      option = value + padded(length);
    }
    this.interfaces.push(iface);
    if (!this.linkTypes.includes(iface.linkType)) this.linkTypes.push(iface.linkType);
  }

  private packetBlock(
    bytes: Uint8Array,
    at: number,
    base: number,
    interfaceId: number,
    high: number,
    low: number,
    captured: number,
    data: number,
    bodyEnd: number,
  ): void {
    if (captured > bodyEnd - data)
      throw this.damaged(base + at, `packet claims ${captured} captured bytes in a block with room for ${bodyEnd - data}`);
    const iface = this.interfaceFor(interfaceId, at, base);
    const packet = this.packet;
    iface.scale.apply(high, low, iface.offsetSeconds, packet);
    this.emit(bytes, at, base, interfaceId, iface.linkType, data, data + captured);
  }

  private simplePacketBlock(bytes: Uint8Array, view: DataView, at: number, base: number, bodyEnd: number): void {
    const iface = this.interfaceFor(0, at, base);
    const data = at + SimplePacketField.DATA;
    // The block holds min(original length, snap length) bytes, padded (pcapng "Simple Packet Block").
    let captured = Math.min(view.getUint32(at + SimplePacketField.ORIGINAL_LENGTH, this.littleEndian), bodyEnd - data);
    if (iface.snaplen !== 0) captured = Math.min(captured, iface.snaplen);
    this.packet.seconds = 0;
    this.packet.nanos = 0;
    this.emit(bytes, at, base, 0, iface.linkType, data, data + captured);
  }

  private emit(bytes: Uint8Array, at: number, base: number, interfaceId: number, linkType: number, data: number, dataEnd: number): void {
    const packet = this.packet;
    packet.interfaceId = interfaceId;
    packet.index = this.packets;
    packet.fileOffset = base + at;
    locateIp(linkType, bytes, data, dataEnd, packet);
    this.packets++;
    this.onPacket(packet);
  }

  private interfaceFor(interfaceId: number, at: number, base: number): Interface {
    const iface = this.interfaces[interfaceId];
    if (iface === undefined) {
      throw this.damaged(base + at, `packet names interface ${interfaceId}, but the section describes ${this.interfaces.length}`);
    }
    if (!isSupportedLinkType(iface.linkType)) {
      throw captureError(
        this.file,
        base + at,
        `packet on interface ${interfaceId} has link type ${iface.linkType}, which is not supported`,
        `capture where the link type is one of ${SUPPORTED_LINK_TYPES_TEXT} (\`tcpdump -i any\` always is)`,
      );
    }
    return iface;
  }

  private damaged(offset: number, problem: string) {
    return captureError(this.file, offset, problem, damagedRemedy(this.packets));
  }
}
