// The kernel's own view of an NFQUEUE: /proc/net/netfilter/nfnetlink_queue, one line per bound queue
// in the reader's network namespace. Read at scrape time only.
//
// Format (net/netfilter/nfnetlink_queue.c, seq_show):
//   "%5u %6u %5u %1u %5u %5u %5u %8u %2d\n"
//   queue_num peer_portid queue_total copy_mode copy_range queue_dropped queue_user_dropped id_sequence 1
// Kernels before 4.x printed the same fields with %d; a value past 2^31 then shows as negative, so
// every field is read back as an unsigned 32-bit number. The last field was once a use count and is a
// constant 1 since; it is ignored.
import { readFile } from 'node:fs/promises';

export const NFQUEUE_PROC_PATH = '/proc/net/netfilter/nfnetlink_queue';

export interface QueueStats {
  readonly queue: number;
  /** Netlink port id of the process bound to the queue. */
  readonly peerPortId: number;
  /** Packets waiting in the kernel for a verdict right now (a gauge, not a counter). */
  readonly waiting: number;
  /** 0 none, 1 meta, 2 packet (NFQNL_COPY_*). */
  readonly copyMode: number;
  readonly copyRange: number;
  /** Dropped because the queue was full (queue_maxlen reached, and no fail-open). */
  readonly droppedQueueFull: number;
  /** Dropped because the netlink send to the socket failed (receive buffer full). */
  readonly droppedByUser: number;
  /** Id of the last packet queued; wraps at 2^32. */
  readonly idSequence: number;
}

const FIELDS = 9;

/** Every well-formed line of the file; malformed lines are skipped (the format is the kernel's). */
export function parseQueueStats(text: string): QueueStats[] {
  const out: QueueStats[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length !== FIELDS) continue;
    const n = f.map((s) => (/^-?\d+$/.test(s) ? Number(s) >>> 0 : NaN));
    if (n.some((v) => Number.isNaN(v))) continue;
    out.push({
      queue: n[0]!,
      peerPortId: n[1]!,
      waiting: n[2]!,
      copyMode: n[3]!,
      copyRange: n[4]!,
      droppedQueueFull: n[5]!,
      droppedByUser: n[6]!,
      idSequence: n[7]!,
    });
  }
  return out;
}

/**
 * The kernel's counters for one queue, or undefined when that queue is not bound in this network
 * namespace or the file cannot be read (nfnetlink_queue not loaded).
 */
export async function readQueueStats(queue: number, path = NFQUEUE_PROC_PATH): Promise<QueueStats | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  return parseQueueStats(text).find((s) => s.queue === queue);
}

/** The kernel's counters of every queue bound in this network namespace, by queue (empty when unreadable). */
export async function readAllQueueStats(path = NFQUEUE_PROC_PATH): Promise<ReadonlyMap<number, QueueStats>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return new Map();
  }
  return new Map(parseQueueStats(text).map((s) => [s.queue, s]));
}
