// A real systemd as PID 1 of a systemd-nspawn container, booted on an overlay of the host's own root,
// so that a test can install the Debian package and run the service as an operator would.
//
// Nothing leaks to the host:
// - `unshare --mount --propagation private` gives the container its own mount namespace; the overlay
//   (lowerdir=/, upper layer on a tmpfs) and a tmpfs over /run/systemd (where nspawn keeps its state)
//   exist only there and vanish with its last process. Every write of the container lands in the tmpfs.
// - --private-network: its firewall rules, links and queues are its own network namespace's.
// - --register=no --keep-unit: nothing on the host manages machines or scopes; the container runs in a
//   cgroup of our own (one per hierarchy, named after the test's PID), which destroy() can kill whole.
// - --system-call-filter=bpf: without it nspawn's seccomp filter refuses bpf(), and systemd inside
//   silently drops IPAddressDeny= from the unit under test.
// Boot goes to basic.target with timers masked (no apt or man-db jobs during a test). Commands run
// inside with nsenter and a clean environment; anything long-running must be started with systemd-run
// (a background process entered with nsenter can hold up the container's shutdown).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProcessGroup, type TrackedProcess } from '../lab/process-group.js';
import { run, type RunResult } from '../lab/run.js';

export interface ContainerOptions {
  /** Short tag naming the test in the machine and cgroup names. */
  tag: string;
  /** Host directories bound read-only into the container, host path -> container path. */
  bindReadOnly?: Readonly<Record<string, string>>;
  /** How long boot to basic.target may take. */
  bootTimeoutMs?: number;
}

/** The environment of every command run inside: no PATH, NODE_* or test-runner variables of ours. */
const INSIDE_ENV = [
  'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  'LANG=C.UTF-8',
  'SYSTEMD_PAGER=',
  'SYSTEMD_COLORS=0',
];

/** Runs inside the private mount namespace, then becomes systemd-nspawn. $1: work directory; $2...: cgroup
 * directories to join first (so the container and everything it starts land there); after "--": nspawn's
 * extra arguments. */
const BOOT_SCRIPT = `
set -eu
work=$1; shift
while [ "$1" != -- ]; do echo $$ > "$1/cgroup.procs"; shift; done; shift
mount -t tmpfs -o mode=0755 mm-systemd "$work"
mkdir "$work/upper" "$work/work" "$work/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$work/upper,workdir=$work/work" "$work/root"
mount -t tmpfs -o mode=0755 tmpfs /run/systemd
mkdir -p "$work/root/etc/systemd/system"
ln -sf /dev/null "$work/root/etc/systemd/system/timers.target"
# A build image's "deny every service action" policy would keep the maintainer scripts from starting,
# restarting or stopping anything; a Debian system as operators run it has none.
rm -f "$work/root/usr/sbin/policy-rc.d"
# If the test process dies without cleaning up, nspawn gets SIGTERM, which powers the container off.
exec setpriv --pdeathsig TERM -- systemd-nspawn --quiet -D "$work/root" --boot --register=no --keep-unit --private-network \\
  --system-call-filter=bpf "$@" -- systemd.unit=basic.target
`;

let containerCounter = 0;

export class SystemdContainer {
  readonly name: string;
  /** Milliseconds from starting nspawn to basic.target being active. */
  bootMs = 0;
  private readonly processes = new ProcessGroup();
  private readonly work: string;
  private readonly cgroups: string[];
  private nspawn: TrackedProcess | undefined;
  private leader = 0;
  private destroyed = false;

  private constructor(tag: string) {
    this.name = `mm-${tag}-${process.pid}-${++containerCounter}`;
    this.work = mkdtempSync(join(tmpdir(), `${this.name}-`));
    this.cgroups = cgroupHierarchies().map((h) => join(h, this.name));
  }

  static async boot(options: ContainerOptions): Promise<SystemdContainer> {
    const c = new SystemdContainer(options.tag);
    try {
      await c.start(options);
    } catch (err) {
      await c.destroy();
      throw err;
    }
    return c;
  }

  private async start(options: ContainerOptions): Promise<void> {
    for (const dir of this.cgroups) mkdirSync(dir);
    const binds = Object.entries(options.bindReadOnly ?? {}).map(([host, inside]) => `--bind-ro=${host}:${inside}`);
    const started = Date.now();
    this.nspawn = this.processes.spawn('unshare', [
      '--mount',
      '--propagation',
      'private',
      '--',
      'bash',
      '-c',
      BOOT_SCRIPT,
      'boot',
      this.work,
      ...this.cgroups,
      '--',
      `--machine=${this.name}`,
      ...binds,
    ]);
    const deadline = started + (options.bootTimeoutMs ?? 30_000);
    this.leader = await this.waitFor(deadline, "the container's systemd", () => this.findLeader());
    // systemctl needs the manager's private socket; until it exists it fails with "connection refused".
    await this.waitFor(deadline, '/run/systemd/private', async () => (await this.ok('test', ['-S', '/run/systemd/private'])) || undefined);
    await this.waitFor(
      deadline,
      'basic.target',
      async () => (await this.ok('systemctl', ['is-active', '--quiet', 'basic.target'])) || undefined,
    );
    this.bootMs = Date.now() - started;
  }

