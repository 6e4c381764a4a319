// Shared pieces of the fault-injection lab tests: the daemon in the router namespace with its rules
// applied, and readers for what a capture shows (TCP options, MSS options, ICMPv6).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { applyRules, startDaemon, type RunningDaemon } from '../lab/daemon.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from '../lab/lab.js';

/** A temp directory removed by the returned function. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'mm-fault-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes the config, applies its firewall rules in the router and starts the daemon there. */
export async function startWithConfig(lab: Lab, dir: string, configText: string): Promise<RunningDaemon> {
  const file = join(dir, 'config.yaml');
  writeFileSync(file, configText, { mode: 0o644 });
  await applyRules(lab, ['--config', file]);
  return startDaemon(lab, ['--config', file]);
}

export interface Segment {
  family: 4 | 6;
  srcPort: number;
  dstPort: number;
  flags: number;
  /** The TCP option area. */
  options: Buffer;
  payloadLength: number;
}

/** A TCP segment directly behind an IPv4 or IPv6 header (the lab adds no extension headers), or null. */
export function tcpSegment(ip: Buffer): Segment | null {
  const version = ip[0]! >> 4;
  let l4: number;
  let end: number;
  if (version === 4) {
    if (ip[9] !== 6) return null;
    l4 = (ip[0]! & 0x0f) * 4;
    end = ip.readUInt16BE(2);
  } else if (version === 6) {
    if (ip[6] !== 6) return null;
    l4 = 40;
    end = 40 + ip.readUInt16BE(4);
  } else return null;
  const doff = (ip[l4 + 12]! >> 4) * 4;
  return {
    family: version as 4 | 6,
    srcPort: ip.readUInt16BE(l4),
    dstPort: ip.readUInt16BE(l4 + 2),
    flags: ip[l4 + 13]!,
    options: ip.subarray(l4 + 20, l4 + doff),
    payloadLength: end - l4 - doff,
  };
}

export const SYN = 0x02;
export const ACK = 0x10;

/** Values of every MSS option (kind 2, length 4) before EOL, in order. */
export function mssOptions(options: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i < options.length;) {
    const kind = options[i]!;
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    const length = options[i + 1]!;
    if (length < 2) break;
    if (kind === 2 && length === 4) out.push(options.readUInt16BE(i + 2));
    i += length;
  }
  return out;
}

/** Text form of an IPv6 address as the daemon's flow field writes it (groups, no compression). */
export function flowAddress(bytes: Buffer, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(at + i).toString(16));
  return groups.join(':');
}
