// The benchmark's lab: the test lab's three namespaces used as generator (client), router and sink
// (server), plus what the benchmark reads from them: the sink's counters, the queue's kernel counters
// and the consumers' CPU time.
//
// The sink counts in its raw PREROUTING chain, before anything else in its stack sees the SYNs, and
// drops them there, so it never answers with RSTs that would load the router on the way back. Two
// rules: SYNs that arrive with TARGET_MSS (tcpmss match: the kernel checks every packet for us) and
// all other SYNs.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Lab, LabAddress } from '../test/lab/lab.js';
import type { TrackedProcess } from '../test/lab/process-group.js';
import { PATHS, TARGET_MSS, ruleArgs, type PathName } from './paths.js';

export type Family = 4 | 6;

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export function iptables(family: Family): string {
  return family === 4 ? 'iptables' : 'ip6tables';
}

export function addresses(family: Family): { src: string; dst: string } {
  return family === 4 ? { src: LabAddress.client4, dst: LabAddress.server4 } : { src: LabAddress.client6, dst: LabAddress.server6 };
}

export interface SinkCounts {
  /** SYNs that arrived carrying TARGET_MSS. */
  rewritten: number;
  /** Every other SYN. */
  other: number;
}

/** One line of /proc/net/netfilter/nfnetlink_queue (nfnetlink_queue.c seq_show). */
export interface QueueCounts {
  /** Packets waiting for a verdict now. */
  waiting: number;
  /** Dropped because the queue was full (queue_dropped). */
  queueDropped: number;
  /** Dropped because the netlink socket could not take them (user_dropped). */
  userDropped: number;
  /** Packet ids handed out so far (id_sequence): every packet that entered the queue. */
  idSequence: number;
}

/** CPU cores: the generator and all kernel forwarding it triggers on one, the consumer on the other. */
export const GENERATOR_CPU = 0;
export const CONSUMER_CPU = 1;

export class Rig {
  private constructor(readonly lab: Lab) {}

