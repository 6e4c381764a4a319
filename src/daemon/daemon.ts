// The run loop's imperative shell: bind the queue, serve metrics, follow signals. Everything it
// wires together is built elsewhere; what lives here is the order of start-up and shut-down and the
// reload rule (parse first, swap one reference only on success).
import type { Config } from '../config/config.js';
import { loadConfig, type ConfigSource } from '../config/load.js';
import { formatProblem } from '../config/problem.js';
import { readRuleCounters } from '../firewall/counters.js';
import type { FirewallGuard } from '../firewall/guard.js';
import { firewallPlan, managedFirewall } from '../firewall/managed-firewall.js';
import { FirewallGuardCounters } from '../metrics/firewall-guard-counters.js';
import { ErrorCode, MssmanglerError } from '../errors.js';
import { createLogger, type Logger } from '../log/logger.js';
import { RuleSummary } from '../log/rule-summary.js';
import { SystemdNotifier } from '../lifecycle/notify.js';
import { DaemonMetrics } from '../metrics/daemon-metrics.js';
import { PacketCounters } from '../metrics/packet-counters.js';
import { startMetricsServer, type MetricsServer } from '../metrics/server.js';
import { PathMtuCache } from '../pmtu/path-mtu-cache.js';
import { RouteMtu } from '../pmtu/route-mtu.js';
import { loadBinding } from '../queue/load.js';
import { NfQueue } from '../queue/queue.js';
import { NfQueueError } from '../queue/queue-error.js';
import { resolveInterfaces } from '../rules/interfaces.js';
import { compileRules, type RuleSet } from '../rules/rule-set.js';
import { PacketHandler, type MssFloor } from './packet-handler.js';

export interface DaemonOptions {
  /** What the configuration was built from: loadConfig(source) again on SIGHUP. */
  readonly source: ConfigSource;
}

/** How often links are re-resolved and the queue's own counters folded into the metrics. */
const HOUSEKEEPING_MS = 1000;

/**
 * Runs until SIGTERM or SIGINT (resolves then, after a clean shut-down). Rejects with a
 * MssmanglerError when start-up fails: queue busy, no CAP_NET_ADMIN, metrics port in use.
 */
export async function startDaemon(config: Config, options?: DaemonOptions): Promise<void> {
  const log = createLogger({ level: config.log.level, format: config.log.format });
  const daemon = new Daemon(config, log, options?.source);
  try {
    await daemon.start();
  } catch (err) {
    await daemon.stop();
    throw err;
  }
  await daemon.stopped;
}

