// The plan as iptables/ip6tables commands in the mangle table, and applying or removing them. Rules are
// appended (-A), after whatever else the operator keeps in mangle FORWARD/OUTPUT: an NFQUEUE verdict
// ends the packet's walk of that chain, so going last disturbs no one else's rule.
import { ErrorCode, MssmanglerError } from '../errors.js';
import type { FamilyChoice, PortRange } from '../config/config.js';
import { FIREWALL_TAG, type FirewallRule } from './plan.js';
import type { CommandResult, CommandRunner, FirewallBinary } from './runner.js';

export const TABLE = 'mangle';

/** SYN flags, as the queue must see them: RST or FIN with SYN is never a connection attempt (the core
 * leaves those alone), and both directions share one rule (SYN set, ACK either). */
const TCP_FLAGS: Record<FirewallRule['direction'], readonly string[]> = {
  syn: ['--tcp-flags', 'SYN,ACK,RST,FIN', 'SYN'],
  synack: ['--tcp-flags', 'SYN,ACK,RST,FIN', 'SYN,ACK'],
  both: ['--tcp-flags', 'SYN,RST,FIN', 'SYN'],
};

export interface FirewallCommand {
  readonly binary: FirewallBinary;
  readonly args: readonly string[];
}

export function binaryFor(family: 4 | 6): 'iptables' | 'ip6tables' {
  return family === 4 ? 'iptables' : 'ip6tables';
}

function portText(p: PortRange): string {
  return p.from === p.to ? String(p.from) : `${p.from}:${p.to}`;
}

function portArgs(ports: readonly PortRange[], single: string, multi: string): string[] {
  if (ports.length === 0) return [];
  if (ports.length === 1) return [single, portText(ports[0]!)];
  return ['-m', 'multiport', multi, ports.map(portText).join(',')];
}

/** The loopback interface: never queued from OUTPUT. */
export const LOOPBACK = 'lo';

/** One queue, or a range iptables balances over by a symmetric hash of the addresses (xt_NFQUEUE). */
function queueArgs(r: FirewallRule): string[] {
  if (r.queueLast === r.queue) return ['--queue-num', String(r.queue)];
  const balance = ['--queue-balance', `${r.queue}:${r.queueLast}`];
  return r.cpuFanout ? [...balance, '--queue-cpu-fanout'] : balance;
}

/** Everything after "-t mangle -A CHAIN". */
export function ruleSpec(r: FirewallRule): string[] {
  const args = ['-p', 'tcp'];
  if (r.source !== null) args.push('-s', r.source.text);
  if (r.destination !== null) args.push('-d', r.destination.text);
  if (r.inInterface !== null) args.push('-i', r.inInterface);
  if (r.outInterface !== null) args.push('-o', r.outInterface);
  // Loopback connections never cross a link whose MTU matters, and the daemon's own metrics scrapes
  // would otherwise pass through its own queue.
  else if (r.chain === 'OUTPUT') args.push('!', '-o', LOOPBACK);
  args.push('-m', 'tcp', ...TCP_FLAGS[r.direction]);
  args.push(...portArgs(r.sourcePorts, '--sport', '--sports'));
  args.push(...portArgs(r.destinationPorts, '--dport', '--dports'));
  if (r.mark !== null) args.push('-m', 'mark', '--mark', `0x${r.mark.value.toString(16)}/0x${r.mark.mask.toString(16)}`);
  args.push('-m', 'comment', '--comment', FIREWALL_TAG);
  // --queue-bypass: with no daemon bound to the queue, the kernel accepts instead of dropping.
  args.push('-j', 'NFQUEUE', ...queueArgs(r), '--queue-bypass');
  return args;
}

export function iptablesCommands(plan: readonly FirewallRule[], op: '-A' | '-D' | '-C'): FirewallCommand[] {
  return plan.map((r) => ({ binary: binaryFor(r.family), args: ['-t', TABLE, op, r.chain, ...ruleSpec(r)] }));
}

export function formatCommand(command: FirewallCommand): string {
  return [command.binary, ...command.args].join(' ');
}

export function binariesFor(family: FamilyChoice): ('iptables' | 'ip6tables')[] {
  return family === 'both' ? ['iptables', 'ip6tables'] : [binaryFor(family)];
}

/**
 * The queue an NFQUEUE rule of an `iptables -S` line sends to: --queue-num N, or the first queue of
 * --queue-balance FIRST:LAST (our balanced rules are known by their first queue); null for other rules.
 */
