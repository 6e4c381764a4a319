// The composition root of `mssmangler run`: the real parts (systemd notifier over the sd_notify addon,
// worker threads that load the queue addon, the iptables rule counters) handed to a Supervisor, which
// runs until SIGTERM or SIGINT.
import type { Config } from '../config/config.js';
import type { ConfigSource } from '../config/load.js';
import { readRuleCounters } from '../firewall/counters.js';
import { firewallPlan, managedFirewall } from '../firewall/managed-firewall.js';
import { FirewallGuardCounters } from '../metrics/firewall-guard-counters.js';
import { SystemdNotifier } from '../lifecycle/notify.js';
import { createLogger } from '../log/logger.js';
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
  // run --manage-firewall: the guard keeps the NFQUEUE rules in place; its failures are logged and retried.
  const guardCounters = config.firewall.manage ? new FirewallGuardCounters() : undefined;
  const guard = guardCounters ? managedFirewall(config, log, guardCounters) : undefined;
  const firewall: FirewallLifecycle | undefined = guard && {
    start: (c) => guard.start(firewallPlan(c)),
    reload: (c) => guard.reload(firewallPlan(c)),
    stop: () => guard.stop(),
  };
  const supervisor = new Supervisor(config, {
    launch: options?.launch ?? threadLauncher(),
    notifier,
    log,
    source: options?.source,
    firewall,
    firewallCounters: (queue) => readRuleCounters(queue),
  });
  supervisor.metrics.setFirewallGuard(guardCounters);
  await supervisor.start();
  await supervisor.stopped;
}