class Daemon {
  private config: Config;
  private rules: RuleSet;
  private readonly counters: PacketCounters;
  private readonly metrics: DaemonMetrics;
  private readonly notifier: SystemdNotifier;
  private handler: PacketHandler | undefined;
  private routes: RouteMtu | undefined;
  private queue: NfQueue | undefined;
  private server: MetricsServer | undefined;
  /** run --manage-firewall: keeps the NFQUEUE rules in place (moves to the supervisor with the queue workers). */
  private firewallGuard: FirewallGuard | undefined;
  private stopSummary: (() => void) | undefined;
  private stopWatchdog: (() => void) | undefined;
  private housekeeping: NodeJS.Timeout | undefined;
  private routeGeneration = -1;
  private verdictErrorsSeen = 0;
  private reloading = false;
  private reloadAgain = false;
  private stopping = false;
  private resolveStopped!: () => void;
  readonly stopped = new Promise<void>((resolve) => (this.resolveStopped = resolve));
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    if (signal === 'SIGHUP') void this.reload();
    else void this.stop(signal);
  };

  constructor(
    config: Config,
    private readonly log: Logger,
    private readonly source: ConfigSource | undefined,
  ) {
    this.config = config;
    this.rules = compileRules(config);
    this.counters = new PacketCounters(labelsOf(config));
    this.metrics = new DaemonMetrics(this.counters, { queue: config.queue });
    this.notifier = new SystemdNotifier({ logger: log });
  }

  async start(): Promise<void> {
    const { config, log } = this;
    this.resolveLinks();
    this.routes = new RouteMtu();
    // Links were just resolved: only a later route or link change needs another pass.
    this.routeGeneration = this.routes.generation;
    const pmtu = new PathMtuCache(this.routes);
    this.handler = new PacketHandler(this.rules, this.counters, pmtu, floorOf(config), log);
    try {
      this.queue = new NfQueue(
        loadBinding(),
        {
          queue: config.queue,
          maxLen: config.queueMaxLen,
          failOpen: config.failOpen,
          onError: (err) => this.onHandlerError(err),
        },
        this.handler.handle,
      );
    } catch (err) {
      throw queueStartError(err, config.queue);
    }
    const queue = this.queue;
    this.metrics.setQueueSocketCounters(() => (queue.isOpen ? queue.stats() : undefined));
    this.metrics.setFirewallCounters((n) => readRuleCounters(n));
    log.info('queue bound', { queue: config.queue, maxLen: config.queueMaxLen, failOpen: config.failOpen, portId: this.queue.portId });

    // ---- firewall guard (run --manage-firewall) ----------------------------------------------------
    // After the queue is bound, so the rules never send packets to a queue nobody reads; before READY=1,
    // so `systemctl start` returns with the rules in. A firewall failure is logged and retried, never fatal.
    if (config.firewall.manage) {
      const counters = new FirewallGuardCounters();
      this.metrics.setFirewallGuard(counters);
      this.firewallGuard = managedFirewall(config, log, counters);
      await this.firewallGuard.start(firewallPlan(config));
    }
    // ---- end firewall guard ----------------------------------------------------------------------

    if (config.metrics) {
      const listen = `${config.metrics.host.includes(':') ? `[${config.metrics.host}]` : config.metrics.host}:${config.metrics.port}`;
      try {
        this.server = await startMetricsServer({
          listen,
          metrics: () => this.metrics.exposition(),
          contentType: this.metrics.contentType,
          isHealthy: () => this.queue?.isOpen === true,
        });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        throw new MssmanglerError(ErrorCode.MetricsListen, message, { cause: err });
      }
      log.info('metrics listening', { url: `http://${listen}/metrics` });
    }

    for (const signal of ['SIGHUP', 'SIGTERM', 'SIGINT'] as const) process.on(signal, this.onSignal);
    this.housekeeping = setInterval(() => this.houseKeep(), HOUSEKEEPING_MS);
    this.housekeeping.unref();
    this.stopSummary = new RuleSummary(this.counters, log).start();
    this.notifier.ready(`queue ${config.queue} bound, ${this.rules.count} rules`);
    this.stopWatchdog = this.notifier.startWatchdog(() => this.queue?.isOpen === true);
    log.info('started', { rules: this.rules.names, dryRun: config.dryRun, config: config.file });
  }

  /**
   * SIGHUP: parse the file again; swap only a valid configuration, otherwise keep the old rules.
   * A SIGHUP that arrives during a reload runs one more reload after it, so the newest file wins.
   */
  private async reload(): Promise<void> {
    if (this.stopping || !this.source) return;
    if (this.reloading) {
      this.reloadAgain = true;
      return;
    }
    this.reloading = true;
    this.notifier.reloading('reloading configuration');
    try {
      do {
        this.reloadAgain = false;
        await this.reloadOnce(this.source);
      } while (this.reloadAgain && !this.stopping);
    } finally {
      this.reloading = false;
      // After STOPPING=1, systemd must not hear READY=1 again.
      if (!this.stopping) this.notifier.ready(`queue ${this.config.queue} bound, ${this.rules.count} rules`);
    }
  }

  private async reloadOnce(source: ConfigSource): Promise<void> {
    try {
      const result = await loadConfig(source);
      if (this.stopping) return;
      if (!result.ok) {
        this.metrics.countReload('failure');
        this.log.error('reload rejected, the previous configuration stays in force', {
          problems: result.problems.map(formatProblem),
        });
        return;
      }
      const changed = restartOnlyFields(this.config, result.config);
      if (changed.length > 0) {
        this.log.warn('reload cannot change these settings without a restart; they keep their old values', { fields: changed });
      }
      // The queue, its socket and the metrics listener were set up at start: keep what is in force.
      const next: Config = {
        ...result.config,
        queue: this.config.queue,
        queueMaxLen: this.config.queueMaxLen,
        failOpen: this.config.failOpen,
        metrics: this.config.metrics,
        firewall: this.config.firewall,
      };
      const rules = compileRules(next);
      resolveInterfaces(rules);
      this.counters.setRules(labelsOf(next));
      this.handler?.setRules(rules, floorOf(next));
      this.rules = rules;
      this.config = next;
      this.log.setLevel(next.log.level);
      // Firewall guard: the rules follow the new configuration, new ones in before old ones out.
      await this.firewallGuard?.reload(firewallPlan(next));
      this.metrics.countReload('success');
      this.log.info('reloaded', { rules: rules.names });
    } catch (err) {
      this.metrics.countReload('failure');
      this.log.error('reload failed, the previous configuration stays in force', { error: String(err) });
    }
  }

  private houseKeep(): void {
    const routes = this.routes;
    if (routes?.isOpen) {
      // Links come and go: the route watcher's generation moves on every link or route change.
      const generation = routes.generation;
      if (generation !== this.routeGeneration) {
        this.routeGeneration = generation;
        this.resolveLinks();
      }
    }
    const queue = this.queue;
    if (queue?.isOpen) {
      const verdictErrors = queue.stats().verdictErrors;
      if (verdictErrors > this.verdictErrorsSeen) {
        this.counters.countVerdictErrors(verdictErrors - this.verdictErrorsSeen);
        this.verdictErrorsSeen = verdictErrors;
      }
    }
  }

  private resolveLinks(): void {
    const { missing } = resolveInterfaces(this.rules);
    if (missing.length > 0) {
      this.log.warn('interfaces not present; rules naming them match nothing until they appear', { missing });
    }
  }

  private handlerErrorsLogged = 0;

  private onHandlerError(err: unknown): void {
    this.counters.countHandlerError();
    // The addon already accepted the batch unchanged. Log the first few, then every thousandth.
    this.handlerErrorsLogged++;
    if (this.handlerErrorsLogged <= 10 || this.handlerErrorsLogged % 1000 === 0) {
      this.log.error('packet handler threw; the batch was accepted unchanged', {
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
        count: this.handlerErrorsLogged,
      });
    }
  }

  async stop(signal?: NodeJS.Signals): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (signal) this.log.info('stopping', { signal });
    this.notifier.stopping('stopping');
    for (const s of ['SIGHUP', 'SIGTERM', 'SIGINT'] as const) process.off(s, this.onSignal);
    this.stopWatchdog?.();
    this.stopSummary?.();
    if (this.housekeeping) clearInterval(this.housekeeping);
    // Firewall guard: our rules out first, so no packet meets a queue that is closing.
    await this.firewallGuard?.stop();
    // Closing the queue accepts everything in flight before it unbinds.
    this.queue?.close();
    this.routes?.close();
    await this.server?.close();
    if (signal) this.log.info('stopped', { packets: this.queue?.stats().packets ?? 0 });
    this.resolveStopped();
  }
}

