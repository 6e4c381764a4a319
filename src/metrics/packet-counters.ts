// The counters the packet path bumps. Plain typed arrays and numbers: no labels, no objects, no
// prom-client calls per packet. The metrics registry reads them when Prometheus scrapes (prom-client's
// advice for hot paths: count in your own structure, report in collect()).
//
// Float64Array, not Uint32Array: a busy router passes 2^32 SYNs in weeks, and a double counts exactly
// to 2^53.
import { OUTCOME_COUNT } from '../packet/outcome.js';
import { BATCH_BUCKET_SLOTS, MSS_BUCKET_SLOTS, batchSlot, mssSlot } from './buckets.js';

/** What a metric label needs to know about a rule. */
export interface RuleLabel {
  /** The rule's configured name: the `rule` label. */
  readonly name: string;
  /** 'set' or 'clamp-to-pmtu' (the config's action name): the `action` label. */
  readonly action: string;
}

/**
 * Label of the extra row that counts packets no rule owns (Outcome.NoRuleMatched, and packets of a
 * batch accepted because the handler threw). Parentheses keep it apart from any valid rule name.
 */
export const NO_RULE: RuleLabel = Object.freeze({ name: '(none)', action: 'none' });

/** Why clamp-to-pmtu used something other than the route's MTU. */
export const PmtuFallback = {
  /** The route lookup failed; the output interface's MTU was used. */
  InterfaceMtu: 0,
  /** Neither route nor interface MTU was known; the configured floor was used. */
  Floor: 1,
  /** The batch's budget of kernel lookups was spent; interface MTUs stood in for the route. */
  LookupBudget: 2,
} as const;
export const PMTU_FALLBACK_NAMES: readonly string[] = ['interface-mtu', 'floor', 'lookup-budget'];

/** Sentinel for observeMss when the segment had no MSS option (an insertion). */
export const NO_MSS = -1;

export class PacketCounters {
  /** The rules the per-rule rows belong to, in rule index order. Row rules.length is NO_RULE. */
  rules: readonly RuleLabel[] = [];
  /** Row index for packets no rule owns; equals rules.length. */
  noRule = 0;

  /** [row * OUTCOME_COUNT + outcome] */
  packets = new Float64Array(OUTCOME_COUNT);
  /** [rule * MSS_BUCKET_SLOTS + slot], non-cumulative: the collector sums them up at scrape time. */
  mssBeforeBuckets = new Float64Array(0);
  mssBeforeSum = new Float64Array(0);
  mssAfterBuckets = new Float64Array(0);
  mssAfterSum = new Float64Array(0);
  /** The last MSS seen and sent per rule, for the rate-limited summary log line. */
  lastMssBefore = new Int32Array(0);
  lastMssAfter = new Int32Array(0);

  /** Non-cumulative batch size buckets. */
  readonly batchBuckets = new Float64Array(BATCH_BUCKET_SLOTS);
  batchSum = 0;
  pmtuLookups = 0;
  pmtuLookupFailures = 0;
  readonly pmtuFallbacks = new Float64Array(PMTU_FALLBACK_NAMES.length);
  verdictErrors = 0;
  handlerErrors = 0;

  constructor(rules: readonly RuleLabel[] = []) {
    this.setRules(rules);
  }

  // ---- packet path: each is a few loads and stores, nothing allocated, nothing thrown ----

  /** One packet with its final outcome; rule is a rule index or this.noRule. */
  countOutcome(rule: number, outcome: number): void {
    this.packets[rule * OUTCOME_COUNT + outcome]!++;
  }

  /**
   * The MSS a rule's packet arrived with and the MSS it left with (equal when unchanged; the would-be
   * value in a dry run). before = NO_MSS for an inserted option: only the after histogram counts it.
   */
  observeMss(rule: number, before: number, after: number): void {
    if (before >= 0) {
      this.mssBeforeBuckets[rule * MSS_BUCKET_SLOTS + mssSlot(before)]!++;
      this.mssBeforeSum[rule]! += before;
      this.lastMssBefore[rule] = before;
    }
    this.mssAfterBuckets[rule * MSS_BUCKET_SLOTS + mssSlot(after)]!++;
    this.mssAfterSum[rule]! += after;
    this.lastMssAfter[rule] = after;
  }

