// `--perf`: perf record (cpu-clock samples with call graphs) on each consumer for the whole run, then
// where the time went by shared object and symbol: the kernel's share (netlink, reinjection,
// forwarding) against each consumer's own code. The node consumer runs with --perf-basic-prof so perf
// can name JIT-compiled JavaScript functions (/tmp/perf-PID.map).
import { execFileSync } from 'node:child_process';
import type { ProcessGroup, TrackedProcess } from '../test/lab/process-group.js';

/** Samples per second: enough for a few seconds of saturation, little overhead. */
const FREQUENCY = 999;

export async function startPerf(processes: ProcessGroup, pid: number, file: string): Promise<TrackedProcess> {
  const perf = processes.spawn('perf', ['record', '-F', String(FREQUENCY), '-g', '-p', String(pid), '-o', file]);
  // perf prints nothing when it starts; give it a moment to attach before the traffic.
  await new Promise((resolve) => setTimeout(resolve, 500));
  if (!perf.running) throw new Error(`perf record failed: ${perf.stderr.trim()}`);
  return perf;
}

/** Self time by shared object, then the heaviest kernel symbols and the heaviest user-space symbols. */
export function perfSummary(file: string, root: string, lines = 15): string {
  const report = (sort: string) =>
    execFileSync('perf', ['report', '-i', file, '--stdio', '--no-children', '--sort', sort, '-g', 'none'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 256 * 1024 * 1024,
    })
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'))
      // perf pads every line to its widest symbol and appends empty columns.
      .map((l) => l.replace(/\s+(-\s+)*$/, '').replaceAll(`file://${root}`, ''));
  const symbols = report('dso,symbol');
  const kernel = symbols.filter((l) => l.includes('[kernel.kallsyms]'));
  const user = symbols.filter((l) => !l.includes('[kernel.kallsyms]'));
  return [
    ...report('dso').slice(0, lines),
    '  kernel symbols:',
    ...kernel.slice(0, lines),
    '  user-space symbols:',
    ...user.slice(0, lines),
  ].join('\n');
}
