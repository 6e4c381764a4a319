// Added latency at a moderate offered load: the router's own captures on its way in (toc, received)
// and its way out (tos, sent), matched by source port and sequence number (unique per SYN in a run).
// Both timestamps are the kernel's, taken where the packet taps sit in the receive and transmit paths
// (the forward path clears the receive stamp, so the outgoing one is taken at transmit), so the
// difference is the time a SYN spent inside the router: forwarding plus, on the queue paths, the trip
// to userspace and back. tcpdump runs on the generator's core: its own scheduling does not move the
// stamps, only whether it keeps up. Sent-minus-received at this load is the loss below saturation.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LabInterface } from '../test/lab/lab.js';
import type { TrackedProcess } from '../test/lab/process-group.js';
import { generate } from './generator.js';
import { OFFERED_MSS, PATHS, TARGET_MSS, type PathName } from './paths.js';
import { GENERATOR_CPU, type Family, type Rig } from './rig.js';
import { percentileOfSorted } from './stats.js';
import { firstSecond, readSyns } from './syn-capture.js';

export interface LatencySample {
  offeredPps: number;
  sent: number;
  /** SYNs that reached the sink. */
  received: number;
  loss: number;
  /** SYNs seen in both captures (the latency sample). */
  matched: number;
  p50Us: number;
  p99Us: number;
  /** Captured outgoing SYNs whose MSS is not what the path should leave. */
  wrongMss: number;
  /** Captured outgoing SYNs with a wrong TCP checksum. */
  badChecksums: number;
}

/** Headers only: Ethernet + IPv6 + TCP with 40 bytes of options is 114 bytes. */
const SNAPLEN = 128;
/** tcpdump's kernel buffer in KiB: a few seconds of SYNs at the offered load. */
const CAPTURE_BUFFER_KIB = 32768;

/** `burst`: SYNs per generator burst (1: evenly spaced; a burst arrives at line rate, so a large one
 * measures queueing behind the burst more than the added latency at the offered load). */
export async function measureLatency(
  rig: Rig,
  family: Family,
  path: PathName,
  rate: number,
  seconds: number,
  burst: number,
): Promise<LatencySample> {
  const spec = PATHS[path];
  const dir = mkdtempSync(join(tmpdir(), 'mm-bench-'));
  const inFile = join(dir, 'in.pcap');
  const outFile = join(dir, 'out.pcap');
  const captures: TrackedProcess[] = [];
  try {
    captures.push(await startCapture(rig, LabInterface.routerToClient, 'in', inFile));
    captures.push(await startCapture(rig, LabInterface.routerToServer, 'out', outFile));
    const sinkBefore = await rig.readSink(family);
    const run = await generate(rig, family, rate * seconds, { rate, batch: burst });
    await rig.settle(spec.queue);
    const sinkAfter = await rig.readSink(family);
    for (const capture of captures) await capture.stop('SIGINT');

    const inBytes = readFileSync(inFile);
    const base = firstSecond(inBytes);
    const inbound = readSyns(inBytes, base);
    const outbound = readSyns(readFileSync(outFile), base);
    const arrival = new Map<number, number>();
    for (const syn of inbound) arrival.set(syn.key, arrival.has(syn.key) ? NaN : syn.timeNs);
    const latencies: number[] = [];
    const expectedMss = spec.rewrites ? TARGET_MSS : OFFERED_MSS;
    let wrongMss = 0;
    let badChecksums = 0;
    for (const syn of outbound) {
      if (syn.mss !== expectedMss) wrongMss++;
      if (!syn.checksumOk) badChecksums++;
      const t = arrival.get(syn.key);
      if (t !== undefined && !Number.isNaN(t)) latencies.push(syn.timeNs - t);
    }
    const sorted = Float64Array.from(latencies).sort();
    const received = sinkAfter.rewritten - sinkBefore.rewritten + sinkAfter.other - sinkBefore.other;
    return {
      offeredPps: rate,
      sent: run.sent,
      received,
      loss: run.sent - received,
      matched: sorted.length,
      p50Us: percentileOfSorted(sorted, 50) / 1000,
      p99Us: percentileOfSorted(sorted, 99) / 1000,
      wrongMss,
      badChecksums,
    };
  } finally {
    for (const capture of captures) await capture.stop('SIGKILL', 0);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function startCapture(rig: Rig, iface: string, direction: 'in' | 'out', file: string): Promise<TrackedProcess> {
  const tcpdump = rig.lab.spawn('router', 'taskset', [
    '-c',
    String(GENERATOR_CPU),
    'tcpdump',
    '-i',
    iface,
    '-Q',
    direction,
    '-n',
    '-s',
    String(SNAPLEN),
    '-B',
    String(CAPTURE_BUFFER_KIB),
    '--time-stamp-precision=nano',
    '-Z',
    'root',
    '-w',
    file,
    'tcp',
  ]);
  await tcpdump.waitFor(/listening on/, 5000);
  return tcpdump;
}
