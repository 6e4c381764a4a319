// Every metric the daemon exposes, in one prom-client Registry. Packet metrics are read from a
// PacketCounters store at scrape time; the kernel's queue counters from /proc at scrape time; config
// reloads are rare and counted here directly. The packet counters of our own firewall rules (iptables
// and ip6tables, also at scrape time) show what was sent towards the queue, and so what passed it by.
// Names follow the Prometheus conventions: mssmangler_ prefix, _total on counters, the unit (bytes,
// seconds, packets) in the name, and pass `promtool check metrics` (test/metrics/exposition.test.ts).
import { Registry, collectDefaultMetrics } from 'prom-client';
import { Outcome, OUTCOME_COUNT, outcomeNames } from '../packet/outcome.js';
import { BATCH_BUCKETS, MSS_BUCKETS, MSS_BUCKET_SLOTS } from './buckets.js';
import { CollectedMetric, histogramSamples, withLabel, type Sample } from './collected-metric.js';
import { PMTU_FALLBACK_NAMES, PacketCounters } from './packet-counters.js';
import type { FamilyRulePackets } from '../firewall/counters.js';
import type { FirewallGuardCounters } from './firewall-guard-counters.js';
import { NFQUEUE_PROC_PATH, readAllQueueStats, type QueueStats } from '../queue/queue-stats.js';

export interface DaemonMetricsOptions {
  /** The queue whose kernel counters are exported; none are until it is set. */
  readonly queue?: number;
  /** Several queues (one worker each): overrides `queue`. */
  readonly queues?: readonly number[];
  /** Where the kernel's queue table is read (tests point it at a fixture). */
  readonly queueProcPath?: string;
  /** process_* and nodejs_* metrics from prom-client; on by default. */
  readonly defaultMetrics?: boolean;
}

export type ReloadResult = 'success' | 'failure';

/**
 * What the daemon's own end of the queue saw (the addon's counters): events the kernel's table does
 * not show, such as packets it could not deliver to a full socket (they failed open: id gaps).
 */
export interface QueueSocketCounters {
  readonly packets: number;
  readonly idGaps: number;
  readonly enobufs: number;
  readonly recvErrors: number;
  readonly sendErrors: number;
  readonly badVerdicts: number;
}

/** Label values of mssmangler_queue_socket_events_total, in QueueSocketCounters field order. */
const SOCKET_EVENTS = [
  ['id-gap', 'idGaps'],
  ['enobufs', 'enobufs'],
  ['recv-error', 'recvErrors'],
  ['send-error', 'sendErrors'],
  ['bad-verdict', 'badVerdicts'],
] as const;

const NONCONFORMING_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
] as const;

/** How long one read of the kernel's queue table serves the metrics of a scrape. */
const QUEUE_READ_REUSE_MS = 500;
/** How long one listing of the firewall rules serves: a scrape runs at most one iptables + ip6tables pair. */
const FIREWALL_READ_REUSE_MS = 1000;
/** Keeps mssmangler_queue_bypassed_packets_total a counter: see bypassed(). Id sequences per queue. */
function freshBypass(): { value: number; rulePackets: number; lastIdSequence: Map<number, number>; idWraps: Map<number, number> } {
  return { value: 0, rulePackets: 0, lastIdSequence: new Map(), idWraps: new Map() };
}

/** The kernel's packet id is a u32 (nfqnl_instance.id_sequence). */
const ID_SEQUENCE_MODULUS = 2 ** 32;

/** The daemon's end of each queue, by queue number (read at scrape time; a queue without a reader is left out). */
export type QueueSocketReader = () => Promise<ReadonlyMap<number, QueueSocketCounters>>;

/** The packet counters: one store, or (with several workers) a function that sums them at scrape time. */
export type CounterSource = PacketCounters | (() => PacketCounters);

/** Reads the packet counters of our firewall rules that queue to `queue`, per family (never rejects). */
export type FirewallCounterReader = (queue: number) => Promise<readonly FamilyRulePackets[]>;

const BYPASSED_HELP =
  'Packets our firewall rules sent towards the queue that passed without reaching the daemon, unchanged: ' +
  'fail-open at a full queue, or --queue-bypass while no daemon was bound; the kernel counts them nowhere else. ' +
  'Derived: mssmangler_firewall_queued_packets_total summed over families - kernel id sequence - queue-full and user drops. ' +
  'Exact only if the rules were installed right before the daemon started (as the systemd unit does); rule counters ' +
  'start when the rules were installed, the id sequence when the queue was bound, so otherwise compare rate() of both. ' +
  'Fail-open passes at a full socket get an id and show as mssmangler_queue_socket_events_total{event="id-gap"} instead.';

