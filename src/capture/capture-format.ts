// Which reader a file needs, from its first four bytes (never from its name): a pcap magic in either
// byte order and resolution, or the pcapng Section Header Block type, which reads the same both ways.
import { captureError } from './capture-error.js';
import type { CapturedPacket, PacketHandler } from './captured-packet.js';
import { PcapRecords, pcapLittleEndian } from './pcap-records.js';
import { BlockType, PcapngBlocks } from './pcapng-blocks.js';
import type { RecordReader } from './record-reader.js';

export const MAGIC_LENGTH = 4;

/** Returns the reader for the file whose first bytes are bytes[0, MAGIC_LENGTH); throws if neither format. */
export function recordReaderFor(file: string, bytes: Uint8Array, packet: CapturedPacket, onPacket: PacketHandler): RecordReader {
  if (pcapLittleEndian(bytes, 0) !== null) return new PcapRecords(file, packet, onPacket);
  const type = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  if (type === BlockType.SECTION_HEADER) return new PcapngBlocks(file, packet, onPacket);
  const hex = Array.from(bytes.subarray(0, MAGIC_LENGTH), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw captureError(
    file,
    0,
    `not a pcap or pcapng capture (it starts with ${hex})`,
    'give a file written by `tcpdump -w`, dumpcap or Wireshark, or convert it with `editcap -F pcap FILE OUT`',
  );
}
