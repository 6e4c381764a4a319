// The counters the packet path bumps. Plain typed arrays and numbers: no labels, no objects, no
// prom-client calls per packet. The metrics registry reads them when Prometheus scrapes (prom-client's
// advice for hot paths: count in your own structure, report in collect()).
//
// Float64Array, not Uint32Array: a busy router passes 2^32 SYNs in weeks, and a double counts exactly
// to 2^53.
//
// Every array lives in a SharedArrayBuffer: a queue worker thread writes its own PacketCounters, and
// the supervisor reads the same memory (memory() / PacketCounters.over) and sums the workers at scrape
// time (sumCountersInto). One writer per array, so no Atomics: a reader sees each count whole (an aligned
// 8-byte store), at worst one scrape late.
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

/** A Float64Array over fresh shared memory (zeroed). */
function sharedFloat64(n: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(n * Float64Array.BYTES_PER_ELEMENT));
}

function sharedInt32(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(n * Int32Array.BYTES_PER_ELEMENT));
}

/** Slots of PacketCounters.globals. */
const Global = { batchSum: 0, pmtuLookups: 1, pmtuLookupFailures: 2, verdictErrors: 3, handlerErrors: 4 } as const;
const GLOBAL_SLOTS = 5;

/**
 * The arrays of one PacketCounters, as posted between threads: typed arrays over SharedArrayBuffers
 * arrive as views of the same memory. Replaced as a whole when the rules change (setRules).
 */
export interface CounterMemory {
  readonly rules: readonly RuleLabel[];
  readonly packets: Float64Array;
  readonly mssBeforeBuckets: Float64Array;
  readonly mssBeforeSum: Float64Array;
  readonly mssAfterBuckets: Float64Array;
  readonly mssAfterSum: Float64Array;
  readonly lastMssBefore: Int32Array;
  readonly lastMssAfter: Int32Array;
  readonly batchBuckets: Float64Array;
  readonly pmtuFallbacks: Float64Array;
  readonly globals: Float64Array;
}

export class PacketCounters {
  /** The rules the per-rule rows belong to, in rule index order. Row rules.length is NO_RULE. */
  rules: readonly RuleLabel[] = [];
  /** Row index for packets no rule owns; equals rules.length. */
  noRule = 0;

  /** [row * OUTCOME_COUNT + outcome] */
  packets = sharedFloat64(OUTCOME_COUNT);
  /** [rule * MSS_BUCKET_SLOTS + slot], non-cumulative: the collector sums them up at scrape time. */
  mssBeforeBuckets = sharedFloat64(0);
  mssBeforeSum = sharedFloat64(0);
  mssAfterBuckets = sharedFloat64(0);
  mssAfterSum = sharedFloat64(0);
  /** The last MSS seen and sent per rule, for the rate-limited summary log line. */
  lastMssBefore = sharedInt32(0);
  lastMssAfter = sharedInt32(0);

  /** Non-cumulative batch size buckets. */
  readonly batchBuckets: Float64Array;
  readonly pmtuFallbacks: Float64Array;
  /** The scalar counters, in Global slots (shared memory holds arrays, not fields). */
  readonly globals: Float64Array;

  constructor(rules: readonly RuleLabel[] = []) {
    this.batchBuckets = sharedFloat64(BATCH_BUCKET_SLOTS);
    this.pmtuFallbacks = sharedFloat64(PMTU_FALLBACK_NAMES.length);
    this.globals = sharedFloat64(GLOBAL_SLOTS);
    this.setRules(rules);
  }

  /** A reader over another thread's counters (the supervisor's view of a worker). Never write to it. */
  static over(memory: CounterMemory): PacketCounters {
    // Object.assign over the memory, then the two fields, not one object spread: see withLabel in
    // collected-metric.ts (the supervisor makes these views at every scrape and summary tick).
    const c = Object.assign(Object.create(PacketCounters.prototype) as PacketCounters, memory);
    c.rules = Object.freeze(memory.rules.slice());
    c.noRule = memory.rules.length;
    return c;
  }

  /** This store's arrays, to post to another thread (see CounterMemory). */
  memory(): CounterMemory {
    const {
      rules,
      packets,
      mssBeforeBuckets,
      mssBeforeSum,
      mssAfterBuckets,
      mssAfterSum,
      lastMssBefore,
      lastMssAfter,
      batchBuckets,
      pmtuFallbacks,
      globals,
    } = this;
    return {
      rules,
      packets,
      mssBeforeBuckets,
      mssBeforeSum,
      mssAfterBuckets,
      mssAfterSum,
      lastMssBefore,
      lastMssAfter,
      batchBuckets,
      pmtuFallbacks,
      globals,
    };
  }