export class DaemonMetrics {
  readonly registry = new Registry();
  private queues: readonly number[];
  private readonly queueProcPath: string;
  private queueRead: Promise<ReadonlyMap<number, QueueStats>> | undefined;
  private queueReadAt = 0;
  private readonly reloads = { success: 0, failure: 0 };
  private lastReloadOk = 1;
  private lastReloadSuccessSeconds = Date.now() / 1000;
  private socketCounters: QueueSocketReader | undefined;
  private readonly counterSource: CounterSource;
  private snapshot: PacketCounters | undefined;
  private readonly workerRestarts = new Map<number, number>();
  private firewallCounters: FirewallCounterReader | undefined;
  private firewallGuard: FirewallGuardCounters | undefined;
  private firewallRead: Promise<readonly FamilyRulePackets[]> | undefined;
  private firewallReadAt = 0;
  private bypass = freshBypass();

  constructor(counters: CounterSource, options: DaemonMetricsOptions = {}) {
    this.counterSource = counters;
    this.queues = options.queues ?? (options.queue === undefined ? [] : [options.queue]);
    this.queueProcPath = options.queueProcPath ?? NFQUEUE_PROC_PATH;
    if (options.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry });
      // prom-client names these gauges with _total, which `promtool check metrics` rejects; the same
      // counts stay available as sum(nodejs_active_handles) etc.
      for (const name of NONCONFORMING_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
    }
    for (const m of this.packetMetrics()) this.registry.registerMetric(m.asRegistryMetric());
    for (const m of this.queueMetrics()) this.registry.registerMetric(m.asRegistryMetric());
    for (const m of this.firewallMetrics()) this.registry.registerMetric(m.asRegistryMetric());
    for (const m of this.reloadMetrics()) this.registry.registerMetric(m.asRegistryMetric());
    for (const m of this.workerMetrics()) this.registry.registerMetric(m.asRegistryMetric());
  }

  /** The packet counters as of this scrape (summed over workers once per scrape). */
  get counters(): PacketCounters {
    if (this.snapshot === undefined) {
      const source = this.counterSource;
      this.snapshot = source instanceof PacketCounters ? source : source();
    }
    return this.snapshot;
  }

  /** Export the kernel counters of this queue number (the daemon knows it once it has bound). */
  setQueue(queue: number | undefined): void {
    this.setQueues(queue === undefined ? [] : [queue]);
  }

  /** Export the kernel counters of these queues (one worker each). */
  setQueues(queues: readonly number[]): void {
    if (queues.join() !== this.queues.join()) this.bypass = freshBypass();
    this.queues = [...queues];
    this.queueRead = undefined;
    this.firewallRead = undefined;
  }

  /** A queue worker died and was started again. */
  countWorkerRestart(queue: number): void {
    this.workerRestarts.set(queue, (this.workerRestarts.get(queue) ?? 0) + 1);
  }

  /** Where the packet counters of our firewall rules come from (read at scrape time); none until set. */
  setFirewallCounters(read: FirewallCounterReader | undefined): void {
    this.firewallCounters = read;
    this.firewallRead = undefined;
  }

  /** The firewall guard's counters (run --manage-firewall); its metrics appear only while set. */
  setFirewallGuard(counters: FirewallGuardCounters | undefined): void {
    this.firewallGuard = counters;
  }

  /** Where the daemon's end of the (first) queue keeps its counters (read at scrape time). */
  setQueueSocketCounters(read: (() => QueueSocketCounters | undefined) | undefined): void {
    this.socketCounters =
      read === undefined
        ? undefined
        : async () => {
            const s = read();
            const queue = this.queues[0];
            return s === undefined || queue === undefined ? new Map() : new Map([[queue, s]]);
          };
  }

  /** Where every queue's end keeps its counters (the supervisor asks its workers at scrape time). */
  setQueueSocketReader(read: QueueSocketReader | undefined): void {
    this.socketCounters = read;
  }

  /** A SIGHUP reload finished: the new config was swapped in (success) or rejected (failure). */
  countReload(result: ReloadResult): void {
    this.reloads[result]++;
    this.lastReloadOk = result === 'success' ? 1 : 0;
    if (result === 'success') this.lastReloadSuccessSeconds = Date.now() / 1000;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text exposition format, as served on /metrics. */
  exposition(): Promise<string> {
    this.snapshot = undefined;
    return this.registry.metrics();
  }

  private packetMetrics(): CollectedMetric[] {
    // Read at every use: with several workers each scrape sums afresh (the getter caches per scrape).
    const c = (): PacketCounters => this.counters;
    const ruleLabels = (row: number): { rule: string; action: string } => {
      const r = c().rowLabel(row);
      return { rule: r.name, action: r.action };
    };
    const mssHistogram = (name: string, help: string, buckets: () => Float64Array, sums: () => Float64Array) =>
      new CollectedMetric(name, help, 'histogram', () => {
        const out: Sample[] = [];
        const b = buckets();
        const s = sums();
        for (let rule = 0; rule < c().rules.length; rule++) {
          histogramSamples(name, ruleLabels(rule), MSS_BUCKETS, b, rule * MSS_BUCKET_SLOTS, s[rule]!, out);
        }
        return out;
      });
    return [
      new CollectedMetric(
        'mssmangler_packets_total',
        'Packets handled, by rule, the rule action and the outcome (rule "(none)": no rule matched or the handler failed).',
        'counter',
        () => {
          const out: Sample[] = [];
          for (let row = 0; row <= c().noRule; row++) {
            const labels = ruleLabels(row);
            // Outcome.Parsed is an intermediate state, never a final outcome.
            for (let o = Outcome.Parsed + 1; o < OUTCOME_COUNT; o++) {
              out.push({ labels: withLabel(labels, 'outcome', outcomeNames[o]!), value: c().outcomeCount(row, o) });
            }
          }
          return out;
        },
      ),
      mssHistogram(
        'mssmangler_mss_before_bytes',
        'MSS option value as received, per rule (segments without an MSS option are not observed).',
        () => c().mssBeforeBuckets,
        () => c().mssBeforeSum,
      ),
      mssHistogram(
        'mssmangler_mss_after_bytes',
        'MSS option value as sent (unchanged, rewritten or inserted; the would-be value in a dry run), per rule.',
        () => c().mssAfterBuckets,
        () => c().mssAfterSum,
      ),
      new CollectedMetric('mssmangler_mss_insertions_total', 'MSS options inserted into SYNs that had none, per rule.', 'counter', () =>
        c().rules.map((_, rule) => ({ labels: ruleLabels(rule), value: c().outcomeCount(rule, Outcome.Inserted) })),
      ),
      new CollectedMetric('mssmangler_rules', 'Rules in the configuration in force.', 'gauge', () => [
        { labels: {}, value: c().rules.length },
      ]),
      new CollectedMetric(
        'mssmangler_pmtu_lookups_total',
        'Path MTU lookups over rtnetlink (cache misses and refreshes).',
        'counter',
        () => [{ labels: {}, value: c().pmtuLookups }],
      ),
      new CollectedMetric('mssmangler_pmtu_lookup_failures_total', 'Path MTU lookups that found no route or MTU.', 'counter', () => [
        { labels: {}, value: c().pmtuLookupFailures },
      ]),
      new CollectedMetric(
        'mssmangler_pmtu_fallbacks_total',
        'clamp-to-pmtu segments whose MTU came from a fallback: the output interface MTU or the configured floor.',
        'counter',
        () => PMTU_FALLBACK_NAMES.map((to, i) => ({ labels: { to }, value: c().pmtuFallbacks[i]! })),
      ),
      new CollectedMetric('mssmangler_batch_packets', 'Packets per batch read from the queue.', 'histogram', () => {
        const out: Sample[] = [];
        histogramSamples('mssmangler_batch_packets', {}, BATCH_BUCKETS, c().batchBuckets, 0, c().batchSum, out);
        return out;
      }),
      new CollectedMetric('mssmangler_verdict_errors_total', 'Verdicts the kernel refused or that could not be sent.', 'counter', () => [
        { labels: {}, value: c().verdictErrors },
      ]),
      new CollectedMetric(
        'mssmangler_handler_errors_total',
        'Batches whose handler threw; their packets were accepted unchanged.',
        'counter',
        () => [{ labels: {}, value: c().handlerErrors }],
      ),
    ];
  }

  /** The kernel's line of each of our queues that is bound (one read of the file serves a scrape). */
  private async readQueues(): Promise<QueueStats[]> {
    if (this.queues.length === 0) return [];
    const now = Date.now();
    if (this.queueRead === undefined || now - this.queueReadAt > QUEUE_READ_REUSE_MS) {
      this.queueRead = readAllQueueStats(this.queueProcPath);
      this.queueReadAt = now;
    }
    const all = await this.queueRead;
    return this.queues.flatMap((q) => {
      const s = all.get(q);
      return s === undefined ? [] : [s];
    });
  }

  /** The label of range-wide series (the firewall rules feed the whole range): "5", or "0-3". */
  private rangeLabel(): string | number | undefined {
    const q = this.queues;
    if (q.length === 0) return undefined;
    return q.length === 1 ? q[0]! : `${q[0]!}-${q[q.length - 1]!}`;
  }

  private readFirewall(): Promise<readonly FamilyRulePackets[]> {
    const queue = this.queues[0];
    const read = this.firewallCounters;
    if (queue === undefined || read === undefined) return Promise.resolve([]);
    const now = Date.now();
    if (this.firewallRead === undefined || now - this.firewallReadAt > FIREWALL_READ_REUSE_MS) {
      this.firewallRead = read(queue).catch(() => []);
      this.firewallReadAt = now;
    }
    return this.firewallRead;
  }

  /**
   * Rule packets - packets the kernel queued or dropped. The two are read a moment apart, so under
   * traffic the difference jitters by a few packets either way; a counter must not go down (Prometheus
   * would take it for a reset), so a lower value is held until the difference passes it again. A real
   * reset (the rules reinstalled: their sum went down) starts over. The id sequence wraps at 2^32;
   * wraps seen between scrapes are added back.
   */
  private bypassed(rules: readonly FamilyRulePackets[], stats: readonly QueueStats[]): number {
    const b = this.bypass;
    // Each queue has its own id sequence; the rules feed all of them.
    let queued = 0;
    for (const s of stats) {
      const last = b.lastIdSequence.get(s.queue) ?? 0;
      const wraps = (b.idWraps.get(s.queue) ?? 0) + (s.idSequence < last ? 1 : 0);
      b.idWraps.set(s.queue, wraps);
      b.lastIdSequence.set(s.queue, s.idSequence);
      queued += wraps * ID_SEQUENCE_MODULUS + s.idSequence + s.droppedQueueFull + s.droppedByUser;
    }
    const rulePackets = rules.reduce((sum, f) => sum + f.packets, 0);
    const now = Math.max(0, rulePackets - queued);
    b.value = rulePackets < b.rulePackets ? now : Math.max(b.value, now);
    b.rulePackets = rulePackets;
    return b.value;
  }

  private firewallMetrics(): CollectedMetric[] {
    return [
      new CollectedMetric(
        'mssmangler_firewall_queued_packets_total',
        "Packets our firewall rules (comment mssmangler, mangle table) sent towards this queue, per family: the kernel's rule counters, since the rules were installed.",
        'counter',
        async () => {
          const queue = this.rangeLabel();
          const rules = await this.readFirewall();
          if (queue === undefined) return [];
          return rules.map((f) => ({ labels: { queue, family: `ipv${f.family}` }, value: f.packets }));
        },
      ),
      new CollectedMetric('mssmangler_queue_bypassed_packets_total', BYPASSED_HELP, 'counter', async () => {
        const [rules, stats] = await Promise.all([this.readFirewall(), this.readQueues()]);
        const queue = this.rangeLabel();
        // Every queue must be bound: a missing id sequence would count its packets as bypassed.
        if (rules.length === 0 || queue === undefined || stats.length !== this.queues.length) return [];
        return [{ labels: { queue }, value: this.bypassed(rules, stats) }];
      }),
      // The guard's own counts (run --manage-firewall), absent without it: a 0 would claim a watch no one keeps.
      new CollectedMetric(
        'mssmangler_firewall_rule_repairs_total',
        'Firewall rules of ours that had vanished (flush, foreign iptables-restore, firewall manager reload) and were put back.',
        'counter',
        () => (this.firewallGuard ? [{ labels: {}, value: this.firewallGuard.repairs }] : []),
      ),
      new CollectedMetric(
        'mssmangler_firewall_rules_missing',
        'Firewall rules of ours missing right now (after the last check and its repair); 0 when healthy. Alert when above 0.',
        'gauge',
        () => (this.firewallGuard ? [{ labels: {}, value: this.firewallGuard.missing }] : []),
      ),
      new CollectedMetric(
        'mssmangler_firewall_command_errors_total',
        'Firewall commands (iptables, ip6tables) of the rule guard that failed or could not start; the rules are retried at the next check.',
        'counter',
        () => (this.firewallGuard ? [{ labels: {}, value: this.firewallGuard.commandErrors }] : []),
      ),
    ];
  }

  private queueMetrics(): CollectedMetric[] {
    const field = (name: string, help: string, type: 'counter' | 'gauge', pick: (s: QueueStats) => number) =>
      new CollectedMetric(name, help, type, async () =>
        (await this.readQueues()).map((s) => ({ labels: { queue: s.queue }, value: pick(s) })),
      );
    const sockets = async (): Promise<ReadonlyMap<number, QueueSocketCounters>> => (await this.socketCounters?.()) ?? new Map();
    return [
      new CollectedMetric(
        'mssmangler_queue_received_packets_total',
        'Packets the daemon received from its queue socket.',
        'counter',
        async () => [...(await sockets())].map(([queue, s]) => ({ labels: { queue }, value: s.packets })),
      ),
      new CollectedMetric(
        'mssmangler_queue_socket_events_total',
        'Events on the daemon end of the queue: id-gap (packets the kernel could not deliver to the full socket; with fail-open they passed unchanged), enobufs, recv-error, send-error, bad-verdict.',
        'counter',
        async () =>
          [...(await sockets())].flatMap(([queue, s]) =>
            SOCKET_EVENTS.map(([event, field]) => ({ labels: { queue, event }, value: s[field] })),
          ),
      ),
      new CollectedMetric(
        'mssmangler_queue_bound',
        "1 when the kernel lists this daemon's queue in /proc/net/netfilter/nfnetlink_queue, 0 when not.",
        'gauge',
        async () => {
          const bound = new Set((await this.readQueues()).map((s) => s.queue));
          return this.queues.map((queue) => ({ labels: { queue }, value: bound.has(queue) ? 1 : 0 }));
        },
      ),
      field(
        'mssmangler_queue_waiting_packets',
        'Packets waiting in the kernel queue for a verdict (kernel queue_total).',
        'gauge',
        (s) => s.waiting,
      ),
      field(
        'mssmangler_queue_full_dropped_packets_total',
        'Packets the kernel dropped because the queue was full (kernel queue_dropped).',
        'counter',
        (s) => s.droppedQueueFull,
      ),
      field(
        'mssmangler_queue_user_dropped_packets_total',
        'Packets the kernel dropped because the netlink socket buffer was full (kernel queue_user_dropped).',
        'counter',
        (s) => s.droppedByUser,
      ),
      field('mssmangler_queue_id_sequence', 'Id of the last packet the kernel queued (wraps at 2^32).', 'gauge', (s) => s.idSequence),
    ];
  }

  private workerMetrics(): CollectedMetric[] {
    return [
      new CollectedMetric(
        'mssmangler_worker_restarts_total',
        'Queue worker threads that died (an exception escaped, or the thread was terminated) and were started again, per queue.',
        'counter',
        () => this.queues.map((queue) => ({ labels: { queue }, value: this.workerRestarts.get(queue) ?? 0 })),
      ),
    ];
  }

  private reloadMetrics(): CollectedMetric[] {
    return [
      new CollectedMetric('mssmangler_config_reloads_total', 'Configuration reloads (SIGHUP), by result.', 'counter', () => [
        { labels: { result: 'success' }, value: this.reloads.success },
        { labels: { result: 'failure' }, value: this.reloads.failure },
      ]),
      new CollectedMetric(
        'mssmangler_config_last_reload_successful',
        '1 when the last reload succeeded (or none happened yet), 0 when it was rejected and the old rules stay in force.',
        'gauge',
        () => [{ labels: {}, value: this.lastReloadOk }],
      ),
      new CollectedMetric(
        'mssmangler_config_last_reload_success_timestamp_seconds',
        'When the configuration in force was loaded (start or last successful reload), in Unix seconds.',
        'gauge',
        () => [{ labels: {}, value: this.lastReloadSuccessSeconds }],
      ),
    ];
  }
}
