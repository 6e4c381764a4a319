// Reading a fixture into plain records a test can compare: the reader's packet view is reused, so
// each call copies what it shows.
import type { CapturedPacket, CaptureSummary } from '../../src/capture/captured-packet.js';
import { readCaptureBytes } from '../../src/capture/read-capture.js';

export interface Seen {
  index: number;
  fileOffset: number;
  interfaceId: number;
  seconds: number;
  nanos: number;
  family: number;
  /** The bytes from ipOffset on, as hex ('' when no IP). */
  ip: string;
}

export function seen(p: CapturedPacket): Seen {
  return {
    index: p.index,
    fileOffset: p.fileOffset,
    interfaceId: p.interfaceId,
    seconds: p.seconds,
    nanos: p.nanos,
    family: p.family,
    ip: p.ipOffset < 0 ? '' : Buffer.from(p.bytes.subarray(p.ipOffset, p.ipOffset + p.ipLength)).toString('hex'),
  };
}

export function collectBytes(contents: Uint8Array, name = 'fixture.pcap'): { packets: Seen[]; summary: CaptureSummary } {
  const packets: Seen[] = [];
  const summary = readCaptureBytes(name, contents, (p) => packets.push(seen(p)));
  return { packets, summary };
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