  get batchSum(): number {
    return this.globals[Global.batchSum]!;
  }
  get pmtuLookups(): number {
    return this.globals[Global.pmtuLookups]!;
  }
  get pmtuLookupFailures(): number {
    return this.globals[Global.pmtuLookupFailures]!;
  }
  get verdictErrors(): number {
    return this.globals[Global.verdictErrors]!;
  }
  get handlerErrors(): number {
    return this.globals[Global.handlerErrors]!;
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
    this.globals[Global.batchSum]! += n;
  }

  countPmtuLookup(): void {
    this.globals[Global.pmtuLookups]!++;
  }

  countPmtuLookupFailure(): void {
    this.globals[Global.pmtuLookupFailures]!++;
  }

  /** kind: a PmtuFallback value. */
  countPmtuFallback(kind: number): void {
    this.pmtuFallbacks[kind]!++;
  }

  countVerdictErrors(n: number): void {
    this.globals[Global.verdictErrors]! += n;
  }

  countHandlerError(): void {
    this.globals[Global.handlerErrors]!++;
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

    const packets = sharedFloat64((n + 1) * OUTCOME_COUNT);
    const before = sharedFloat64(n * MSS_BUCKET_SLOTS);
    const beforeSum = sharedFloat64(n);
    const after = sharedFloat64(n * MSS_BUCKET_SLOTS);
    const afterSum = sharedFloat64(n);
    const lastBefore = sharedInt32(n);
    const lastAfter = sharedInt32(n);

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

/**
 * The sum of several stores (one per queue worker), written into `sum`, which is zeroed first and keeps
 * its rule list: each worker's rows are matched by rule name and action, so a worker still on the
 * previous rules during a reload adds what its rows share with the new list. The last MSS per rule is
 * the first worker's that has one. Scrape time and the summary tick only. The supervisor keeps one
 * `sum` per configuration rather than a new set of shared arrays at every call.
 */
export function sumCountersInto(sum: PacketCounters, parts: readonly PacketCounters[]): PacketCounters {
  for (const a of [
    sum.packets,
    sum.mssBeforeBuckets,
    sum.mssBeforeSum,
    sum.mssAfterBuckets,
    sum.mssAfterSum,
    sum.lastMssBefore,
    sum.lastMssAfter,
    sum.batchBuckets,
    sum.pmtuFallbacks,
    sum.globals,
  ]) {
    a.fill(0);
  }
  const rules = sum.rules;
  const index = new Map<string, number>();
  rules.forEach((r, i) => index.set(`${r.name}\u0000${r.action}`, i));
  const add = (to: Float64Array, toAt: number, from: Float64Array, fromAt: number, n: number): void => {
    for (let k = 0; k < n; k++) to[toAt + k]! += from[fromAt + k]!;
  };
  for (const part of parts) {
    const rowOf = (row: number): number =>
      row === part.noRule ? sum.noRule : (index.get(`${part.rules[row]!.name}\u0000${part.rules[row]!.action}`) ?? -1);
    for (let row = 0; row <= part.noRule; row++) {
      const to = rowOf(row);
      if (to < 0) continue;
      add(sum.packets, to * OUTCOME_COUNT, part.packets, row * OUTCOME_COUNT, OUTCOME_COUNT);
      if (row === part.noRule) continue;
      add(sum.mssBeforeBuckets, to * MSS_BUCKET_SLOTS, part.mssBeforeBuckets, row * MSS_BUCKET_SLOTS, MSS_BUCKET_SLOTS);
      add(sum.mssAfterBuckets, to * MSS_BUCKET_SLOTS, part.mssAfterBuckets, row * MSS_BUCKET_SLOTS, MSS_BUCKET_SLOTS);
      sum.mssBeforeSum[to]! += part.mssBeforeSum[row]!;
      sum.mssAfterSum[to]! += part.mssAfterSum[row]!;
      if (sum.lastMssBefore[to] === 0) sum.lastMssBefore[to] = part.lastMssBefore[row]!;
      if (sum.lastMssAfter[to] === 0) sum.lastMssAfter[to] = part.lastMssAfter[row]!;
    }
    add(sum.batchBuckets, 0, part.batchBuckets, 0, sum.batchBuckets.length);
    add(sum.pmtuFallbacks, 0, part.pmtuFallbacks, 0, sum.pmtuFallbacks.length);
    add(sum.globals, 0, part.globals, 0, GLOBAL_SLOTS);
  }
  return sum;
}
