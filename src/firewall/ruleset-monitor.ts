// Ruleset change events from the kernel: `nft monitor` subscribes to the NFNLGRP_NFTABLES netlink group
// and prints one line per change of any nf_tables table, chain or rule. iptables-nft rules are
// nf_tables rules, so a flush, an iptables-restore or a firewall manager's reload shows up here at once
// and the guard checks then instead of at the next tick. iptables-legacy changes never pass through
// nf_tables, so with legacy (or without nft installed) the guard's timer is all there is.
import { spawn, type ChildProcess } from 'node:child_process';
import { assertSafeArguments } from './runner.js';
import type { GuardLog, RulesetEvents } from './guard.js';

const MONITOR_ARGS = ['monitor'] as const;

export class NftMonitor implements RulesetEvents {
  private child: ChildProcess | undefined;
  private stopping = false;

  constructor(private readonly log: GuardLog) {}

  start(onChange: () => void): void {
    assertSafeArguments('nft', MONITOR_ARGS);
    this.stopping = false;
    const child = spawn('nft', MONITOR_ARGS, { shell: false, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      // Every event line is a change; "# new generation" comments come with them.
      if (chunk.split('\n').some((line) => line !== '' && !line.startsWith('#'))) onChange();
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-500)));
    const unavailable = (why: string): void => {
      if (this.stopping) return;
      this.log.info('ruleset change events unavailable; the firewall rules are checked on the timer only', { why });
    };
    child.on('error', (err: NodeJS.ErrnoException) => unavailable(err.code === 'ENOENT' ? 'nft is not installed' : err.message));
    child.on('exit', (code, signal) => unavailable(`nft monitor ended (${signal ?? `exit ${code}`}): ${stderr.trim()}`));
  }

  stop(): void {
    this.stopping = true;
    this.child?.kill('SIGTERM');
    this.child = undefined;
  }
}
