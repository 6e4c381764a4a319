// The command line of `npm run bench -- [flags]`, parsed into one frozen object or a message that says
// how to fix it.
import { parseArgs } from 'node:util';
import { DEFAULT_PATHS, PATH_NAMES, type PathName } from './paths.js';
import type { Family } from './rig.js';

export interface BenchOptions {
  families: readonly Family[];
  paths: readonly PathName[];
  reps: number;
  /** Generator seconds per saturation sample. */
  seconds: number;
  /** Generator seconds of the latency measurement. */
  latencySeconds: number;
  /** Offered load of the latency measurement, as a fraction of the slowest path's saturation rate. */
  loadFraction: number;
  /** Latency measurements per path (medians reported). */
  latencyReps: number;
  /** SYNs per generator burst in the latency measurement (1: evenly spaced). */
  latencyBurst: number;
  /** Offered SYN/s of the paced CPU-per-packet samples (0: none). */
  pacedRate: number;
  /** Generator seconds per paced sample (one per repetition and queue path). */
  pacedSeconds: number;
  /** SYNs per generator burst in the paced samples. */
  pacedBurst: number;
  /** Run the scaling measurement (one queue against two) instead of the path comparison. */
  scaling: boolean;
  /** Scaling: CPU share (of one core) each queue thread gets, enforced by a cgroup per thread. */
  threadShare: number;
  /** Scaling: source addresses the generator cycles through (balancing hashes on addresses). */
  sources: number;
  /** SYNs of the warm-up run per path (also estimates the generator's rate on that path). */
  warmup: number;
  /** Descriptor rows / recvmmsg slots per batch, for both consumers. */
  batch: number;
  /** Kernel queue length for both consumers. */
  maxLen: number;
  write: boolean;
  profile: boolean;
  perf: boolean;
  argv: readonly string[];
}

export const USAGE = `usage: npm run bench -- [--quick] [--family 4|6] [--reps N] [--seconds S] [--paths plain,kernel,c,floor,mssmangler,daemon]
                          [--latency-seconds S] [--latency-reps N] [--latency-burst N] [--load F] [--paced-rate PPS] [--paced-seconds S]
                          [--paced-burst N] [--batch N] [--max-len N] [--profile] [--perf] [--no-write]
       npm run bench -- --scaling [--family 4|6] [--reps N] [--seconds S] [--thread-share F] [--sources N]
  --quick            1 repetition of 1 s, 1 latency run of 1 s: a smoke run (about a minute)
  --family 4|6       one address family (default both)
  --paths LIST       which paths, default plain,kernel,c,floor,daemon; "daemon" is \`mssmangler run\` itself,
                     "floor" the addon with no packet work (every packet resent unchanged), "mssmangler"
                     the packet core alone; both in a bench-only consumer (bench/consumer.ts)
  --reps N           saturation (and paced) repetitions per path (default 5); medians are reported
  --seconds S        generator seconds per saturation sample (default 3)
  --latency-seconds  generator seconds of one latency measurement (default 2)
  --latency-reps N   latency measurements per path, interleaved (default 5); medians of p50 and p99
  --latency-burst N  SYNs per generator burst in the latency measurement (default 1: evenly spaced, so
                     the offered load is --load at every time scale; 64 was the default before 2026-12-06)
  --load F           latency offered load as a fraction of the slowest path's saturation rate (default 0.2)
  --paced-rate PPS   offered SYN/s of the paced CPU-per-packet samples (default 50000; 0 skips them)
  --paced-seconds S  generator seconds per paced sample (default 3)
  --paced-burst N    SYNs per generator burst when paced (default 8: a burst every 160 µs at 50,000/s)
  --scaling          one queue against two (--queue-balance), each queue thread held to --thread-share
                     of a core by a cgroup of its own; the C consumer with two threads side by side
  --thread-share F   CPU share per queue thread in --scaling (default 0.25)
  --sources N        source addresses the generator cycles through in --scaling (default 64)
  --batch N          packets per batch for both consumers (default 256)
  --max-len N        kernel queue length for both consumers (default 4096)
  --profile          run the mssmangler consumer under --cpu-prof and print where its time goes
  --perf             perf record each consumer for the whole run and print where its time goes
  --no-write         print the results but leave bench/RESULTS.md alone`;

export function parseOptions(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      family: { type: 'string' },
      reps: { type: 'string' },
      seconds: { type: 'string' },
      'latency-seconds': { type: 'string' },
      load: { type: 'string', default: '0.2' },
      'latency-reps': { type: 'string' },
      'latency-burst': { type: 'string' },
      'paced-rate': { type: 'string' },
      'paced-seconds': { type: 'string' },
      'paced-burst': { type: 'string' },
      scaling: { type: 'boolean', default: false },
      'thread-share': { type: 'string' },
      sources: { type: 'string' },
      paths: { type: 'string', default: DEFAULT_PATHS.join(',') },
      batch: { type: 'string', default: '256' },
      'max-len': { type: 'string', default: '4096' },
      profile: { type: 'boolean', default: false },
      perf: { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) throw new Error(USAGE);
  const quick = values.quick ?? false;
  const problems: string[] = [];
  const number = (name: string, text: string | undefined, fallback: number, min: number, max: number, integer: boolean): number => {
    const n = text === undefined ? fallback : Number(text);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      problems.push(`--${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${text}`);
    }
    return n;
  };
  let families: Family[] = [4, 6];
  if (values.family !== undefined) {
    if (values.family === '4' || values.family === '6') families = [Number(values.family) as Family];
    else problems.push(`--family must be 4 or 6, got ${values.family}`);
  }
  const paths = (values.paths ?? '').split(',').filter(Boolean);
  for (const p of paths) {
    if (!(PATH_NAMES as readonly string[]).includes(p)) problems.push(`--paths: unknown path ${p}; choose from ${PATH_NAMES.join(',')}`);
  }
  const options: BenchOptions = {
    families,
    paths: PATH_NAMES.filter((p) => paths.includes(p)),
    reps: number('reps', values.reps, quick ? 1 : 5, 1, 50, true),
    seconds: number('seconds', values.seconds, quick ? 1 : 3, 0.2, 60, false),
    latencySeconds: number('latency-seconds', values['latency-seconds'], quick ? 1 : 2, 0.2, 60, false),
    loadFraction: number('load', values.load, 0.2, 0.01, 1, false),
    latencyReps: number('latency-reps', values['latency-reps'], quick ? 1 : 5, 1, 50, true),
    latencyBurst: number('latency-burst', values['latency-burst'], 1, 1, 1024, true),
    pacedRate: number('paced-rate', values['paced-rate'], 50_000, 0, 10_000_000, true),
    pacedSeconds: number('paced-seconds', values['paced-seconds'], quick ? 1 : 3, 0.2, 60, false),
    pacedBurst: number('paced-burst', values['paced-burst'], 8, 1, 1024, true),
    scaling: values.scaling ?? false,
    threadShare: number('thread-share', values['thread-share'], 0.25, 0.01, 1, false),
    sources: number('sources', values.sources, 64, 2, 250, true),
    warmup: quick ? 100_000 : 200_000,
    batch: number('batch', values.batch, 256, 1, 1024, true),
    maxLen: number('max-len', values['max-len'], 4096, 1, 1 << 20, true),
    write: !(values['no-write'] ?? false),
    profile: values.profile ?? false,
    perf: values.perf ?? false,
    argv,
  };
  if (problems.length > 0) throw new Error(`${problems.join('\n')}\n${USAGE}`);
  return Object.freeze(options);
}
