// The info-level line per rule that tells an operator what the daemon is doing without a line per
// packet: "rule vpn-clamp: 1234 changed, 5 already at or below, MSS 1460->1380". Built from the
// PacketCounters deltas since the rule's previous line, at most one line per rule per interval, and
// none for a rule that saw no packet. Runs on a timer, never on the packet path.
import { Outcome, OUTCOME_COUNT } from '../packet/outcome.js';
import type { PacketCounters } from '../metrics/packet-counters.js';
import type { Logger } from './logger.js';

export const DEFAULT_SUMMARY_INTERVAL_MS = 10_000;

export interface RuleSummaryOptions {
  /** Minimum time between two lines for the same rule. Default 10 s. */
  readonly intervalMs?: number;
  /** Clock, for tests. */
  readonly now?: () => number;
}

interface RuleSnapshot {
  /** Per-outcome counts at the rule's last line. */
  readonly counts: Float64Array;
  loggedAt: number;
  /** The tick that last saw the rule: a rule no tick sees any more was removed by a reload. */
  seenInTick: number;
}

export class RuleSummary {
  private readonly intervalMs: number;
  private readonly now: () => number;
  /** By rule name and action: survives a reload that reorders rules (PacketCounters.setRules keeps those counts). */
  private readonly snapshots = new Map<string, RuleSnapshot>();
  private ticks = 0;

  constructor(
    /** One store, or (with several workers) a function that sums them. */
    private readonly counters: PacketCounters | (() => PacketCounters),
    private readonly logger: Logger,
    options: RuleSummaryOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? DEFAULT_SUMMARY_INTERVAL_MS;
    this.now = options.now ?? Date.now;
  }

  /** Log a line for every rule that had packets and whose last line is at least intervalMs old. */
  tick(): void {
    if (!this.logger.isInfoEnabled) return;
    const now = this.now();
    const c = typeof this.counters === 'function' ? this.counters() : this.counters;
    const tick = ++this.ticks;
    for (let rule = 0; rule < c.rules.length; rule++) {
      const { name, action } = c.rules[rule]!;
      const key = `${name}\u0000${action}`;
      const row = c.packets.subarray(rule * OUTCOME_COUNT, (rule + 1) * OUTCOME_COUNT);
      let snap = this.snapshots.get(key);
      if (snap === undefined) {
        snap = { counts: new Float64Array(OUTCOME_COUNT), loggedAt: -Infinity, seenInTick: tick };
        this.snapshots.set(key, snap);
      }
      snap.seenInTick = tick;
      if (now - snap.loggedAt < this.intervalMs) continue;

      let total = 0;
      for (let o = 0; o < OUTCOME_COUNT; o++) total += row[o]! - snap.counts[o]!;
      if (total === 0) continue;
      const delta = (o: number): number => row[o]! - snap!.counts[o]!;
      // Injected faults (strip, zero, duplicate) are changes too.
      const modified = delta(Outcome.Modified) + delta(Outcome.Stripped) + delta(Outcome.Zeroed) + delta(Outcome.Duplicated);
      const inserted = delta(Outcome.Inserted);
      const atOrBelow = delta(Outcome.AlreadyAtOrBelow);
      const other = total - modified - inserted - atOrBelow;
      const before = c.lastMssBefore[rule]!;
      const after = c.lastMssAfter[rule]!;

      let msg = `rule ${name}: ${modified + inserted} changed`;
      if (inserted > 0) msg += ` (${inserted} inserted)`;
      msg += `, ${atOrBelow} already at or below`;
      if (other > 0) msg += `, ${other} other`;
      if (after > 0) msg += before > 0 ? `, MSS ${before}->${after}` : `, MSS ${after}`;
      this.logger.info(msg, {
        event: 'rule-summary',
        rule: name,
        action,
        changed: modified + inserted,
        inserted,
        alreadyAtOrBelow: atOrBelow,
        other,
        lastMssBefore: before,
        lastMssAfter: after,
      });
      snap.counts.set(row);
      snap.loggedAt = now;
    }
    // Rules removed by a reload are forgotten, in place: the summary ticks every few seconds for the
    // daemon's whole life, and a new map each time is garbage that need not be made.
    for (const [key, snap] of this.snapshots) if (snap.seenInTick !== tick) this.snapshots.delete(key);
  }

  /**
   * Tick on a timer that does not keep the process alive. Returns the stop function. The timer runs
   * four times per interval, so a busy rule logs every 10 to 12.5 s and never more often than every 10.
   */
  start(): () => void {
    const timer = setInterval(() => this.tick(), Math.max(1, this.intervalMs / 4));
    timer.unref();
    return () => clearInterval(timer);
  }
}
