// Lab plumbing shared by the queue lab tests: NFQUEUE rules in the router, the consumer fixture
// running inside the router namespace, and syngen in the client namespace.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabAddress, type Lab } from '../lab/lab.js';
import type { TrackedProcess } from '../lab/process-group.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CONSUMER = fileURLToPath(new URL('./fixtures/consumer.js', import.meta.url));
export const WORKERS = fileURLToPath(new URL('./fixtures/workers.js', import.meta.url));
export const SYNGEN = `${ROOT}tools/build/syngen`;

/**
 * Compiles the netlink sendto() shim (fixtures/nlshim.c, options in its header) into a fresh temporary
 * directory; returns the .so path and a cleanup.
 */
export function buildNlShim(): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'nlshim-'));
  const path = join(dir, 'nlshim.so');
  execFileSync('gcc', ['-Wall', '-Wextra', '-Werror', '-shared', '-fPIC', '-o', path, `${ROOT}test/queue/fixtures/nlshim.c`, '-ldl']);
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

let toolsBuilt = false;
export function buildTools(): void {
  if (toolsBuilt) return;
  execFileSync('bash', [`${ROOT}scripts/build-tools.sh`], { stdio: 'inherit' });
  toolsBuilt = true;
}

/** Queue TCP SYNs to `dport` (IPv4 and IPv6) in the router's FORWARD chain. */
export async function queueSyns(lab: Lab, dport: number | string, queue: number): Promise<void> {
  for (const tool of ['iptables', 'ip6tables']) {
    await lab.exec('router', tool, [
      '-A',
      'FORWARD',
      '-p',
      'tcp',
      '--syn',
      '--dport',
      String(dport),
      '-j',
      'NFQUEUE',
      '--queue-num',
      String(queue),
    ]);
  }
}

export interface Consumer {
  process: TrackedProcess;
  /** Resolves with the {"event":"ready"} or {"event":"error"} line. */
  first: Record<string, unknown>;
}

export async function startConsumer(lab: Lab, args: readonly string[], script = CONSUMER, env?: NodeJS.ProcessEnv): Promise<Consumer> {
  const proc = lab.spawn('router', process.execPath, [script, ...args], env ? { env: { ...process.env, ...env } } : {});
  await proc.waitFor(/"event":"(ready|error)"/, 10000);
  const first = events(proc.stdout)[0]!;
  return { process: proc, first };
}

/** Stops the consumer with SIGTERM and returns its stats event; it must exit by itself, with status 0. */
export async function stopConsumer(c: Consumer): Promise<ConsumerEvent> {
  const done = await c.process.stop('SIGTERM', 5000);
  if (done.code !== 0) throw new Error(`consumer exited with ${done.code ?? done.signal}: ${done.stderr}`);
  const stats = events(done.stdout).find((e) => e['event'] === 'stats');
  if (!stats) throw new Error(`consumer printed no stats: ${done.stdout} ${done.stderr}`);
  return stats;
}

/** One JSON line of fixtures/consumer.ts; its shape depends on `event`, and each test reads the fields it expects. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ConsumerEvent = Record<string, any>;

export function events(stdout: string): ConsumerEvent[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as ConsumerEvent);
}

export interface SyngenOptions {
  family: 4 | 6;
  count: number;
  dport: number;
  rate?: number;
  mss?: number;
  sportBase?: number;
  options?: 'mss' | 'linux' | 'none';
  /** SYNs per sendmmsg (syngen's default 64); paced, one burst every batch/rate seconds. */
  batch?: number;
}

export async function syngen(lab: Lab, o: SyngenOptions): Promise<{ sent: number; seconds: number }> {
  buildTools();
  const [src, dst] = o.family === 4 ? [LabAddress.client4, LabAddress.server4] : [LabAddress.client6, LabAddress.server6];
  const args = ['--src', src, '--dst', dst, '--count', String(o.count), '--dport', String(o.dport)];
  if (o.rate) args.push('--rate', String(o.rate));
  if (o.mss) args.push('--mss', String(o.mss));
  if (o.sportBase) args.push('--sport-base', String(o.sportBase));
  if (o.options) args.push('--options', o.options);
  if (o.batch) args.push('--batch', String(o.batch));
  const { stdout } = await lab.exec('client', SYNGEN, args);
  return JSON.parse(stdout) as { sent: number; seconds: number };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface SynCounter {
  family: 4 | 6;
  dport: number;
  mss: number;
}

/**
 * Counting rules in the server's INPUT chain (kernel counters do not drop packets under load the way
 * a capture can): SYNs to dport carrying exactly this MSS. Returns a reader of the counts.
 */
/** One count per counter, in the order given (a tuple when the counters are written in place). */
export async function countServerSyns<const C extends readonly SynCounter[]>(
  lab: Lab,
  counters: C,
): Promise<() => Promise<{ -readonly [K in keyof C]: number }>> {
  for (const [i, c] of counters.entries()) {
    const tool = c.family === 4 ? 'iptables' : 'ip6tables';
    await lab.exec('server', tool, [
      '-A',
      'INPUT',
      '-p',
      'tcp',
      '--syn',
      '--dport',
      String(c.dport),
      '-m',
      'tcpmss',
      '--mss',
      String(c.mss),
      '-m',
      'comment',
      '--comment',
      `count${i}`,
    ]);
  }
  return async () => {
    const out: number[] = [];
    for (const [i, c] of counters.entries()) {
      const { stdout } = await lab.exec('server', c.family === 4 ? 'iptables' : 'ip6tables', ['-nvxL', 'INPUT']);
      const line = stdout.split('\n').find((l) => l.includes(`/* count${i} */`));
      out.push(line ? Number(line.trim().split(/\s+/)[0]) : -1);
    }
    return out as { -readonly [K in keyof C]: number };
  };
}
