// The queues the daemon reads, one worker thread each: FIRST..LAST, as iptables' --queue-balance
// FIRST:LAST and nft's `queue num FIRST-LAST` spread flows over them. One queue is the range N..N.

export interface QueueRange {
  readonly first: number;
  readonly last: number;
}

/** The largest queue number (NFQUEUE's queue number is a u16). */
export const QUEUE_MAX = 65535;
/** More worker threads than this is a typo, not a router: each holds a 4 MiB buffer and a thread. */
export const QUEUE_COUNT_MAX = 256;

export function queueCount(range: QueueRange): number {
  return range.last - range.first + 1;
}

/** Every queue number of the range, in order. */
export function queuesOf(range: QueueRange): number[] {
  return Array.from({ length: queueCount(range) }, (_, i) => range.first + i);
}

/** "5" for one queue, "0-3" for a range: the config's own spelling, and the label of range-wide metrics. */
export function queueRangeText(range: QueueRange): string {
  return range.first === range.last ? String(range.first) : `${range.first}-${range.last}`;
}

/**
 * FIRST and LAST from "FIRST<sep>LAST" ("0-3" in the config, "0:3" on the command line), or a
 * sentence saying what is wrong and how to fix it.
 */
export function parseQueueRange(text: string, sep: '-' | ':'): QueueRange | string {
  const m = new RegExp(`^(\\d{1,5})${sep}(\\d{1,5})$`).exec(text);
  const example = `0${sep}3`;
  if (m === null) return `"${text}" is not a queue range; write FIRST${sep}LAST, e.g. ${example}`;
  const first = Number(m[1]);
  const last = Number(m[2]);
  if (first > QUEUE_MAX || last > QUEUE_MAX) return `queue numbers go up to ${QUEUE_MAX}; "${text}" is beyond`;
  if (last < first)
    return `"${text}" ends before it starts; write the lower queue first, e.g. ${first > 0 ? `${last}${sep}${first}` : example}`;
  if (last - first + 1 > QUEUE_COUNT_MAX) return `"${text}" is ${last - first + 1} queues; at most ${QUEUE_COUNT_MAX} (one thread each)`;
  return { first, last };
}
