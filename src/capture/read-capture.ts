// Reading a capture file from start to end with memory that does not grow with the file: one buffer
// (1 MiB, grown only for a record larger than that, at most PCAPNG_MAX_BLOCK_LENGTH) is refilled from
// the file, the format's reader walks the whole records in it and hands each packet to the caller
// through one reused view, and the incomplete record at the end of the window moves to the front
// before the next read.
import { CHUNK_LENGTH, openByteSource, startsWithGzipMagic } from './byte-source.js';
import { captureError } from './capture-error.js';
import { MAGIC_LENGTH, recordReaderFor } from './capture-format.js';
import type { CapturedPacket, CaptureSummary, PacketHandler, ReadCaptureOptions } from './captured-packet.js';
import type { RecordReader } from './record-reader.js';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';

function newPacketView(): CapturedPacket {
  return { bytes: new Uint8Array(0), ipOffset: -1, ipLength: 0, family: 0, seconds: 0, nanos: 0, interfaceId: 0, index: 0, fileOffset: 0 };
}

function tooShort(file: string, length: number) {
  return captureError(
    file,
    0,
    length === 0 ? 'the file is empty, not a capture' : `the file holds ${length} bytes, too few for a capture header`,
    'give a file written by `tcpdump -w`, dumpcap or Wireshark (a capture stopped before its first packet is empty)',
  );
}

function summarize(reader: RecordReader, stoppedAt: number | null): CaptureSummary {
  return { packets: reader.packets, truncatedAt: stoppedAt, format: reader.format, linkTypes: [...reader.linkTypes] };
}

/**
 * Calls onPacket for every record of the pcap or pcapng file (gzip-compressed or not), in file order.
 * The packet object and its bytes are reused: valid only during the call. Resolves with what was read;
 * a file that ends mid-record resolves too, with truncatedAt. Rejects only with the ERR_CAPTURE_INVALID
 * error (one line: file, byte offset, problem, remedy), or with whatever onPacket throws.
 */
export async function readCapture(file: string, onPacket: PacketHandler, options: ReadCaptureOptions = {}): Promise<CaptureSummary> {
  const source = await openByteSource(file);
  try {
    let buffer = new Uint8Array(CHUNK_LENGTH);
    let view = new DataView(buffer.buffer);
    /** File offset (uncompressed) of buffer[0]; the window of unread bytes is buffer[start, end). */
    let base = 0;
    let start = 0;
    let end = 0;
    const packet = newPacketView();
    let reader: RecordReader | null = null;
    for (;;) {
      if (start > 0) {
        buffer.copyWithin(0, start, end);
        base += start;
        end -= start;
        start = 0;
      }
      const wanted = reader?.wanted ?? MAGIC_LENGTH;
      if (end === buffer.length) {
        // A record larger than the buffer; the format readers bound `wanted`.
        if (wanted <= buffer.length) throw new Error(`capture reader made no progress at byte ${base}`);
        const grown = new Uint8Array(wanted);
        grown.set(buffer.subarray(0, end));
        buffer = grown;
        view = new DataView(buffer.buffer);
      }
      const n = await source.read(buffer, end, buffer.length - end);
      if (n === 0) break;
      end += n;
      options.onProgress?.(source.fileBytesRead, source.fileLength);
      if (reader === null) {
        if (end < MAGIC_LENGTH) continue;
        reader = recordReaderFor(file, buffer, packet, onPacket);
      }
      start = reader.parse(buffer, view, start, end, base);
    }
    if (reader === null) throw tooShort(file, end);
    return summarize(reader, start < end || source.cutShort ? base + start : null);
  } finally {
    await source.close();
  }
}

/**
 * The same over a whole file already in memory (test fixtures, small lab captures). `file` names it
 * in error messages.
 */
export function readCaptureBytes(file: string, contents: Uint8Array, onPacket: PacketHandler): CaptureSummary {
  let bytes = contents;
  let cutShort = false;
  if (startsWithGzipMagic(bytes)) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      if ((error as { code?: string }).code !== 'Z_BUF_ERROR') {
        throw captureError(
          file,
          0,
          `gzip data is damaged (${(error as Error).message})`,
          'check it with `gzip -t FILE`; `zcat FILE > OUT` keeps what can be read',
          error,
        );
      }
      // A cut gzip stream: keep what decompresses, as tcpdump's readers do with a cut capture.
      bytes = gunzipSync(contents, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
      cutShort = true;
    }
  }
  if (bytes.length < MAGIC_LENGTH) throw tooShort(file, bytes.length);
  const reader = recordReaderFor(file, bytes, newPacketView(), onPacket);
  // A view over exactly the bytes the Uint8Array shows, so both index from the same 0.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stop = reader.parse(bytes, view, 0, bytes.length, 0);
  return summarize(reader, stop < bytes.length || cutShort ? stop : null);
}
