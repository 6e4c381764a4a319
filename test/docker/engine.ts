// A private Docker engine for one test: its own socket, data-root and exec-root under a directory the
// test owns, no bridge, no iptables, no IP forwarding, so it changes nothing on the machine. It runs in a
// mount namespace of its own (image layers, container mounts and the tmpfs over /run/docker and
// /etc/docker vanish with it) and, when given one, in a lab's network namespace, where a container's
// `--network host` is that namespace.
//
// The namespace is entered with `nsenter --net` rather than `ip netns exec`: the latter mounts a fresh
// /sys, which hides /sys/fs/cgroup, and dockerd refuses to start without the devices cgroup.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readlinkSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../lab/run.js';

export interface EngineOptions {
  /** Directory for the socket, data-root, exec-root and log; the caller creates and removes it. */
  dir: string;
  /** A network namespace name (`ip netns`); the machine's own when absent (the build needs a mirror). */
  netns?: string;
}

/** The packaged client beside dockerd; a static client without the buildx plugin falls back to the
 * legacy builder, which ignores docker/Dockerfile.dockerignore. */
const CLIENT = existsExecutable('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';

const STOP_GRACE_MS = 20_000;

export const PRIVATE_MOUNT_POINTS = ['/run/docker', '/run/containerd', '/run/runc', '/etc/docker'];

/** CPU and disk priority below the other tests' (children inherit both). */
export const LOW_PRIORITY = ['nice', '-n', '10', 'ionice', '-c', '2', '-n', '7'];

export class DockerEngine {
  readonly socket: string;
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private log = '';
  private mountNamespace: string | undefined;
  private readonly createdMountPoints: string[];

  private constructor(options: EngineOptions) {
    const { dir } = options;
    this.socket = join(dir, 'docker.sock');
    mkdirSync(join(dir, 'data'), { recursive: true });
    mkdirSync(join(dir, 'exec'), { recursive: true });
    // An empty configuration file: /etc/docker/daemon.json of the machine, if any, is not read.
    writeFileSync(join(dir, 'daemon.json'), '{}\n');
    const dockerd = [
      'dockerd',
      '--host',
      `unix://${this.socket}`,
      '--data-root',
      join(dir, 'data'),
      '--exec-root',
      join(dir, 'exec'),
      '--pidfile',
      join(dir, 'dockerd.pid'),
      '--config-file',
      join(dir, 'daemon.json'),
      '--iptables=false',
      '--ip6tables=false',
      '--ip-forward=false',
      '--ip-masq=false',
      '--bridge=none',
    ];
    // A tmpfs over each path the engine writes whatever its roots: plugin sockets (/run/docker), the
    // shims' sockets (/run/containerd/s), BuildKit's runc state (/run/runc), the key (/etc/docker). A
    // mount point the machine lacked is removed again in stop().
    this.createdMountPoints = PRIVATE_MOUNT_POINTS.filter((p) => !existsSync(p));
    const privateMounts = [
      'unshare',
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      `mkdir -p ${PRIVATE_MOUNT_POINTS.join(' ')} && ${PRIVATE_MOUNT_POINTS.map((p) => `mount -t tmpfs tmpfs ${p}`).join(' && ')} && exec "$@"`,
      'sh',
      ...dockerd,
    ];
    // Niced, with every container and build step it starts: the build takes minutes of CPU and other
    // tests run beside it with timing limits.
    const niced = [...LOW_PRIORITY, ...privateMounts];
    const argv = options.netns === undefined ? niced : ['nsenter', `--net=/run/netns/${options.netns}`, ...niced];
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (s: string) => (this.log += s));
    this.child.stderr!.setEncoding('utf8').on('data', (s: string) => (this.log += s));
    this.exited = new Promise((resolve) => this.child.on('close', () => resolve()));
  }

  /** Starts dockerd and waits until it answers; stops it again if it does not within timeoutMs. */
  static async start(options: EngineOptions, timeoutMs = 30_000): Promise<DockerEngine> {
    const engine = new DockerEngine(options);
    try {
      await engine.waitReady(timeoutMs);
    } catch (err) {
      await engine.stop();
      throw err;
    }
    return engine;
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`dockerd exited: ${this.log.trim().split('\n').slice(-3).join(' | ')}`);
      }
      if (/API listen on/.test(this.log)) {
        try {
          await this.docker(['version', '--format', '{{.Server.Version}}']);
          this.mountNamespace = readlinkSync(`/proc/${this.child.pid}/ns/mnt`);
          return;
        } catch {
          // not answering yet
        }
      }
      if (Date.now() > deadline) throw new Error(`dockerd did not answer within ${timeoutMs} ms: ${this.log.slice(-500)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Runs the docker client against this engine; rejects with its stderr on failure. */
  docker(args: readonly string[]): Promise<RunResult> {
    const argv = ['--host', `unix://${this.socket}`, ...args];
    // BuildKit, as every current Docker uses by default: the 20.10 client still needs asking.
    const env = { ...process.env, DOCKER_BUILDKIT: '1' };
    return new Promise((resolve, reject) => {
      execFile(CLIENT, argv, { env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err)
          reject(
            Object.assign(new Error(`docker ${args.join(' ')} failed: ${stderr.trim() || err.message}`), {
              stdout,
              stderr,
              code: err.code,
            }),
          );
        else resolve({ stdout, stderr });
      });
    });
  }

  /** The daemon's own output so far, for failure messages. */
  get output(): string {
    return this.log;
  }

  /**
   * Stops dockerd (SIGTERM, SIGKILL after a grace period), then ends by PID every process still in its
   * mount namespace (a containerd-shim outlives a killed dockerd). Safe to call twice.
   */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
      await this.exited;
      clearTimeout(timer);
    }
    if (this.mountNamespace !== undefined) {
      for (const pid of processesInMountNamespace(this.mountNamespace)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    for (const p of this.createdMountPoints) {
      try {
        rmdirSync(p);
      } catch {
        // not empty: someone else uses it now
      }
    }
    this.createdMountPoints.length = 0;
  }
}

function processesInMountNamespace(ns: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/mnt`) === ns) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

function existsExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