  private async waitFor<T>(deadline: number, what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (this.nspawn !== undefined && !this.nspawn.running) {
        throw new Error(`systemd-nspawn exited while waiting for ${what}: ${tail(this.nspawn.stderr + this.nspawn.stdout)}`);
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${tail(this.nspawn?.stderr ?? '')}`);
      await sleep(50);
    }
  }

  /** PID (on the host) of the container's PID 1: the child of systemd-nspawn named systemd. */
  private findLeader(): number | undefined {
    const parent = this.nspawn?.pid;
    if (parent === undefined) return undefined;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const status = readFileSync(`/proc/${entry}/status`, 'utf8');
        if (new RegExp(`^PPid:\\s+${parent}$`, 'm').test(status) && /^Name:\s+systemd$/m.test(status)) return Number(entry);
      } catch {
        // The process ended while we looked.
      }
    }
    return undefined;
  }

  private nsenter(command: string, args: readonly string[]): string[] {
    return ['-t', String(this.leader), '-a', '--', 'env', '-i', ...INSIDE_ENV, command, ...args];
  }

  /** Runs a command inside to completion; rejects with its stderr on failure. */
  exec(command: string, args: readonly string[] = [], input?: string): Promise<RunResult> {
    return run('nsenter', this.nsenter(command, args), input);
  }

  /** Runs a command inside; resolves with its exit code and output, never rejects. */
  execStatus(command: string, args: readonly string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile('nsenter', this.nsenter(command, args), { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({ code, stdout, stderr });
      });
    });
  }

  private async ok(command: string, args: readonly string[]): Promise<boolean> {
    return (await this.execStatus(command, args)).code === 0;
  }

  /** A file inside, as bytes (a capture, say). */
  readFile(path: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      execFile('nsenter', this.nsenter('cat', [path]), { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
        err ? reject(new Error(`cat ${path} failed: ${stderr.toString().trim() || err.message}`)) : resolve(stdout),
      );
    });
  }

  /** Writes a file inside whole (to a temporary name, then renamed), as an operator's editor would. */
  async writeFile(path: string, text: string): Promise<void> {
    await this.exec('sh', ['-c', 'cat > "$1.new" && mv "$1.new" "$1"', 'write', path], text);
  }

  async systemctl(...args: string[]): Promise<string> {
    return (await this.exec('systemctl', args)).stdout.trim();
  }

  /** One property of a unit (systemctl show -p NAME --value). */
  async property(unit: string, name: string): Promise<string> {
    return this.systemctl('show', '-p', name, '--value', unit);
  }

  /** The message text of a unit's journal entries, oldest first. */
  async journal(unit: string): Promise<string[]> {
    const { stdout } = await this.exec('journalctl', ['--no-pager', '-o', 'cat', '-u', unit]);
    return stdout.split('\n').filter((l) => l !== '');
  }

  /**
   * Powers the container off (nspawn turns SIGTERM into a clean shutdown of the container's systemd),
   * kills whatever is left in its cgroups, and removes the cgroups and the work directory. The mounts
   * lived only in the container's private mount namespace and are gone with its last process. Safe to
   * call twice; tests call it from t.after() so that it runs when they fail.
   */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.nspawn !== undefined) await this.nspawn.stop('SIGTERM', 15_000);
    for (let attempt = 0; attempt < 50 && this.cgroupPids().length > 0; attempt++) {
      this.killCgroups();
      await sleep(100);
    }
    for (const dir of this.cgroups) removeCgroupTree(dir);
    rmSync(this.work, { recursive: true, force: true });
  }

  /** Every PID still in the container's cgroups (the test asserts there are none after destroy). */
  cgroupPids(): number[] {
    const pids = new Set<number>();
    for (const dir of this.cgroups) {
      for (const file of cgroupFiles(dir, 'cgroup.procs')) {
        for (const line of readFileSync(file, 'utf8').split('\n')) if (line !== '') pids.add(Number(line));
      }
    }
    return [...pids];
  }

  /** The host paths this container created (cgroups, work directory): none may remain after destroy. */
  leftovers(): string[] {
    return [...this.cgroups, this.work].filter((p) => existsSync(p));
  }

  private killCgroups(): void {
    for (const dir of this.cgroups) {
      // cgroup v2 kills a whole subtree at once (Linux 5.14); v1 hierarchies get SIGKILL per process.
      if (existsSync(join(dir, 'cgroup.kill'))) writeFileSync(join(dir, 'cgroup.kill'), '1');
    }
    for (const pid of this.cgroupPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}

/** Where this machine mounts cgroup hierarchies that systemd uses: the unified one alone (cgroup v2), or
 * the unified one and systemd's named v1 hierarchy (hybrid). */
function cgroupHierarchies(): string[] {
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return ['/sys/fs/cgroup'];
  const hybrid = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup/systemd'].filter((d) => existsSync(join(d, 'cgroup.procs')));
  if (hybrid.length === 0) throw new Error('no cgroup hierarchy for systemd found under /sys/fs/cgroup');
  return hybrid;
}

/** Paths of `name` in dir and every cgroup below it. */
function cgroupFiles(dir: string, name: string): string[] {
  if (!existsSync(dir)) return [];
  const out = [join(dir, name)];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) out.push(...cgroupFiles(join(dir, entry.name), name));
  }
  return out;
}

/** cgroups are removed with rmdir, children first. */
function removeCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeCgroupTree(join(dir, entry.name));
  }
  try {
    rmdirSync(dir);
  } catch {
    // Still busy: leftovers() reports it.
  }
}

function tail(text: string): string {
  return text.trim().split('\n').slice(-10).join('\n');
}
