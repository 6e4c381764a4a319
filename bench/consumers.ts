// The consumers the benchmark starts in the router: where they are and how the daemon is run.
import { join } from 'node:path';
import { fetchInRouter } from '../test/lab/daemon.js';
import { TARGET_MSS } from './paths.js';
import { repoRoot, type Rig } from './rig.js';

export const C_CONSUMER_PATH = join(repoRoot, 'bench/build/c-consumer');
export const MSSMANGLER_CONSUMER_PATH = join(repoRoot, 'dist/bench/consumer.js');
export const CLI_PATH = join(repoRoot, 'dist/src/cli/main.js');
/** The daemon's /metrics inside the router: scraped once, after the samples, for its batch sizes. */
const DAEMON_METRICS_LISTEN = '127.0.0.1:9465';

/** `mssmangler run` arguments: one `set` rule for SYNs, metrics on, only warnings logged. */
export function daemonArgs(queues: readonly string[], maxLen: number): string[] {
  return [
    'run',
    ...queues,
    '--set-mss',
    String(TARGET_MSS),
    '--direction',
    'syn',
    '--no-fail-open',
    '--queue-maxlen',
    String(maxLen),
    '--metrics-listen',
    DAEMON_METRICS_LISTEN,
    '--log-level',
    'warn',
  ];
}

/** Packets per batch from the daemon's own histogram (mssmangler_batch_packets). */
export async function daemonBatches(rig: Rig): Promise<string> {
  try {
    const text = await fetchInRouter(rig.lab, `http://${DAEMON_METRICS_LISTEN}/metrics`);
    const value = (name: string) =>
      Number(
        /^(\S+) (\S+)$/m.exec(
          text
            .split('\n')
            .filter((l) => l.startsWith(`${name} `))
            .join('\n'),
        )?.[2],
      );
    const packets = value('mssmangler_batch_packets_sum');
    const batches = value('mssmangler_batch_packets_count');
    return `${packets} packets in ${batches} batches (${(packets / batches).toFixed(1)} per batch; /metrics)`;
  } catch (err) {
    return `no /metrics: ${(err as Error).message}`;
  }
}
