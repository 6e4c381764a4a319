// `npm run bench`: plain forwarding, the kernel's TCPMSS target, a pure-C NFQUEUE consumer and
// `mssmangler run` itself (and on request the packet core alone in a bench-only consumer) side by
// side, IPv4 and IPv6, in one run: saturation, CPU per packet at a paced rate, latency at 20% load.
// Prints a table and writes the "## NFQUEUE path" section of bench/RESULTS.md. Method: report.ts
// (METHOD). `--scaling` measures one queue against two instead (scaling.ts, "## Scaling").
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { TrackedProcess } from '../test/lab/process-group.js';
import { measureLatency } from './latency.js';
import { describeMachine, loadAverage } from './machine.js';
import { parseOptions, type BenchOptions } from './options.js';
import { CLI_PATH, C_CONSUMER_PATH, MSSMANGLER_CONSUMER_PATH, daemonArgs, daemonBatches } from './consumers.js';
import { C_QUEUE, DAEMON_QUEUE, FLOOR_QUEUE, MSSMANGLER_QUEUE, PATHS, QUEUE_PATHS, TARGET_MSS, type PathName } from './paths.js';
import { perfSummary, startPerf } from './perf-profile.js';
import { summariseProfile } from './profile-summary.js';
import { formatMarkdown, formatText, writeSection, type BenchResult, type FamilyResult, type PathResult } from './report.js';
import { Rig, repoRoot, type Family } from './rig.js';
import { measureSaturation } from './saturation.js';
import { runScaling } from './scaling.js';
import { median } from './stats.js';

const PROFILE_DIR = join(repoRoot, 'bench/out/profile');
const PERF_DIR = join(repoRoot, 'bench/out/perf');
const RESULTS_PATH = join(repoRoot, 'bench/RESULTS.md');

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    log((err as Error).message);
    process.exitCode = 2;
    return;
  }
  execFileSync('bash', [join(repoRoot, 'bench/build.sh')], { stdio: 'inherit' });
  execFileSync('bash', [join(repoRoot, 'scripts/build-tools.sh')], { stdio: 'inherit' });

  const machine = describeMachine();
  const load = loadAverage();
  log(`mssmangler bench: ${machine.cpus} × ${machine.cpuModel}, Linux ${machine.kernel}, Node ${machine.node}, load average ${load}`);
  if (load > 0.5) log('warning: the machine is busy (load average above 0.5): figures will be noisy');

  const rig = await Rig.create();
  const onSignal = () => {
    void rig.destroy().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  if (options.scaling) {
    await runScaling(rig, options, machine, load, RESULTS_PATH);
    return;
  }

  const notes: string[] = [];
  const families: FamilyResult[] = [];
  const consumers = new Map<PathName, TrackedProcess>();
  const unavailable = new Map<PathName, string>();
  try {
    const common = ['--mss', String(TARGET_MSS), '--fail-open', '0'];
    if (options.paths.includes('c')) {
      await startConsumer(
        rig,
        'c',
        C_CONSUMER_PATH,
        ['--queue', String(C_QUEUE), ...common, '--maxlen', String(options.maxLen), '--batch', String(options.batch)],
        consumers,
        unavailable,
      );
    }
    if (options.profile) {
      rmSync(PROFILE_DIR, { recursive: true, force: true });
      mkdirSync(PROFILE_DIR, { recursive: true });
    }
    const nodeFlags = [
      ...(options.profile ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] : []),
      ...(options.perf ? ['--perf-basic-prof'] : []),
    ];
    // The bench-only consumer twice: the packet core alone (mssmangler), and no packet work (floor).
    for (const [path, queue, extra] of [
      ['mssmangler', MSSMANGLER_QUEUE, []],
      ['floor', FLOOR_QUEUE, ['--resend-unchanged']],
    ] as const) {
      if (!options.paths.includes(path)) continue;
      await startConsumer(
        rig,
        path,
        process.execPath,
        [
          ...nodeFlags,
          MSSMANGLER_CONSUMER_PATH,
          '--queue',
          String(queue),
          ...common,
          '--max-len',
          String(options.maxLen),
          '--batch-size',
          String(options.batch),
          ...extra,
        ],
        consumers,
        unavailable,
      );
    }
    if (options.paths.includes('daemon')) {
      // The daemon as users run it (metrics server on, its default; scraped only at the end), with
      // fail-open off like the C consumer so overload shows as loss.
      await startConsumer(
        rig,
        'daemon',
        process.execPath,
        [...nodeFlags, CLI_PATH, ...daemonArgs(['--queue', String(DAEMON_QUEUE)], options.maxLen)],
        consumers,
        unavailable,
        [DAEMON_QUEUE],
      );
    }
    const perfs = new Map<PathName, TrackedProcess>();
    if (options.perf) {
      mkdirSync(PERF_DIR, { recursive: true });
      for (const [path, consumer] of consumers)
        perfs.set(path, await startPerf(rig.lab.processes, consumer.pid!, join(PERF_DIR, `${path}.data`)));
    }
    for (const family of options.families) {
      families.push(await measureFamily(rig, family, options, consumers, unavailable));
    }
    for (const perf of perfs.values()) await perf.stop('SIGINT', 10000);
  } finally {
    for (const [path, consumer] of consumers) {
      const batches = path === 'daemon' && consumer.running ? await daemonBatches(rig) : '';
      const done = await consumer.stop('SIGTERM', 5000);
      const stats = done.stdout.trim().split('\n').at(-1) ?? '';
      notes.push(
        `${PATHS[path].label} exited (${done.code ?? done.signal}): ${batches || describeConsumerStats(stats) || done.stderr.trim()}`,
      );
    }
    await rig.destroy();
  }

  const profiles: BenchResult['profiles'] = [];
  if (options.perf) {
    for (const path of consumers.keys()) {
      const file = join(PERF_DIR, `${path}.data`);
      profiles.push({ title: `${PATHS[path].label}, perf self time (${relative(repoRoot, file)})`, text: perfSummary(file, repoRoot) });
    }
  }
  if (options.profile) {
    for (const file of readdirSync(PROFILE_DIR).filter((f) => f.endsWith('.cpuprofile'))) {
      const path = join(PROFILE_DIR, file);
      profiles.push({ title: `node consumer, V8 CPU profile (${relative(repoRoot, path)})`, text: summariseProfile(path, repoRoot) });
    }
  }
  const result: BenchResult = { machine, loadAverage: load, options, families, notes, profiles };
  process.stdout.write(`${formatText(result)}\n`);
  if (options.write) {
    writeSection(RESULTS_PATH, formatMarkdown(result));
    log(`wrote ${RESULTS_PATH}`);
  }
}

