// A reader for the classic pcap files tcpdump writes: just enough to hand tests the IP packets.
// Format: a 24-byte global header (magic, version, snaplen, link type) then per packet a 16-byte
// record header (seconds, sub-seconds, captured length, original length) and the captured bytes.

const GLOBAL_HEADER_LENGTH = 24;
const RECORD_HEADER_LENGTH = 16;
const MAGIC_MICROSECONDS = 0xa1b2c3d4;
const MAGIC_NANOSECONDS = 0xa1b23c4d;
const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW = 101;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_LINUX_SLL2 = 276;
const ETHERNET_HEADER_LENGTH = 14;
const SLL_HEADER_LENGTH = 16;
const SLL2_HEADER_LENGTH = 20;

export interface CapturedPacket {
  /** Seconds since the epoch, with the fraction. */
  time: number;
  /** Whole seconds since the epoch, and the rest in integer nanoseconds (a double of epoch seconds
   * cannot hold nanoseconds: latency measurements use these two). */
  seconds: number;
  subsecondNs: number;
  /** The IP packet (link-layer header removed). */
  ip: Buffer;
  /** Length on the wire before snaplen cut it. */
  originalLength: number;
}

export function readPcap(file: Buffer): CapturedPacket[] {
  if (file.length < GLOBAL_HEADER_LENGTH) return [];
  let littleEndian: boolean;
  let nanoseconds: boolean;
  const magicLe = file.readUInt32LE(0);
  const magicBe = file.readUInt32BE(0);
  if (magicLe === MAGIC_MICROSECONDS || magicLe === MAGIC_NANOSECONDS) {
    littleEndian = true;
    nanoseconds = magicLe === MAGIC_NANOSECONDS;
  } else if (magicBe === MAGIC_MICROSECONDS || magicBe === MAGIC_NANOSECONDS) {
    littleEndian = false;
    nanoseconds = magicBe === MAGIC_NANOSECONDS;
  } else {
    throw new Error('not a pcap file (pcapng is not supported: run tcpdump without --pcapng)');
  }
  const u32 = (at: number) => (littleEndian ? file.readUInt32LE(at) : file.readUInt32BE(at));
  const linkType = u32(20) & 0x0fffffff;
  const linkHeader = linkHeaderLength(linkType);

  const packets: CapturedPacket[] = [];
  let at = GLOBAL_HEADER_LENGTH;
  while (at + RECORD_HEADER_LENGTH <= file.length) {
    const seconds = u32(at);
    const fraction = u32(at + 4);
    const capturedLength = u32(at + 8);
    const originalLength = u32(at + 12);
    const dataStart = at + RECORD_HEADER_LENGTH;
    if (dataStart + capturedLength > file.length) break; // tcpdump killed mid-write
    if (capturedLength >= linkHeader) {
      packets.push({
        time: seconds + fraction / (nanoseconds ? 1e9 : 1e6),
        seconds,
        subsecondNs: nanoseconds ? fraction : fraction * 1000,
        ip: Buffer.from(file.subarray(dataStart + linkHeader, dataStart + capturedLength)),
        originalLength: originalLength - linkHeader,
      });
    }
    at = dataStart + capturedLength;
  }
  return packets;
}

function linkHeaderLength(linkType: number): number {
  switch (linkType) {
    case LINKTYPE_ETHERNET:
      return ETHERNET_HEADER_LENGTH;
    case LINKTYPE_RAW:
      return 0;
    case LINKTYPE_LINUX_SLL:
      return SLL_HEADER_LENGTH;
    case LINKTYPE_LINUX_SLL2:
      return SLL2_HEADER_LENGTH;
    default:
      throw new Error(`pcap link type ${linkType} is not supported`);
  }
}
