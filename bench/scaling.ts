// `npm run bench -- --scaling`: does a second queue double what mssmangler rewrites? One process per
// consumer reads two queues, one thread each (the C consumer with --threads 2, the daemon with
// --queue-balance); the router's rule feeds either the first queue alone or both (iptables
// --queue-balance, which hashes the addresses, so the generator cycles through many source
// addresses). Each queue thread is held to the same share of a core by a cgroup of its own (cgroup v1
// cpu controller: a thread id written to `tasks` moves that thread alone), so two queues can do at
// most twice what one does whatever else the machine runs, and the figure says how close the
// software gets to that. Writes the "## Scaling" section of bench/RESULTS.md.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrackedProcess } from '../test/lab/process-group.js';
import { CLI_PATH, C_CONSUMER_PATH, daemonArgs } from './consumers.js';
import type { Machine } from './machine.js';
import type { BenchOptions } from './options.js';
import { TARGET_MSS } from './paths.js';
import { writeSection } from './report.js';
import type { Family, Rig } from './rig.js';
import { measureSaturation, type SaturationSample } from './saturation.js';
import { median } from './stats.js';

/** Where the cgroup v1 cpu controller is mounted on this machine (checked before use). */
const CPU_CGROUP_ROOT = '/sys/fs/cgroup/cpu';
const CFS_PERIOD_US = 100_000;
const C_FIRST_QUEUE = 4;
const DAEMON_FIRST_QUEUE = 6;

type Consumer = 'c' | 'daemon';
const LABEL: Record<Consumer, string> = { c: 'C consumer, 2 threads', daemon: 'mssmangler run --queue-balance' };

interface Held {
  consumer: Consumer;
  process: TrackedProcess;
  firstQueue: number;
  /** The queue threads, each in its own cgroup. */
  threads: number[];
  cgroups: string[];
}

interface ScalingRow {
  family: Family;
  consumer: Consumer;
  queues: 1 | 2;
  /** The consumer's queue threads. */
  threads: number[];
  samples: SaturationSample[];
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

export async function runScaling(rig: Rig, options: BenchOptions, machine: Machine, load: number, resultsPath: string): Promise<void> {
  if (!existsSync(join(CPU_CGROUP_ROOT, 'tasks'))) {
    throw new Error(`--scaling needs the cgroup v1 cpu controller at ${CPU_CGROUP_ROOT} (this machine mounts: ${mounts()})`);
  }
  const held: Held[] = [];
  const rows: ScalingRow[] = [];
  const families: Family[] = [...options.families];
  try {
    const common = ['--mss', String(TARGET_MSS), '--fail-open', '0', '--maxlen', String(options.maxLen), '--batch', String(options.batch)];
    const c = await rig.startConsumer(C_CONSUMER_PATH, ['--queue', String(C_FIRST_QUEUE), '--threads', '2', ...common]);
    const cThreads = (/^threads ([\d ]+)$/m.exec(c.stderr)?.[1] ?? '').trim().split(' ').map(Number);
    held.push({ consumer: 'c', process: c, firstQueue: C_FIRST_QUEUE, threads: cThreads, cgroups: [] });
    const daemon = await rig.startConsumer(
      process.execPath,
      [CLI_PATH, ...daemonArgs(['--queue-balance', `${DAEMON_FIRST_QUEUE}:${DAEMON_FIRST_QUEUE + 1}`], options.maxLen)],
      [DAEMON_FIRST_QUEUE, DAEMON_FIRST_QUEUE + 1],
    );
    held.push({ consumer: 'daemon', process: daemon, firstQueue: DAEMON_FIRST_QUEUE, threads: [], cgroups: [] });

    const family = families[0]!;
    // Warm-up through both queues unheld: the JIT settles, and the daemon's two busiest threads other
    // than the main one are its queue workers (Node names every thread "node").
    const counts = new Map<Consumer, number>();
    for (const h of held) {
      await rig.setTarget(family, balance(h.firstQueue, 2));
      let w: SaturationSample | undefined;
      for (let i = 0; i < 2; i++)
        w = await measureSaturation(rig, family, queues(h.firstQueue), options.warmup, h.process.pid, { sources: options.sources });
      counts.set(h.consumer, Math.max(options.warmup, Math.round((w!.sent / w!.seconds) * options.seconds)));
      if (h.consumer === 'daemon') {
        h.threads = [...w!.threads]
          .filter(([tid]) => tid !== h.process.pid)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 2)
          .map(([tid]) => tid);
        const busiest = [...w!.threads]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 5)
          .map(([tid, s]) => `${tid}: ${s.toFixed(2)} s`)
          .join(', ');
        log(`daemon threads by CPU in the warm-up: ${busiest}; queue workers: ${h.threads.join(', ')}`);
      }
      h.cgroups = h.threads.map((tid, i) => holdThread(h.process.pid!, tid, `${h.consumer}-${i}`, options.threadShare));
    }

