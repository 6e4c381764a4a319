// Plumbing for the daemon-level reliability tests (the daemon itself starts through test/lab/daemon.ts):
// their fixtures and the kernel's own counters of the queue and of our firewall rule.
import { fileURLToPath } from 'node:url';
import type { Lab } from '../lab/lab.js';
import { parseQueueStats, type QueueStats } from '../../src/queue/queue-stats.js';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

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