  /** One batch handed over by the queue (n >= 1 packets). */
  observeBatch(n: number): void {
    this.batchBuckets[batchSlot(n)]!++;
    this.batchSum += n;
  }

  countPmtuLookup(): void {
    this.pmtuLookups++;
  }

  countPmtuLookupFailure(): void {
    this.pmtuLookupFailures++;
  }

  /** kind: a PmtuFallback value. */
  countPmtuFallback(kind: number): void {
    this.pmtuFallbacks[kind]!++;
  }

  countVerdictErrors(n: number): void {
    this.verdictErrors += n;
  }

  countHandlerError(): void {
    this.handlerErrors++;
  }

  // ---- reload ----

  /**
   * Rebuild the per-rule rows for a new rule list (a config reload). A rule that keeps both its name
   * and its action keeps its counts, so its series continue without a reset; a renamed rule, or one
   * whose action changed, starts from zero (its label set is new anyway), and a removed rule's series
   * disappear, which Prometheus reads as the end of those series. The no-rule row and every global
   * counter carry over. Call between batches: rule indexes held by the packet path must refer to the
   * same list as the counters.
   */
  setRules(rules: readonly RuleLabel[]): void {
    const old = this.rules;
    const oldPackets = this.packets;
    const oldBefore = this.mssBeforeBuckets;
    const oldBeforeSum = this.mssBeforeSum;
    const oldAfter = this.mssAfterBuckets;
    const oldAfterSum = this.mssAfterSum;
    const oldLastBefore = this.lastMssBefore;
    const oldLastAfter = this.lastMssAfter;
    const n = rules.length;

    const packets = new Float64Array((n + 1) * OUTCOME_COUNT);
    const before = new Float64Array(n * MSS_BUCKET_SLOTS);
    const beforeSum = new Float64Array(n);
    const after = new Float64Array(n * MSS_BUCKET_SLOTS);
    const afterSum = new Float64Array(n);
    const lastBefore = new Int32Array(n);
    const lastAfter = new Int32Array(n);

    const oldIndex = new Map<string, number>();
    old.forEach((r, i) => oldIndex.set(`${r.name}\u0000${r.action}`, i));
    rules.forEach((r, i) => {
      const j = oldIndex.get(`${r.name}\u0000${r.action}`);
      if (j === undefined) return;
      packets.set(oldPackets.subarray(j * OUTCOME_COUNT, (j + 1) * OUTCOME_COUNT), i * OUTCOME_COUNT);
      before.set(oldBefore.subarray(j * MSS_BUCKET_SLOTS, (j + 1) * MSS_BUCKET_SLOTS), i * MSS_BUCKET_SLOTS);
      after.set(oldAfter.subarray(j * MSS_BUCKET_SLOTS, (j + 1) * MSS_BUCKET_SLOTS), i * MSS_BUCKET_SLOTS);
      beforeSum[i] = oldBeforeSum[j]!;
      afterSum[i] = oldAfterSum[j]!;
      lastBefore[i] = oldLastBefore[j]!;
      lastAfter[i] = oldLastAfter[j]!;
    });
    const oldNoRule = old.length * OUTCOME_COUNT;
    packets.set(oldPackets.subarray(oldNoRule, oldNoRule + OUTCOME_COUNT), n * OUTCOME_COUNT);

    this.rules = Object.freeze(rules.map((r) => Object.freeze({ name: r.name, action: r.action })));
    this.noRule = n;
    this.packets = packets;
    this.mssBeforeBuckets = before;
    this.mssBeforeSum = beforeSum;
    this.mssAfterBuckets = after;
    this.mssAfterSum = afterSum;
    this.lastMssBefore = lastBefore;
    this.lastMssAfter = lastAfter;
  }

  // ---- readers (scrape time, logs, tests) ----

  /** Packets of one row with one outcome. */
  outcomeCount(rule: number, outcome: number): number {
    return this.packets[rule * OUTCOME_COUNT + outcome]!;
  }

  /** Label of a row: a rule, or NO_RULE. */
  rowLabel(row: number): RuleLabel {
    return row < this.rules.length ? this.rules[row]! : NO_RULE;
  }
}
