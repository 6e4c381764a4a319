// The supervisor (main thread): configuration and reload, the metrics server, logging, systemd
// notifications, the firewall rules, and one queue worker per queue (worker-link.ts). Every outside
// part is a parameter (SupervisorDeps), so start, reload, stop and worker failure are unit-tested
// with in-thread workers over a fake queue (test/daemon/supervisor.test.ts).
//
// Order: start = firewall, workers (all bound, or none), metrics server, signals, READY=1, `started`.
// Reload = parse and compile here; only a valid configuration goes to the workers; READY=1 and
// `reloaded` once every worker has switched. Stop = STOPPING=1, workers (each accepts what is in
// flight, then unbinds), firewall, metrics server, `stopped`.
import type { Config } from '../config/config.js';
import { loadConfig as loadConfigFile, type ConfigSource } from '../config/load.js';
import { formatProblem } from '../config/problem.js';
import type { ConfigResult } from '../config/problem.js';
import { queueRangeText, queuesOf } from '../config/queue-range.js';
import { ErrorCode, MssmanglerError } from '../errors.js';
import type { SystemdNotifier } from '../lifecycle/notify.js';
import type { Logger } from '../log/logger.js';
import { RuleSummary } from '../log/rule-summary.js';
import { DaemonMetrics, type FirewallCounterReader, type QueueSocketCounters } from '../metrics/daemon-metrics.js';
import { PacketCounters, sumCountersInto, type CounterMemory } from '../metrics/packet-counters.js';
import { startMetricsServer as startMetricsServerDefault, type MetricsServer, type MetricsServerOptions } from '../metrics/server.js';
import { compileRules } from '../rules/rule-set.js';
import { selectionMemory } from '../rules/selector.js';
import { labelsOf } from './queue-worker.js';
import type { WorkerLauncher, WorkerLink } from './worker-link.js';
import type { FromWorker, Generation } from './worker-protocol.js';

/** What the supervisor tells systemd (SystemdNotifier, or a recorder in tests). */
export type Notifier = Pick<SystemdNotifier, 'ready' | 'reloading' | 'stopping' | 'startWatchdog'>;

/**
 * The firewall rules that feed the queues, owned by the supervisor: installed once every worker has
 * bound its queue (so no rule sends packets to a queue nobody reads) and before READY=1, brought in
 * line after every successful reload, removed first at stop (so no packet meets a closing queue).
 * run --manage-firewall fills this place with the FirewallGuard (src/daemon/daemon.ts); without it the
 * rules are the operator's. A failure is the guard's to log and retry: it never stops the daemon.
 */
export interface FirewallLifecycle {
  start(config: Config): Promise<void>;
  reload(config: Config): Promise<void>;
  stop(): Promise<void>;
}