export function nfqueueFirstQueue(tokens: readonly string[]): number | null {
  if (tokens[tokens.indexOf('-j') + 1] !== 'NFQUEUE') return null;
  const q = tokens.indexOf('--queue-num');
  if (q >= 0) return Number(tokens[q + 1]);
  const b = tokens.indexOf('--queue-balance');
  return b >= 0 ? Number((tokens[b + 1] ?? '').split(':')[0]) : null;
}

/** Splits one `iptables -S` line; quotes appear only around comments with spaces. */
export function splitRuleLine(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) out.push(m[1] ?? m[2]!);
  return out;
}

/** True when the rule's tokens carry our comment tag. */
export function isOurs(tokens: readonly string[]): boolean {
  for (let i = 0; i + 1 < tokens.length; i++) {
    if (tokens[i] === '--comment' && tokens[i + 1] === FIREWALL_TAG) return true;
  }
  return false;
}

/** A failed firewall command; missing privilege gets its own code (and exit code) and the fix. */
export function firewallError(binary: FirewallBinary, args: readonly string[], result: CommandResult): MssmanglerError {
  const stderr = result.stderr.trim();
  if (/permission denied|must be root|operation not permitted/i.test(stderr)) {
    return new MssmanglerError(
      ErrorCode.Permission,
      `${binary} needs CAP_NET_ADMIN to change the firewall (${stderr}); run as root or grant the capability`,
    );
  }
  return new MssmanglerError(ErrorCode.Firewall, `${binary} ${args.join(' ')} failed (exit ${result.code}): ${stderr}`);
}

async function run(runner: CommandRunner, binary: FirewallBinary, args: readonly string[]): Promise<void> {
  const result = await runner(binary, args);
  if (result.code !== 0) throw firewallError(binary, args, result);
}

/** Our rules currently installed, as -S tokens starting with "-A CHAIN". */
export async function listOurRules(runner: CommandRunner, binary: 'iptables' | 'ip6tables'): Promise<string[][]> {
  const result = await runner(binary, ['-t', TABLE, '-S']);
  if (result.code !== 0) throw firewallError(binary, ['-t', TABLE, '-S'], result);
  return result.stdout
    .split('\n')
    .map(splitRuleLine)
    .filter((t) => t[0] === '-A' && isOurs(t));
}

export interface ApplyReport {
  readonly binary: FirewallBinary;
  readonly added: number;
  readonly removed: number;
  readonly unchanged: boolean;
}

/** Idempotent: when exactly the planned rules are installed, nothing runs but checks; otherwise our
 * old rules are removed and the plan appended, so a changed config converges in one apply. */
export async function applyIptables(plan: readonly FirewallRule[], family: FamilyChoice, runner: CommandRunner): Promise<ApplyReport[]> {
  const reports: ApplyReport[] = [];
  for (const binary of binariesFor(family)) {
    const wanted = iptablesCommands(plan, '-C').filter((c) => c.binary === binary);
    const existing = await listOurRules(runner, binary);
    let allPresent = existing.length === wanted.length;
    for (const check of allPresent ? wanted : []) {
      const result = await runner(binary, check.args);
      if (result.code === 1) {
        allPresent = false;
        break;
      }
      if (result.code !== 0) throw firewallError(binary, check.args, result);
    }
    if (allPresent) {
      reports.push({ binary, added: 0, removed: 0, unchanged: true });
      continue;
    }
    for (const tokens of existing) await run(runner, binary, ['-t', TABLE, '-D', ...tokens.slice(1)]);
    for (const add of iptablesCommands(plan, '-A').filter((c) => c.binary === binary)) await run(runner, binary, add.args);
    reports.push({ binary, added: wanted.length, removed: existing.length, unchanged: false });
  }
  return reports;
}

/** Deletes every rule carrying our tag in the mangle table; nothing installed is not an error. */
export async function removeIptables(family: FamilyChoice, runner: CommandRunner): Promise<ApplyReport[]> {
  const reports: ApplyReport[] = [];
  for (const binary of binariesFor(family)) {
    const existing = await listOurRules(runner, binary);
    for (const tokens of existing) await run(runner, binary, ['-t', TABLE, '-D', ...tokens.slice(1)]);
    reports.push({ binary, added: 0, removed: existing.length, unchanged: existing.length === 0 });
  }
  return reports;
}
