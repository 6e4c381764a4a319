// syngen (tools/syngen.c, built by scripts/build-tools.sh) in the generator namespace, pinned to the
// generator's core. Every SYN is a real Linux-shaped SYN (MSS, SACK-permitted, timestamps, window
// scale) with MSS OFFERED_MSS, a distinct source port and sequence number.
import { join } from 'node:path';
import { OFFERED_MSS } from './paths.js';
import { GENERATOR_CPU, addresses, repoRoot, type Family, type Rig } from './rig.js';

export const SYNGEN_PATH = join(repoRoot, 'tools/build/syngen');
/** The sink drops every SYN in its raw table: nothing listens, the port only has to be fixed. */
const DESTINATION_PORT = 80;

export interface GeneratorRun {
  sent: number;
  seconds: number;
}

export interface GeneratorOptions {
  /** SYN/s; 0 (default) means as fast as possible. */
  rate?: number;
  /** SYNs per sendmmsg (syngen default 64); paced, a burst every batch/rate seconds. */
  batch?: number;
  /** Source addresses from the generator's own (syngen --src-count), for --queue-balance. Default 1. */
  sources?: number;
}

/** Sends `count` SYNs from the generator to the sink. */
export async function generate(rig: Rig, family: Family, count: number, options: GeneratorOptions = {}): Promise<GeneratorRun> {
  const { src, dst } = addresses(family);
  const rate = options.rate ?? 0;
  const { stdout } = await rig.lab.exec('client', 'taskset', [
    '-c',
    String(GENERATOR_CPU),
    SYNGEN_PATH,
    '--src',
    src,
    '--dst',
    dst,
    '--count',
    String(Math.round(count)),
    '--rate',
    String(Math.round(rate)),
    '--mss',
    String(OFFERED_MSS),
    '--options',
    'linux',
    '--dport',
    String(DESTINATION_PORT),
    ...(options.batch ? ['--batch', String(options.batch)] : []),
    ...(options.sources && options.sources > 1 ? ['--src-count', String(options.sources)] : []),
  ]);
  const line = stdout.trim().split('\n').at(-1) ?? '';
  const parsed = JSON.parse(line) as { sent?: unknown; seconds?: unknown };
  if (typeof parsed.sent !== 'number' || typeof parsed.seconds !== 'number') throw new Error(`syngen printed ${line}`);
  return { sent: parsed.sent, seconds: parsed.seconds };
}
