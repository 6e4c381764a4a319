// Reads the SYNs out of a tcpdump capture written with --time-stamp-precision=nano: for each one its
// key (source port and sequence number, which syngen makes unique within a run), its time in integer
// nanoseconds, its MSS and whether its TCP checksum is right. The latency measurement matches the
// router's two captures by key. The pcap reading and the segment views are the lab's (test/lab/pcap.ts,
// test/differential/segment-view.ts), independent of the core being measured.
import { readPcap } from '../test/lab/pcap.js';
import { kernelWalkMssOffsets, mssAt, tcpChecksumOk, viewSegment } from '../test/differential/segment-view.js';

const MAGIC_NANOSECONDS = 0xa1b23c4d;
const TCP_SEQ = 4;
const TCP_FLAGS = 13;
const TCP_SYN = 0x02;
const NS_PER_SECOND = 1e9;
/** 2^32: a key is port * 2^32 + sequence number, below 2^48, exact in a double. */
const SEQ_SPACE = 0x1_0000_0000;

export interface SynRecord {
  key: number;
  /** Nanoseconds since `baseSeconds`. */
  timeNs: number;
  /** The first MSS option's value, or -1. */
  mss: number;
  checksumOk: boolean;
}

/** The SYNs in a capture, in capture order. Times count from `baseSeconds` (an epoch second). */
export function readSyns(file: Buffer, baseSeconds: number): SynRecord[] {
  if (file.length >= 4 && file.readUInt32LE(0) !== MAGIC_NANOSECONDS) {
    throw new Error('capture is not a little-endian nanosecond pcap: run tcpdump with --time-stamp-precision=nano');
  }
  const records: SynRecord[] = [];
  for (const packet of readPcap(file)) {
    const ip = packet.ip;
    const view = viewSegment(ip);
    if (!view || (ip[view.l4 + TCP_FLAGS]! & TCP_SYN) === 0) continue;
    const mssOffset = kernelWalkMssOffsets(ip, view)[0];
    records.push({
      key: view.srcPort * SEQ_SPACE + ip.readUInt32BE(view.l4 + TCP_SEQ),
      timeNs: (packet.seconds - baseSeconds) * NS_PER_SECOND + packet.subsecondNs,
      mss: mssOffset === undefined ? -1 : mssAt(ip, mssOffset),
      checksumOk: tcpChecksumOk(ip, view),
    });
  }
  return records;
}

/** The first record's epoch second, a common base for two captures of one run. */
export function firstSecond(file: Buffer): number {
  return readPcap(file)[0]?.seconds ?? 0;
}
