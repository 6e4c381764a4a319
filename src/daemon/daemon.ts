// The composition root of `mssmangler run`: the real parts (systemd notifier over the sd_notify addon,
// worker threads that load the queue addon, the iptables rule counters, the firewall guard with
// --manage-firewall) handed to a Supervisor, which runs until SIGTERM or SIGINT.
import type { Config } from '../config/config.js';
import type { ConfigSource } from '../config/load.js';
import { readRuleCounters } from '../firewall/counters.js';
import { firewallPlan, managedFirewall } from '../firewall/managed-firewall.js';
import { SystemdNotifier } from '../lifecycle/notify.js';
import { createLogger, type Logger } from '../log/logger.js';
import type { DaemonMetrics } from '../metrics/daemon-metrics.js';
import { FirewallGuardCounters } from '../metrics/firewall-guard-counters.js';
import { loadSdNotify } from '../native/load.js';
import { Supervisor, type FirewallLifecycle } from './supervisor.js';
import { threadLauncher, type WorkerLauncher } from './worker-link.js';

export interface DaemonOptions {
  /** What the configuration was built from: loadConfig(source) again on SIGHUP. */
  readonly source: ConfigSource;
  /** How queue workers start; default real threads over the addon (a lab test wraps it to end one). */
  readonly launch?: WorkerLauncher | undefined;
}

/**
 * Runs until SIGTERM or SIGINT (resolves then, after a clean shut-down). Rejects with a
 * MssmanglerError when start-up fails: queue busy, no CAP_NET_ADMIN, metrics port in use.
 */
export async function startDaemon(config: Config, options?: DaemonOptions): Promise<void> {
  const log = createLogger({ level: config.log.level, format: config.log.format });
  const notifier = new SystemdNotifier({ logger: log, binding: process.env['NOTIFY_SOCKET'] ? loadSdNotify() : undefined });
  const supervisor = new Supervisor(config, {
    launch: options?.launch ?? threadLauncher(),
    notifier,
    log,
    source: options?.source,
    firewallCounters: (queue) => readRuleCounters(queue),
    firewall: config.firewall.manage ? (metrics) => guardedFirewall(config, log, metrics) : undefined,
  });
  await supervisor.start();
  await supervisor.stopped;
}

/** run --manage-firewall: the FirewallGuard keeps the rules of `mssmangler rules` in place. */
function guardedFirewall(config: Config, log: Logger, metrics: DaemonMetrics): FirewallLifecycle {
  const counters = new FirewallGuardCounters();
  metrics.setFirewallGuard(counters);
  const guard = managedFirewall(config, log, counters);
  return {
    start: (c) => guard.start(firewallPlan(c)),
    reload: (c) => guard.reload(firewallPlan(c)),
    stop: () => guard.stop(),
  };
}
