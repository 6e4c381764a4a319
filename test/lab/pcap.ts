// The lab's view of a tcpdump capture: the IP packets, copied out, with their times. The reading is
// the product's capture reader (src/capture/), so lab tests and `mssmangler explain` agree on what a
// file holds: both pcap and pcapng, every link type it knows, frames without IP left out, and a
// record cut short by a killed tcpdump dropped.
import { readCaptureBytes } from '../../src/capture/read-capture.js';

/** One IP packet copied out of a capture (src/capture's CapturedPacket is the reader's reused view of a record). */
export interface CapturedIpPacket {
  /** Seconds since the epoch, with the fraction. */
  time: number;
  /** Whole seconds since the epoch, and the rest in integer nanoseconds (a double of epoch seconds
   * cannot hold nanoseconds: latency measurements use these two). */
  seconds: number;
  subsecondNs: number;
  /** The IP packet (link-layer header removed). */
  ip: Buffer;
}

export function readPcap(file: Buffer): CapturedIpPacket[] {
  const packets: CapturedIpPacket[] = [];
  readCaptureBytes('capture', file, (p) => {
    if (p.ipOffset < 0) return;
    packets.push({
      time: p.seconds + p.nanos / 1e9,
      seconds: p.seconds,
      subsecondNs: p.nanos,
      ip: Buffer.from(p.bytes.subarray(p.ipOffset, p.ipOffset + p.ipLength)),
    });
  });
  return packets;
}
