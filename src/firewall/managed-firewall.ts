// The guard as the daemon runs it (run --manage-firewall): the real iptables runner, timers and clock,
// and nft monitor events; the plan is what `mssmangler rules` prints for the configuration.
import type { Config } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import { FirewallGuard, systemTimer, type FirewallGuardSink } from './guard.js';
import { planFirewall, type FirewallRule } from './plan.js';
import { NftMonitor } from './ruleset-monitor.js';
import { runCommand } from './runner.js';

export function firewallPlan(config: Config): FirewallRule[] {
  return planFirewall(config, { family: 'both' });
}

export function managedFirewall(config: Config, log: Logger, sink: FirewallGuardSink): FirewallGuard {
  return new FirewallGuard({
    queue: config.queue,
    checkIntervalMs: config.firewall.checkIntervalMs,
    runner: runCommand,
    timer: systemTimer,
    clock: Date.now,
    log,
    metrics: sink,
    events: new NftMonitor(log),
  });
}
