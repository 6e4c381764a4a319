// A small writer of classic pcap files (the format of src/capture/pcap-records.ts), for tests that
// need many records and for the explain benchmark's million packets. Records accumulate in one
// growing buffer; take() hands over what was written since the last call, so a caller can stream a
// large file to disk in pieces.

const FILE_HEADER_LENGTH = 24;
const RECORD_HEADER_LENGTH = 16;
const MAGIC_MICROSECONDS = 0xa1b2c3d4;
const MAGIC_NANOSECONDS = 0xa1b23c4d;
const VERSION_MAJOR = 2;
const VERSION_MINOR = 4;
const SNAPLEN = 262144;

export interface PcapWriterOptions {
  linkType: number;
  littleEndian?: boolean;
  /** Sub-second field in nanoseconds (the default is microseconds). */
  nanoseconds?: boolean;
}

export class PcapWriter {
  private buffer = Buffer.alloc(1 << 16);
  private length = 0;
  private readonly littleEndian: boolean;
  readonly nanoseconds: boolean;

  constructor(options: PcapWriterOptions) {
    this.littleEndian = options.littleEndian ?? true;
    this.nanoseconds = options.nanoseconds ?? false;
    this.reserve(FILE_HEADER_LENGTH);
    this.u32(this.nanoseconds ? MAGIC_NANOSECONDS : MAGIC_MICROSECONDS);
    this.u16(VERSION_MAJOR);
    this.u16(VERSION_MINOR);
    this.u32(0); // thiszone
    this.u32(0); // sigfigs
    this.u32(SNAPLEN);
    this.u32(options.linkType);
  }

  /** One record; `fraction` is in the file's unit (microseconds or nanoseconds). Frames are parts
   * written one after the other (a link header, then the IP packet), without a copy to join them. */
  add(seconds: number, fraction: number, ...frame: Uint8Array[]): void {
    let captured = 0;
    for (const part of frame) captured += part.length;
    this.reserve(RECORD_HEADER_LENGTH + captured);
    this.u32(seconds);
    this.u32(fraction);
    this.u32(captured);
    this.u32(captured);
    for (const part of frame) {
      this.buffer.set(part, this.length);
      this.length += part.length;
    }
  }

  /** The bytes written since the previous take (the whole file so far, the first time). */
  take(): Buffer {
    const out = Buffer.from(this.buffer.subarray(0, this.length));
    this.length = 0;
    return out;
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const grown = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + extra));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  private u16(value: number): void {
    this.length = this.littleEndian ? this.buffer.writeUInt16LE(value, this.length) : this.buffer.writeUInt16BE(value, this.length);
  }

  private u32(value: number): void {
    this.length = this.littleEndian
      ? this.buffer.writeUInt32LE(value >>> 0, this.length)
      : this.buffer.writeUInt32BE(value >>> 0, this.length);
  }
}
