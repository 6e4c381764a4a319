// Classic pcap (draft-ietf-opsawg-pcap; what `tcpdump -w` writes). All fields are in the writer's byte
// order, which the magic number reveals; the magic also says whether the sub-second field counts
// microseconds or nanoseconds.
//
// File header, 24 bytes:
//    0                   1                   2                   3
//   +---------------------------------------------------------------+
//  0|                         Magic Number                          |
//   +-------------------------------+-------------------------------+
//  4|         Major Version         |         Minor Version         |
//   +-------------------------------+-------------------------------+
//  8|                     Reserved1 (thiszone)                      |
// 12|                     Reserved2 (sigfigs)                       |
// 16|                            SnapLen                            |
// 20| FCS |f|   reserved        |            LinkType               |
//   +---------------------------------------------------------------+
// Then per packet a 16-byte record header and the captured bytes:
//  0 timestamp seconds | 4 microseconds or nanoseconds | 8 captured length | 12 original length
import { captureError, damagedRemedy } from './capture-error.js';
import type { CapturedPacket, PacketHandler } from './captured-packet.js';
import { SUPPORTED_LINK_TYPES_TEXT, isSupportedLinkType, locateIp } from './link-layer.js';
import type { RecordReader } from './record-reader.js';

export const PcapHeaderField = { MAGIC: 0, VERSION_MAJOR: 4, VERSION_MINOR: 6, SNAPLEN: 16, LINK_TYPE: 20 } as const;
export const PCAP_HEADER_LENGTH = 24;
export const PcapRecordField = { SECONDS: 0, FRACTION: 4, CAPTURED_LENGTH: 8, ORIGINAL_LENGTH: 12 } as const;
export const PCAP_RECORD_HEADER_LENGTH = 16;

export const PCAP_MAGIC_MICROSECONDS = 0xa1b2c3d4;
export const PCAP_MAGIC_NANOSECONDS = 0xa1b23c4d;
const PCAP_VERSION_MAJOR = 2;
/** The link type proper; the bits above carry the FCS length and reserved bits (libpcap LT_LINKTYPE). */
const LINK_TYPE_MASK = 0x03ffffff;
/** libpcap's MAXIMUM_SNAPLEN: neither libpcap nor Wireshark reads a longer record for these link types. */
export const PCAP_MAX_CAPTURED_LENGTH = 262144;

/** The byte order a pcap magic number was written in, or null when it is not a pcap magic. */
export function pcapLittleEndian(bytes: Uint8Array, at: number): boolean | null {
  const le = (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
  if (le === PCAP_MAGIC_MICROSECONDS || le === PCAP_MAGIC_NANOSECONDS) return true;
  const be = ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
  if (be === PCAP_MAGIC_MICROSECONDS || be === PCAP_MAGIC_NANOSECONDS) return false;
  return null;
}

export class PcapRecords implements RecordReader {
  readonly format = 'pcap';
  readonly linkTypes: number[] = [];
  packets = 0;
  wanted = PCAP_HEADER_LENGTH;
  private headerRead = false;
  private littleEndian = true;
  private nanosPerUnit = 1000;
  private linkType = 0;

  constructor(
    private readonly file: string,
    private readonly packet: CapturedPacket,
    private readonly onPacket: PacketHandler,
  ) {}

  parse(bytes: Uint8Array, view: DataView, start: number, end: number, base: number): number {
    let at = start;
    if (!this.headerRead) {
      if (end - at < PCAP_HEADER_LENGTH) {
        this.wanted = PCAP_HEADER_LENGTH;
        return at;
      }
      this.readHeader(bytes, view, at, base);
      at += PCAP_HEADER_LENGTH;
    }
    const le = this.littleEndian;
    const linkType = this.linkType;
    const packet = this.packet;
    const onPacket = this.onPacket;
    packet.bytes = bytes;
    packet.interfaceId = 0;
    while (end - at >= PCAP_RECORD_HEADER_LENGTH) {
      const captured = view.getUint32(at + PcapRecordField.CAPTURED_LENGTH, le);
      if (captured > PCAP_MAX_CAPTURED_LENGTH) {
        throw captureError(
          this.file,
          base + at,
          `record ${this.packets + 1} claims ${captured} captured bytes, more than a capture holds (${PCAP_MAX_CAPTURED_LENGTH})`,
          damagedRemedy(this.packets),
        );
      }
      const dataStart = at + PCAP_RECORD_HEADER_LENGTH;
      const recordEnd = dataStart + captured;
      if (recordEnd > end) {
        this.wanted = PCAP_RECORD_HEADER_LENGTH + captured;
        return at;
      }
      packet.seconds = view.getUint32(at + PcapRecordField.SECONDS, le);
      packet.nanos = view.getUint32(at + PcapRecordField.FRACTION, le) * this.nanosPerUnit;
      packet.index = this.packets++;
      packet.fileOffset = base + at;
      locateIp(linkType, bytes, dataStart, recordEnd, packet);
      onPacket(packet);
      at = recordEnd;
    }
    this.wanted = PCAP_RECORD_HEADER_LENGTH;
    return at;
  }

  private readHeader(bytes: Uint8Array, view: DataView, at: number, base: number): void {
    const le = pcapLittleEndian(bytes, at);
    if (le === null) throw new Error('PcapRecords given a file without a pcap magic number');
    this.littleEndian = le;
    this.nanosPerUnit = view.getUint32(at + PcapHeaderField.MAGIC, le) === PCAP_MAGIC_NANOSECONDS ? 1 : 1000;
    const major = view.getUint16(at + PcapHeaderField.VERSION_MAJOR, le);
    if (major !== PCAP_VERSION_MAJOR) {
      throw captureError(
        this.file,
        base + at + PcapHeaderField.VERSION_MAJOR,
        `pcap version ${major} is not 2, the only one tcpdump and Wireshark write`,
        'the file is damaged or not a capture; convert it with `editcap -F pcap FILE OUT`',
      );
    }
    const linkType = view.getUint32(at + PcapHeaderField.LINK_TYPE, le) & LINK_TYPE_MASK;
    if (!isSupportedLinkType(linkType)) {
      throw captureError(
        this.file,
        base + at + PcapHeaderField.LINK_TYPE,
        `link type ${linkType} is not supported`,
        `capture where the link type is one of ${SUPPORTED_LINK_TYPES_TEXT} (\`tcpdump -i any\` always is)`,
      );
    }
    this.linkType = linkType;
    this.linkTypes.push(linkType);
    this.headerRead = true;
  }
}
