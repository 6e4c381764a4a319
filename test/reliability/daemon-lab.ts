// Plumbing for the daemon-level reliability tests: the real CLI (`mssmangler rules --apply`, `mssmangler
// run`) inside a lab's router namespace, its /metrics read from inside that namespace, and kernel counters.
import { fileURLToPath } from 'node:url';
import { CLI, fetchInRouter } from '../lab/daemon.js';
import type { Lab } from '../lab/lab.js';
import type { TrackedProcess } from '../lab/process-group.js';
import { parseQueueStats, type QueueStats } from '../../src/metrics/queue-stats.js';

/** The built CLI. */
export const MAIN = CLI;
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** `mssmangler rules --apply` in the router: SYNs (IPv4) to the mangle FORWARD/OUTPUT NFQUEUE, with --queue-bypass. */
export async function applyRules(lab: Lab, queue: number, mss = 1380): Promise<void> {
  await lab.exec('router', process.execPath, [MAIN, 'rules', '--apply', '--queue', String(queue), '--set-mss', String(mss), '--direction', 'syn', '--family', '4']);
}

/**
 * Starts `mssmangler run` in the router and waits for its "started" line. `wrapper` (e.g. setpriv and
 * its flags) runs node; without it node runs directly.
 */
export async function startDaemon(lab: Lab, args: readonly string[], wrapper: readonly string[] = []): Promise<TrackedProcess> {
  const argv = [...wrapper, process.execPath, MAIN, 'run', '--log-format', 'json', ...args];
  const proc = lab.spawn('router', argv[0]!, argv.slice(1));
  await proc.waitFor(/"started"/, 15000);
  return proc;
}

/** GET a path from the daemon's metrics server, from inside the router namespace. */
export async function scrape(lab: Lab, listen = '127.0.0.1:9465', path = '/metrics'): Promise<string> {
  return fetchInRouter(lab, `http://${listen}${path}`);
}

/** Sum of every sample of `name` (labels matching `labelFilter`, e.g. 'outcome="modified"'). */
export function metricValue(exposition: string, name: string, labelFilter = ''): number {
  let sum = 0;
  for (const line of exposition.split('\n')) {
    if (line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    const key = line.slice(0, sp);
    if (key !== name && !key.startsWith(`${name}{`)) continue;
    if (labelFilter && !key.includes(labelFilter)) continue;
    sum += Number(line.slice(sp + 1));
  }
  return sum;
}

export async function kernelQueue(lab: Lab, queue: number): Promise<QueueStats | undefined> {
  const { stdout } = await lab.exec('router', 'cat', ['/proc/net/netfilter/nfnetlink_queue']);
  return parseQueueStats(stdout).find((s) => s.queue === queue);
}

/** Packets the router's mangle FORWARD NFQUEUE rule has seen (everything offered to the queue). */
export async function queueRulePackets(lab: Lab): Promise<number> {
  const { stdout } = await lab.exec('router', 'iptables', ['-t', 'mangle', '-nvxL', 'FORWARD']);
  const line = stdout.split('\n').find((l) => l.includes('NFQUEUE'));
  return line ? Number(line.trim().split(/\s+/)[0]) : -1;
}