  static async create(): Promise<Rig> {
    const lab = await Lab.create({ tag: 'bench' });
    const rig = new Rig(lab);
    try {
      for (const family of [4, 6] as const) {
        const ipt = iptables(family);
        await lab.exec('server', ipt, [
          '-t',
          'raw',
          '-A',
          'PREROUTING',
          '-p',
          'tcp',
          '--syn',
          '-m',
          'tcpmss',
          '--mss',
          String(TARGET_MSS),
          '-j',
          'DROP',
        ]);
        await lab.exec('server', ipt, ['-t', 'raw', '-A', 'PREROUTING', '-p', 'tcp', '--syn', '-j', 'DROP']);
      }
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return rig;
  }

  async readSink(family: Family): Promise<SinkCounts> {
    const { stdout } = await this.lab.exec('server', iptables(family), ['-t', 'raw', '-n', '-v', '-x', '-L', 'PREROUTING']);
    // Two header lines, then one line per rule with the packet count first.
    const counts = stdout
      .trim()
      .split('\n')
      .slice(2)
      .map((line) => Number(line.trim().split(/\s+/)[0]));
    if (counts.length !== 2 || counts.some((n) => !Number.isFinite(n))) throw new Error(`unexpected sink counters:\n${stdout}`);
    return { rewritten: counts[0]!, other: counts[1]! };
  }

  /** Puts `path`'s rule (alone) in the router's mangle FORWARD chain for `family`. */
  async setPath(family: Family, path: PathName): Promise<void> {
    await this.clearPath(family);
    const args = ruleArgs(PATHS[path]);
    if (args) await this.lab.exec('router', iptables(family), args);
  }

  /** Puts one rule with `target` (e.g. -j NFQUEUE --queue-balance 4:5) alone in the FORWARD chain. */
  async setTarget(family: Family, target: readonly string[]): Promise<void> {
    await this.clearPath(family);
    await this.lab.exec('router', iptables(family), ruleArgs({ name: 'c', label: '', target, queue: -1, rewrites: true })!);
  }

  async clearPath(family: Family): Promise<void> {
    await this.lab.exec('router', iptables(family), ['-t', 'mangle', '-F', 'FORWARD']);
  }

  /** The kernel's counters for queue `queue` in the router, or null when nothing is bound to it. */
  async readQueue(queue: number): Promise<QueueCounts | null> {
    const { stdout } = await this.lab.exec('router', 'cat', ['/proc/net/netfilter/nfnetlink_queue']);
    for (const line of stdout.trim().split('\n')) {
      // queue_number peer_portid queue_total copy_mode copy_range queue_dropped user_dropped id_sequence 1
      const f = line.trim().split(/\s+/).map(Number);
      if (f.length >= 8 && f[0] === queue) {
        return { waiting: f[2]!, queueDropped: f[5]!, userDropped: f[6]!, idSequence: f[7]! };
      }
    }
    return null;
  }

  /** Waits until the queues hold no packet (or `timeoutMs` passed), then a little for the sink. */
  async settle(queue: number | readonly number[], timeoutMs = 5000): Promise<void> {
    const queues = typeof queue === 'number' ? [queue] : queue;
    const deadline = Date.now() + timeoutMs;
    for (const q of queues) {
      while (q >= 0 && Date.now() < deadline) {
        const counts = await this.readQueue(q);
        if (!counts || counts.waiting === 0) break;
        await sleep(20);
      }
    }
    await sleep(100);
  }

  /**
   * Starts a process in the router pinned to CONSUMER_CPU and waits until it is ready: it printed
   * "ready", or (`boundQueues`, for the daemon, which says nothing at --log-level warn) every one of
   * those queues has a reader in the kernel's table.
   */
  async startConsumer(
    command: string,
    args: readonly string[],
    boundQueues?: readonly number[],
    readyTimeoutMs = 20000,
  ): Promise<TrackedProcess> {
    if (!existsSync(command)) throw new Error(`${command} is missing`);
    const consumer = this.lab.spawn('router', 'taskset', ['-c', String(CONSUMER_CPU), command, ...args]);
    if (!boundQueues) {
      await consumer.waitFor(/^ready$/m, readyTimeoutMs);
      return consumer;
    }
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      const bound = await Promise.all(boundQueues.map((q) => this.readQueue(q)));
      if (bound.every((b) => b !== null)) return consumer;
      if (!consumer.running) throw new Error(`${command} exited: ${consumer.stderr.trim()} ${consumer.stdout.trim()}`);
      if (Date.now() > deadline)
        throw new Error(`queues ${boundQueues.join(',')} not bound within ${readyTimeoutMs} ms: ${consumer.stderr.trim()}`);
      await sleep(50);
    }
  }

  async destroy(): Promise<void> {
    await this.lab.destroy();
  }
}

export interface ProcessCpu {
  user: number;
  system: number;
}

/** User and system CPU seconds of a process, all its threads (/proc/PID/stat fields 14 and 15). */
export function processCpu(pid: number | undefined): ProcessCpu {
  if (pid === undefined) return { user: NaN, system: NaN };
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / CLOCK_TICKS_PER_SECOND, system: Number(fields[12]) / CLOCK_TICKS_PER_SECOND };
}

/**
 * CPU nanoseconds of each thread of a process so far (/proc/PID/task/TID/schedstat, first field: the
 * scheduler's exact run time, user and kernel, of that thread). Sums over this are exact where the
 * tick-sampled /proc/PID/stat is off by a tick or two, which matters at moderate rates.
 */
export function threadCpuNs(pid: number | undefined): Map<number, number> {
  const threads = new Map<number, number>();
  if (pid === undefined) return threads;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      threads.set(Number(tid), Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return threads;
}

/** Seconds of CPU each thread spent between two threadCpuNs readings (threads that started count from 0). */
export function threadCpuDelta(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): Map<number, number> {
  const delta = new Map<number, number>();
  for (const [tid, ns] of after) delta.set(tid, (ns - (before.get(tid) ?? 0)) / 1e9);
  return delta;
}

export function sum(values: Iterable<number>): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

/** USER_HZ, which /proc reports in: 100 on every Linux architecture Node runs on (getconf CLK_TCK). */
const CLOCK_TICKS_PER_SECOND = 100;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
