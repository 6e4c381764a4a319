// The kernel's packet counters of our own NFQUEUE rules: how many packets the firewall sent towards the
// queue. Read at scrape time to count what never reached the daemon: with --queue-bypass and fail-open,
// a packet that meets a full queue (or no listener) is accepted before nfnetlink_queue gives it an id
// (net/netfilter/nfnetlink_queue.c, nfqnl_enqueue_packet), so no /proc counter shows it, but the rule
// that matched it did count it.
//
// `iptables -t mangle -S -v` prints each rule as it was written, with its counters as "-c PKTS BYTES"
// (both iptables-nft and iptables-legacy, exact numbers, no K/M rounding):
//   -A FORWARD -p tcp ... -m comment --comment mssmangler -c 20000 1200000 -j NFQUEUE --queue-num 31 --queue-bypass
import { binaryFor, isOurs, nfqueueFirstQueue, splitRuleLine, TABLE } from './iptables.js';
import { runCommand, type CommandRunner } from './runner.js';

export interface FamilyRulePackets {
  readonly family: 4 | 6;
  /** Packets matched by our rules that queue to this queue number, summed over chains. */
  readonly packets: number;
  /** How many such rules are installed. */
  readonly rules: number;
}

/**
 * Sums the counters of our NFQUEUE rules for `queue` (the first queue of a balanced range) in one
 * `-S -v` listing; other rules are ignored.
 */
export function parseRuleCounters(text: string, queue: number): { packets: number; rules: number } {
  let packets = 0;
  let rules = 0;
  for (const line of text.split('\n')) {
    const t = splitRuleLine(line);
    if (t[0] !== '-A' || !isOurs(t)) continue;
    const c = t.indexOf('-c');
    const j = t.indexOf('-j');
    if (c < 0 || j < 0 || nfqueueFirstQueue(t) !== queue) continue;
    const n = t[c + 1] ?? '';
    if (!/^\d+$/.test(n)) continue;
    packets += Number(n);
    rules++;
  }
  return { packets, rules };
}

/**
 * Our rules' counters per family, for the families where at least one of our rules queues to `queue`.
 * A family whose listing fails (binary missing, no CAP_NET_ADMIN, legacy lock file not writable) is
 * left out; this never rejects, because it runs inside a metrics scrape.
 */
export async function readRuleCounters(queue: number, runner: CommandRunner = runCommand): Promise<FamilyRulePackets[]> {
  const read = async (family: 4 | 6): Promise<FamilyRulePackets | undefined> => {
    try {
      const result = await runner(binaryFor(family), ['-t', TABLE, '-S', '-v']);
      if (result.code !== 0) return undefined;
      const { packets, rules } = parseRuleCounters(result.stdout, queue);
      return rules === 0 ? undefined : { family, packets, rules };
    } catch {
      return undefined;
    }
  };
  const both = await Promise.all([read(4), read(6)]);
  return both.filter((f): f is FamilyRulePackets => f !== undefined);
}