function labelsOf(config: Config): { name: string; action: string }[] {
  return config.rules.map((r) => ({ name: r.name, action: r.action }));
}

function floorOf(config: Config): MssFloor {
  return { ipv4: config.pmtu.floorIpv4, ipv6: config.pmtu.floorIpv6 };
}

/** Settings bound into the queue or socket at start: a reload cannot change them. */
function restartOnlyFields(old: Config, next: Config): string[] {
  const changed: string[] = [];
  if (old.queue !== next.queue) changed.push('queue');
  if (old.queueMaxLen !== next.queueMaxLen) changed.push('queueMaxLen');
  if (old.failOpen !== next.failOpen) changed.push('failOpen');
  if (JSON.stringify(old.metrics) !== JSON.stringify(next.metrics)) changed.push('metrics');
  if (JSON.stringify(old.firewall) !== JSON.stringify(next.firewall)) changed.push('firewall');
  return changed;
}

function queueStartError(err: unknown, queue: number): unknown {
  if (!(err instanceof NfQueueError)) return err;
  switch (err.code) {
    case 'NFQ_ERR_QUEUE_BUSY':
      return new MssmanglerError(ErrorCode.QueueBusy, err.message, { cause: err });
    case 'NFQ_ERR_PERMISSION':
      return new MssmanglerError(ErrorCode.Permission, err.message, { cause: err });
    default:
      return new MssmanglerError(ErrorCode.Internal, `cannot bind queue ${queue}: ${err.message}`, { cause: err });
  }
}