async function startConsumer(
  rig: Rig,
  path: PathName,
  command: string,
  args: string[],
  consumers: Map<PathName, TrackedProcess>,
  unavailable: Map<PathName, string>,
  boundQueues?: readonly number[],
): Promise<void> {
  try {
    consumers.set(path, await rig.startConsumer(command, args, boundQueues));
  } catch (err) {
    unavailable.set(path, (err as Error).message.split('\n')[0]!);
    log(`${PATHS[path].label}: not measured: ${(err as Error).message}`);
  }
}

async function measureFamily(
  rig: Rig,
  family: Family,
  options: BenchOptions,
  consumers: Map<PathName, TrackedProcess>,
  unavailable: Map<PathName, string>,
): Promise<FamilyResult> {
  const results = options.paths.map((path): PathResult => {
    const why = unavailable.get(path);
    return { path, samples: [], paced: [], latency: [], ...(why ? { unavailable: why } : {}) };
  });
  const live = () => results.filter((r) => !r.unavailable);
  const pidOf = (path: PathName) => consumers.get(path)?.pid;
  const alive = (r: PathResult): boolean => {
    const consumer = consumers.get(r.path);
    if (consumer && !consumer.running) {
      r.unavailable = `consumer exited: ${consumer.stderr.trim().split('\n').at(-1) ?? ''}`;
      return false;
    }
    return true;
  };

  // Warm-up: the packet count that keeps the generator busy for options.seconds on each path.
  const counts = new Map<PathName, number>();
  for (const r of live()) {
    await rig.setPath(family, r.path);
    const w = await measureSaturation(rig, family, r.path, options.warmup, pidOf(r.path));
    counts.set(r.path, Math.max(options.warmup, Math.round((w.sent / w.seconds) * options.seconds)));
    log(`IPv${family} ${r.path} warm-up: generator ${Math.round(w.sent / w.seconds)} SYN/s, ${Math.round(w.pps)} delivered/s`);
  }

  for (let rep = 0; rep < options.reps; rep++) {
    const order = live();
    for (let i = 0; i < order.length; i++) {
      const r = order[(i + rep) % order.length]!;
      if (!alive(r)) continue;
      await rig.setPath(family, r.path);
      const s = await measureSaturation(rig, family, r.path, counts.get(r.path)!, pidOf(r.path));
      r.samples.push(s);
      // The generator's rate drifts with whatever else the machine does: aim the next sample's count
      // at options.seconds from this one's rate.
      counts.set(r.path, Math.max(options.warmup, Math.round((s.sent / s.seconds) * options.seconds)));
      log(
        `IPv${family} ${r.path} rep ${rep + 1}/${options.reps}: ${Math.round(s.pps)} SYN/s, sent ${s.sent} in ${s.seconds.toFixed(2)} s,` +
          ` loss ${s.loss}${s.unmangled ? `, UNMANGLED ${s.unmangled}` : ''}, CPU ${s.cpuPerMpkt.toFixed(2)} s/Mpkt,` +
          ` consumer ${percent(s.consumerShare)} of its core, cores busy ${percent(s.generatorCoreBusy)} / ${percent(s.consumerCoreBusy)}`,
      );
    }
  }

  // Paced: the same offered rate through every queue path, CPU per packet at moderate load, where
  // per-wake-up costs weigh more than at saturation (small batches).
  const queued = () => live().filter((r) => QUEUE_PATHS.includes(r.path));
  for (let rep = 0; options.pacedRate > 0 && rep < options.reps; rep++) {
    const order = queued();
    for (let i = 0; i < order.length; i++) {
      const r = order[(i + rep) % order.length]!;
      if (!alive(r)) continue;
      await rig.setPath(family, r.path);
      const s = await measureSaturation(rig, family, r.path, options.pacedRate * options.pacedSeconds, pidOf(r.path), {
        rate: options.pacedRate,
        batch: options.pacedBurst,
      });
      r.paced.push(s);
      log(
        `IPv${family} ${r.path} paced rep ${rep + 1}/${options.reps}: ${Math.round(s.sent / s.seconds)} SYN/s offered, loss ${s.loss},` +
          ` CPU ${s.cpuPerMpkt.toFixed(2)} s/Mpkt (main thread ${s.mainThreadPerMpkt.toFixed(3)}), user ${s.userPerMpkt.toFixed(2)}`,
      );
    }
  }

  const slowest = Math.min(...live().map((r) => median(r.samples.map((s) => s.pps))));
  const loadPps = Math.max(1000, Math.round(slowest * options.loadFraction));
  for (let rep = 0; rep < options.latencyReps; rep++) {
    const order = live();
    for (let i = 0; i < order.length; i++) {
      const r = order[(i + rep) % order.length]!;
      if (!alive(r)) continue;
      await rig.setPath(family, r.path);
      const l = await measureLatency(rig, family, r.path, loadPps, options.latencySeconds, options.latencyBurst);
      r.latency.push(l);
      log(
        `IPv${family} ${r.path} latency rep ${rep + 1}/${options.latencyReps} at ${loadPps} SYN/s: p50 ${l.p50Us.toFixed(1)} µs, p99 ${l.p99Us.toFixed(1)} µs` +
          ` (${l.matched} matched), loss ${l.loss} of ${l.sent}, wrong MSS ${l.wrongMss}, bad checksums ${l.badChecksums}`,
      );
    }
  }
  await rig.clearPath(family);
  return { family, loadPps, paths: results };
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 100)}%`;
}

/** The consumers' last line: counters as JSON. Batch size is what batching buys, so it is worth a note. */
function describeConsumerStats(line: string): string {
  try {
    const s = JSON.parse(line) as {
      packets?: number;
      batches?: number;
      queue?: { packets: number; batches: number; verdictSends: number };
    };
    const packets = s.queue?.packets ?? s.packets ?? NaN;
    const batches = s.queue?.batches ?? s.batches ?? NaN;
    return `${packets} packets in ${batches} batches (${(packets / batches).toFixed(1)} per batch); ${line}`;
  } catch {
    return line;
  }
}

await main();
