// The kernel's own line for a queue, from /proc/net/netfilter/nfnetlink_queue (per network namespace:
// read it from a process inside the queue's namespace). Format from seq_show() in
// net/netfilter/nfnetlink_queue.c: queue, peer port id, queue_total, copy mode, copy range,
// queue_dropped, queue_user_dropped, id_sequence, 1.
import { readFileSync } from 'node:fs';

export const KERNEL_QUEUE_STATS_PATH = '/proc/net/netfilter/nfnetlink_queue';

export interface KernelQueueStats {
  queue: number;
  /** Netlink port id of the bound socket (for the first socket of a process, its pid). */
  portId: number;
  /** Packets queued and waiting for a verdict now. */
  waiting: number;
  copyMode: number;
  copyRange: number;
  /** Dropped because the queue was full (fail-open off). With fail-open on, those packets pass and no counter moves. */
  queueDropped: number;
  /** Dropped because the socket buffer was full (fail-open off). */
  userDropped: number;
  /** The last packet id handed out: packets that entered the queue so far. */
  idSequence: number;
}

/** Parses the whole file; lines that do not have the expected fields are skipped. */
export function parseKernelQueueStats(text: string): KernelQueueStats[] {
  const out: KernelQueueStats[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/).map(Number);
    if (f.length < 8 || f.slice(0, 8).some((n) => !Number.isInteger(n))) continue;
    out.push({
      queue: f[0]!,
      portId: f[1]!,
      waiting: f[2]!,
      copyMode: f[3]!,
      copyRange: f[4]!,
      queueDropped: f[5]!,
      userDropped: f[6]!,
      idSequence: f[7]!,
    });
  }
  return out;
}

/** The line for `queue`, or undefined when nobody has it bound in this network namespace. */
export function readKernelQueueStats(queue: number, path: string = KERNEL_QUEUE_STATS_PATH): KernelQueueStats | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  return parseKernelQueueStats(text).find((s) => s.queue === queue);
}
