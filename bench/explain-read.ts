// The capture reader alone over a file, as a child of bench/explain.ts: reads every record, touches
// each packet's family and IP length (so nothing is optimised away), and prints one JSON line with
// the counts, the time spent reading and the process's peak RSS.
import { performance } from 'node:perf_hooks';
import { readCapture } from '../src/capture/read-capture.js';

const path = process.argv[2];
if (path === undefined) {
  console.error('usage: explain-read CAPTURE');
  process.exit(2);
}
let ipPackets = 0;
let ipBytes = 0;
const started = performance.now();
const summary = await readCapture(path, (p) => {
  if (p.family !== 0) ipPackets++;
  ipBytes += p.ipLength;
});
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ packets: summary.packets, ipPackets, ipBytes, seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
