// tcpdump inside a lab namespace, writing pcap to a temp file; stop() returns the IP packets.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Host, Lab } from './lab.js';
import { readPcap, type CapturedIpPacket } from './pcap.js';

export interface Capture {
  stop(): Promise<CapturedIpPacket[]>;
}

export interface CaptureOptions {
  /** BPF filter, e.g. 'tcp[tcpflags] & tcp-syn != 0'. */
  filter?: string;
  /** Only packets received on the interface ('in') or sent ('out'). */
  direction?: 'in' | 'out';
}

export async function startCapture(lab: Lab, host: Host, iface: string, options: CaptureOptions = {}): Promise<Capture> {
  const dir = mkdtempSync(join(tmpdir(), 'mm-cap-'));
  const file = join(dir, 'capture.pcap');
  // --immediate-mode: without it packets wait in the kernel's ring for up to a block timeout and a
  // capture stopped right after the traffic misses them.
  const args = ['-i', iface, '-n', '--immediate-mode', '-U', '-s', '0', '-w', file];
  if (options.direction) args.push('-Q', options.direction);
  if (options.filter) args.push(options.filter);
  const tcpdump = lab.spawn(host, 'tcpdump', args);
  try {
    await tcpdump.waitFor(/listening on/, 5000);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    async stop() {
      // Let packets in flight reach the capture before it ends.
      await new Promise((r) => setTimeout(r, 100));
      await tcpdump.stop('SIGINT');
      try {
        return readPcap(readFileSync(file));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