/** Time, for the restart delay (tests step it by hand). */
export interface Clock {
  now(): number;
  /** Calls fn after ms; returns a cancel function. */
  setTimeout(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

export interface SupervisorDeps {
  readonly launch: WorkerLauncher;
  readonly notifier: Notifier;
  readonly log: Logger;
  /** What the configuration was built from: read again on reload. None: reload keeps the config. */
  readonly source?: ConfigSource | undefined;
  readonly loadConfig?: (source: ConfigSource) => Promise<ConfigResult<Config>>;
  /** Made once the metrics exist (the guard reports through them). */
  readonly firewall?: ((metrics: DaemonMetrics) => FirewallLifecycle) | undefined;
  readonly clock?: Clock;
  readonly startMetricsServer?: (options: MetricsServerOptions) => Promise<MetricsServer>;
  readonly firewallCounters?: FirewallCounterReader | undefined;
  readonly queueProcPath?: string;
  /** process_* and nodejs_* metrics; default on. */
  readonly defaultMetrics?: boolean;
  /** Follow SIGHUP, SIGTERM and SIGINT; default on (tests call reload and stop themselves). */
  readonly signals?: boolean;
}

/** The signals the daemon follows, through the event loop (rad): SIGHUP reloads, SIGTERM and SIGINT stop. */
const FOLLOWED_SIGNALS = ['SIGHUP', 'SIGTERM', 'SIGINT'] as const;

/** A worker that dies is started again after this long, doubling while it keeps failing, at most a second. */
const RESTART_DELAY_MS = 100;
const RESTART_DELAY_MAX_MS = 1000;
/** How long a worker may take to answer `stop` before its thread is terminated. */
const STOP_TIMEOUT_MS = 3000;
/** How long a scrape waits for a worker's socket counters. */
const STATS_TIMEOUT_MS = 1000;

const ZERO_SOCKET: QueueSocketCounters = { packets: 0, idGaps: 0, enobufs: 0, recvErrors: 0, sendErrors: 0, badVerdicts: 0 };

function addSocket(a: QueueSocketCounters, b: QueueSocketCounters): QueueSocketCounters {
  return {
    packets: a.packets + b.packets,
    idGaps: a.idGaps + b.idGaps,
    enobufs: a.enobufs + b.enobufs,
    recvErrors: a.recvErrors + b.recvErrors,
    sendErrors: a.sendErrors + b.sendErrors,
    badVerdicts: a.badVerdicts + b.badVerdicts,
  };
}

/** One queue and whichever worker thread reads it now. */
class Slot {
  link: WorkerLink | undefined;
  ready = false;
  generation = 0;
  /** Deaths in a row without a successful start between: the restart delay grows with them. */
  failures = 0;
  cancelRestart: (() => void) | undefined;
  /** Socket counters of earlier threads of this queue, so the series survive a restart. */
  socketBase = ZERO_SOCKET;
  socketLast: QueueSocketCounters | undefined;
  stoppedPackets = 0;
  /** Called with every message and exit of the current link. */
  readonly waiters = new Set<(event: FromWorker | { type: 'exit'; code: number }) => void>();

  constructor(
    readonly queue: number,
    public counters: CounterMemory,
  ) {}

  /** The next event a predicate accepts (an exit always ends the wait). */
  next<T extends FromWorker['type'] | 'exit'>(
    types: readonly T[],
  ): Promise<Extract<FromWorker | { type: 'exit'; code: number }, { type: T }> | { type: 'exit'; code: number }> {
    return new Promise((resolve) => {
      const waiter = (event: FromWorker | { type: 'exit'; code: number }): void => {
        if (event.type === 'exit' || (types as readonly string[]).includes(event.type)) {
          this.waiters.delete(waiter);
          resolve(event as never);
        }
      };
      this.waiters.add(waiter);
    });
  }
}

export class Supervisor {
  readonly metrics: DaemonMetrics;
  private config: Config;
  private current: Generation;
  private readonly slots: Slot[];
  private readonly clock: Clock;
  private server: MetricsServer | undefined;
  private readonly firewall: FirewallLifecycle | undefined;
  private stopSummary: (() => void) | undefined;
  private stopWatchdog: (() => void) | undefined;
  private reloading = false;
  private reloadAgain = false;
  private stopping = false;
  private started = false;
  private statsId = 0;
  /** Where packetCounters() sums, for the configuration it was made for. */
  private counterSum: { config: Config; sum: PacketCounters } | undefined;
  private resolveStopped!: () => void;
  /** Settles after stop() finished. */
  readonly stopped = new Promise<void>((resolve) => (this.resolveStopped = resolve));
  /** SIGTERM or SIGINT that came while starting: honoured once start is done. */
  private stopAsked: NodeJS.Signals | undefined;
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    if (signal === 'SIGHUP') void this.reload();
    else if (!this.started) this.stopAsked ??= signal;
    else void this.stop(signal);
  };

  constructor(
    config: Config,
    private readonly deps: SupervisorDeps,
  ) {
    this.config = config;
    this.clock = deps.clock ?? systemClock;
    // Compiling here first: a configuration that cannot compile fails before any thread starts.
    compileRules(config);
    this.current = { generation: 0, config, epoch: this.clock.now(), selection: selectionMemory(config.rules) };
    this.slots = queuesOf(config.queues).map((q) => new Slot(q, new PacketCounters(labelsOf(config)).memory()));
    this.metrics = new DaemonMetrics(() => this.packetCounters(), {
      queues: this.slots.map((s) => s.queue),
      ...(deps.queueProcPath === undefined ? {} : { queueProcPath: deps.queueProcPath }),
      ...(deps.defaultMetrics === undefined ? {} : { defaultMetrics: deps.defaultMetrics }),
    });
    this.metrics.setQueueSocketReader(() => this.socketCounters());
    this.metrics.setFirewallCounters(deps.firewallCounters);
    this.firewall = deps.firewall?.(this.metrics);
  }

  /**
   * The packet counters of every worker, summed (scrape time, summary line). The same store is summed
   * into again until a reload swaps the configuration; each call overwrites it.
   */
  packetCounters(): PacketCounters {
    if (this.counterSum?.config !== this.config) {
      this.counterSum = { config: this.config, sum: new PacketCounters(labelsOf(this.config)) };
    }
    return sumCountersInto(
      this.counterSum.sum,
      this.slots.map((s) => PacketCounters.over(s.counters)),
    );
  }

  /** Why the daemon is degraded (a queue without a reader), or undefined when every worker runs. */
  healthProblem(): string | undefined {
    const down = this.slots.filter((s) => !s.ready).map((s) => s.queue);
    if (down.length === 0) return undefined;
    return `queue ${down.join(', ')} has no reader (worker restarting); the kernel passes its packets unchanged (--queue-bypass)`;
  }

  /** Rejects with a MssmanglerError (queue busy, no CAP_NET_ADMIN, metrics port in use) after undoing what started. */
  async start(): Promise<void> {
    const { config } = this;
    const { log } = this.deps;
    // Followed from the first moment: under Node's default action a SIGTERM while starting (systemctl
    // stop during activation, e.g. of the restart after a watchdog kill) or a SIGHUP would end the
    // process at once and leave the firewall rules the guard had just installed.
    if (this.deps.signals !== false) for (const signal of FOLLOWED_SIGNALS) process.on(signal, this.onSignal);
    try {
      const results = await Promise.all(this.slots.map((slot) => this.launch(slot)));
      const failed = results.find((r) => r !== undefined);
      if (failed !== undefined) throw failed;
      await this.firewall?.start(config);
      if (config.metrics) {
        const host = config.metrics.host.includes(':') ? `[${config.metrics.host}]` : config.metrics.host;
        const listen = `${host}:${config.metrics.port}`;
        try {
          this.server = await (this.deps.startMetricsServer ?? startMetricsServerDefault)({
            listen,
            metrics: () => this.metrics.exposition(),
            contentType: this.metrics.contentType,
            isHealthy: () => this.healthProblem() === undefined,
            healthProblem: () => this.healthProblem(),
          });
        } catch (err) {
          throw new MssmanglerError(ErrorCode.MetricsListen, err instanceof Error ? err.message : String(err), { cause: err });
        }
        log.info('metrics listening', { url: `http://${listen}/metrics` });
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.started = true;
    if (this.stopAsked !== undefined) {
      await this.stop(this.stopAsked);
      return;
    }
    this.stopSummary = new RuleSummary(() => this.packetCounters(), log).start();
    this.deps.notifier.ready(this.status());
    this.stopWatchdog = this.deps.notifier.startWatchdog(() => this.healthProblem() === undefined);
    log.info('started', {
      rules: config.rules.map((r) => r.name),
      dryRun: config.dryRun,
      config: config.file,
      queues: queueRangeText(config.queues),
    });
  }

  private status(): string {
    const n = this.slots.length;
    const queues = n === 1 ? `queue ${this.slots[0]!.queue}` : `queues ${queueRangeText(this.config.queues)}`;
    return `${queues} bound, ${this.config.rules.length} rules`;
  }

  /** Starts a worker for the slot with the configuration in force; resolves undefined once it is ready, or the start error. */
  private async launch(slot: Slot): Promise<MssmanglerError | Error | undefined> {
    const link = this.deps.launch({ ...this.current, queue: slot.queue, counters: slot.counters });
    slot.link = link;
    slot.generation = this.current.generation;
    let failure: { code: string; message: string } | undefined;
    link.on('message', (message) => {
      if (slot.link !== link) return;
      switch (message.type) {
        case 'ready':
          slot.ready = true;
          break;
        case 'failed':
          failure = message;
          break;
        case 'reloaded':
          slot.counters = message.counters;
          slot.generation = message.generation;
          break;
        case 'stats':
          if (message.socket !== undefined) slot.socketLast = message.socket;
          break;
        case 'stopped':
          slot.stoppedPackets = message.packets;
          break;
      }
      for (const w of [...slot.waiters]) w(message);
    });
    link.on('error', (err) => {
      if (slot.link !== link) return;
      this.deps.log.error('queue worker failed', { queue: slot.queue, error: err.stack ?? err.message });
    });
    link.on('exit', (code) => {
      if (slot.link !== link) return;
      this.onExit(slot, code);
      for (const w of [...slot.waiters]) w({ type: 'exit', code });
    });
    const first = await slot.next(['ready', 'failed']);
    if (first.type === 'ready') {
      slot.failures = 0;
      return undefined;
    }
    if (first.type === 'failed') {
      await slot.next(['exit']);
      return startError(first.code, first.message, slot.queue);
    }
    return failure === undefined
      ? new MssmanglerError(ErrorCode.Internal, `queue ${slot.queue}: the worker thread ended before binding (exit code ${first.code})`)
      : startError(failure.code, failure.message, slot.queue);
  }

  private onExit(slot: Slot, code: number): void {
    const wasReady = slot.ready;
    slot.link = undefined;
    slot.ready = false;
    if (slot.socketLast !== undefined) slot.socketBase = addSocket(slot.socketBase, slot.socketLast);
    slot.socketLast = undefined;
    if (this.stopping || !this.started) return;
    // The thread's environment cleanup closed its queue socket; until the next worker binds, the
    // kernel's --queue-bypass passes the queue's packets unchanged.
    if (wasReady) this.deps.log.error('queue worker died; restarting it', { queue: slot.queue, exitCode: code });
    const delay = Math.min(RESTART_DELAY_MS * 2 ** slot.failures, RESTART_DELAY_MAX_MS);
    slot.failures++;
    slot.cancelRestart = this.clock.setTimeout(() => void this.restart(slot), delay);
  }

  private async restart(slot: Slot): Promise<void> {
    slot.cancelRestart = undefined;
    if (this.stopping) return;
    this.metrics.countWorkerRestart(slot.queue);
    const err = await this.launch(slot);
    if (err === undefined) this.deps.log.info('queue worker restarted', { queue: slot.queue, generation: slot.generation });
    else this.deps.log.error('queue worker restart failed; trying again', { queue: slot.queue, error: err.message });
  }

  /**
   * Read the configuration again; switch every worker only to a valid one, otherwise keep the old
   * rules everywhere. A reload that arrives during a reload runs once more after it (the newest file wins).
   */
  async reload(): Promise<void> {
    if (this.stopping || !this.started || this.deps.source === undefined) return;
    if (this.reloading) {
      this.reloadAgain = true;
      return;
    }
    this.reloading = true;
    this.deps.notifier.reloading('reloading configuration');
    try {
      do {
        this.reloadAgain = false;
        await this.reloadOnce(this.deps.source);
      } while (this.reloadAgain && !this.stopping);
    } finally {
      this.reloading = false;
      // After STOPPING=1, systemd must not hear READY=1 again.
      if (!this.stopping) this.deps.notifier.ready(this.status());
    }
  }

  private async reloadOnce(source: ConfigSource): Promise<void> {
    const { log } = this.deps;
    let next: Config;
    try {
      const result = await (this.deps.loadConfig ?? loadConfigFile)(source);
      if (this.stopping) return;
      if (!result.ok) {
        this.metrics.countReload('failure');
        log.error('reload rejected, the previous configuration stays in force', { problems: result.problems.map(formatProblem) });
        return;
      }
      const changed = restartOnlyFields(this.config, result.config);
      if (changed.length > 0) {
        log.warn('reload cannot change these settings without a restart; they keep their old values', { fields: changed });
      }
      // The queues, their sockets and the metrics listener were set up at start: keep what is in force.
      next = {
        ...result.config,
        queue: this.config.queue,
        queues: this.config.queues,
        queueCpuFanout: this.config.queueCpuFanout,
        queueMaxLen: this.config.queueMaxLen,
        failOpen: this.config.failOpen,
        metrics: this.config.metrics,
        firewall: this.config.firewall,
      };
      compileRules(next);
    } catch (err) {
      this.metrics.countReload('failure');
      log.error('reload failed, the previous configuration stays in force', { error: String(err) });
      return;
    }
    const generation: Generation = {
      generation: this.current.generation + 1,
      config: next,
      epoch: this.clock.now(),
      selection: selectionMemory(next.rules),
    };
    // From here a worker that (re)starts gets the new configuration.
    this.current = generation;
    this.config = next;
    log.setLevel(next.log.level);
    await Promise.all(
      this.slots.map(async (slot) => {
        if (slot.link === undefined || !slot.ready) return;
        const switched = slot.next(['reloaded']);
        slot.link.postMessage({ type: 'reload', ...generation });
        await switched;
      }),
    );
    // The rules follow the new configuration (the guard puts new ones in before old ones out).
    try {
      await this.firewall?.reload(next);
    } catch (err) {
      log.error('the firewall rules did not follow the reload', { error: String(err) });
    }
    this.metrics.countReload('success');
    log.info('reloaded', { rules: next.rules.map((r) => r.name) });
  }

  /** Each queue's socket counters (asked of its worker now), plus what its earlier threads counted. */
  private async socketCounters(): Promise<ReadonlyMap<number, QueueSocketCounters>> {
    const out = new Map<number, QueueSocketCounters>();
    await Promise.all(
      this.slots.map(async (slot) => {
        const link = slot.link;
        if (link !== undefined && slot.ready) {
          const id = ++this.statsId;
          let cancel = (): void => {};
          const answer = slot.next(['stats', 'exit']);
          const timeout = new Promise<undefined>((resolve) => (cancel = this.clock.setTimeout(() => resolve(undefined), STATS_TIMEOUT_MS)));
          link.postMessage({ type: 'stats', id });
          await Promise.race([answer, timeout]);
          cancel();
        }
        const last = slot.socketLast;
        if (last !== undefined || slot.socketBase !== ZERO_SOCKET) out.set(slot.queue, addSocket(slot.socketBase, last ?? ZERO_SOCKET));
      }),
    );
    return out;
  }

  async stop(signal?: NodeJS.Signals): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const { log } = this.deps;
    if (signal) log.info('stopping', { signal });
    this.deps.notifier.stopping('stopping');
    for (const s of FOLLOWED_SIGNALS) process.off(s, this.onSignal);
    this.stopWatchdog?.();
    this.stopSummary?.();
    // Our rules out first, so no packet meets a queue that is closing.
    try {
      await this.firewall?.stop();
    } catch (err) {
      log.error('removing the firewall rules failed', { error: String(err) });
    }
    await Promise.all(this.slots.map((slot) => this.stopWorker(slot)));
    await this.server?.close();
    const packets = this.slots.reduce((n, s) => n + s.stoppedPackets, 0);
    if (signal) log.info('stopped', { packets });
    this.resolveStopped();
  }

  private async stopWorker(slot: Slot): Promise<void> {
    slot.cancelRestart?.();
    const link = slot.link;
    if (link === undefined) return;
    const exited = slot.next(['exit']);
    link.postMessage({ type: 'stop' });
    let cancel = (): void => {};
    const late = new Promise<'late'>((resolve) => (cancel = this.clock.setTimeout(() => resolve('late'), STOP_TIMEOUT_MS)));
    if ((await Promise.race([exited, late])) === 'late') await link.terminate();
    cancel();
  }
}

/** Settings bound into the queues, the rules or the socket at start: a reload cannot change them. */
function restartOnlyFields(old: Config, next: Config): string[] {
  const changed: string[] = [];
  if (old.queues.first !== next.queues.first || old.queues.last !== next.queues.last) changed.push('queues');
  if (old.queueCpuFanout !== next.queueCpuFanout) changed.push('queueCpuFanout');
  if (old.queueMaxLen !== next.queueMaxLen) changed.push('queueMaxLen');
  if (old.failOpen !== next.failOpen) changed.push('failOpen');
  if (JSON.stringify(old.metrics) !== JSON.stringify(next.metrics)) changed.push('metrics');
  if (JSON.stringify(old.firewall) !== JSON.stringify(next.firewall)) changed.push('firewall');
  return changed;
}

function startError(code: string, message: string, queue: number): MssmanglerError {
  switch (code) {
    case 'NFQ_ERR_QUEUE_BUSY':
      return new MssmanglerError(ErrorCode.QueueBusy, message);
    case 'NFQ_ERR_PERMISSION':
      return new MssmanglerError(ErrorCode.Permission, message);
    default:
      return new MssmanglerError(ErrorCode.Internal, `cannot bind queue ${queue}: ${message}`);
  }
}