    for (const f of families) {
      for (const h of held) {
        for (const n of [1, 2] as const) rows.push({ family: f, consumer: h.consumer, queues: n, threads: h.threads, samples: [] });
      }
      const familyRows = rows.slice(-held.length * 2);
      for (let rep = 0; rep < options.reps; rep++) {
        for (let i = 0; i < familyRows.length; i++) {
          const row = familyRows[(i + rep) % familyRows.length]!;
          const h = held.find((x) => x.consumer === row.consumer)!;
          await rig.setTarget(f, row.queues === 1 ? ['-j', 'NFQUEUE', '--queue-num', String(h.firstQueue)] : balance(h.firstQueue, 2));
          const s = await measureSaturation(rig, f, queues(h.firstQueue), counts.get(h.consumer)!, h.process.pid, {
            sources: options.sources,
          });
          row.samples.push(s);
          const perThread = h.threads.map((tid) => `${(((s.threads.get(tid) ?? 0) / s.seconds) * 100).toFixed(0)}%`).join('/');
          log(
            `IPv${f} ${row.consumer} ${row.queues} queue(s) rep ${rep + 1}/${options.reps}: ${Math.round(s.pps)} SYN/s rewritten, loss ${s.loss},` +
              ` queue threads ${perThread} of a core, main thread ${s.mainThreadPerMpkt.toFixed(3)} s/Mpkt, all threads ${s.cpuPerMpkt.toFixed(2)} s/Mpkt`,
          );
        }
      }
    }
  } finally {
    for (const h of held) {
      await h.process.stop('SIGTERM', 5000);
      for (const cg of h.cgroups) release(cg);
    }
    await rig.clearPath(4);
    await rig.clearPath(6);
    await rig.destroy();
  }
  const text = formatScaling(rows, options, machine, load);
  process.stdout.write(`${text}\n`);
  if (options.write) {
    writeSection(resultsPath, text, '## Scaling');
    log(`wrote ${resultsPath}`);
  }
}

function balance(first: number, n: number): string[] {
  return ['-j', 'NFQUEUE', '--queue-balance', `${first}:${first + n - 1}`];
}

function queues(first: number): { queues: number[]; rewrites: boolean } {
  return { queues: [first, first + 1], rewrites: true };
}

/** A cgroup of its own for one thread, held to `share` of a core (CFS bandwidth); returns its path. */
function holdThread(pid: number, tid: number, name: string, share: number): string {
  const dir = join(CPU_CGROUP_ROOT, `mm-bench-${process.pid}-${name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cpu.cfs_period_us'), String(CFS_PERIOD_US));
  writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(Math.round(share * CFS_PERIOD_US)));
  if (!existsSync(`/proc/${pid}/task/${tid}`)) throw new Error(`thread ${tid} of ${pid} is gone`);
  writeFileSync(join(dir, 'tasks'), String(tid));
  return dir;
}

/** Moves whatever is left in the cgroup back to the root and removes it. */
function release(dir: string): void {
  try {
    for (const tid of readFileSync(join(dir, 'tasks'), 'utf8').split('\n').filter(Boolean)) {
      try {
        writeFileSync(join(CPU_CGROUP_ROOT, 'tasks'), tid);
      } catch {
        // the thread ended meanwhile
      }
    }
    rmdirSync(dir);
  } catch (err) {
    log(`could not remove ${dir}: ${(err as Error).message}`);
  }
}

function mounts(): string {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .filter((l) => l.includes('cgroup'))
    .map((l) => l.split(' ').slice(1, 3).join(' '))
    .join('; ');
}

function formatScaling(rows: ScalingRow[], options: BenchOptions, machine: Machine, load: number): string {
  const out = [
    '## Scaling',
    '',
    `Measured ${machine.date} on ${machine.cpus} × ${machine.cpuModel}, Linux ${machine.kernel}, Node ${machine.node}; load average ${load.toFixed(2)} at the start.`,
    `Command: \`npm run bench -- ${options.argv.join(' ')}\` (${options.reps} repetitions of ${options.seconds} s, medians; each queue thread held to` +
      ` ${Math.round(options.threadShare * 100)}% of a core by a cgroup v1 cpu group of its own; generator flat out from ${options.sources} source addresses).`,
    '',
    '| family | consumer | queues | rewritten SYN/s | × one queue | loss % | queue threads, % of a core | main thread s/Mpkt | all threads CPU s/Mpkt |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    const pps = median(r.samples.map((s) => s.pps));
    const one = rows.find((x) => x.family === r.family && x.consumer === r.consumer && x.queues === 1);
    const onePps = one ? median(one.samples.map((s) => s.pps)) : NaN;
    const shares = r.threads.map((tid) => median(r.samples.map((s) => (s.threads.get(tid) ?? 0) / s.seconds)));
    out.push(
      `| IPv${r.family} | ${LABEL[r.consumer]} | ${r.queues} | ${Math.round(pps).toLocaleString('en-US')} | ${(pps / onePps).toFixed(2)}× |` +
        ` ${median(r.samples.map((s) => (s.loss / s.sent) * 100)).toFixed(1)} | ${shares.map((v) => (v * 100).toFixed(0)).join(' / ')} |` +
        ` ${median(r.samples.map((s) => s.mainThreadPerMpkt)).toFixed(3)} | ${median(r.samples.map((s) => s.cpuPerMpkt)).toFixed(2)} |`,
    );
  }
  out.push('', '<details><summary>Samples (rewritten SYN/s)</summary>', '');
  for (const r of rows)
    out.push(
      `- IPv${r.family} ${LABEL[r.consumer]}, ${r.queues} queue(s): ${r.samples.map((s) => Math.round(s.pps).toLocaleString('en-US')).join('; ')}`,
    );
  out.push('', '</details>', '');
  return out.join('\n');
}
