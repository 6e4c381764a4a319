// A three-host lab in network namespaces: client <-> router <-> server, over veth, IPv4 and IPv6.
// Every lab has its own namespace names (test files run in parallel) and removes them, and every
// process it started, in destroy(), which tests call from t.after() so that it runs on failure too.
//
//   client (eth0) 198.51.100.2  fd00:c::2  ---  (toc) 198.51.100.1  fd00:c::1   router
//   server (eth0) 203.0.113.2   fd00:5::2  ---  (tos) 203.0.113.1   fd00:5::1   router
//
// Addresses are documentation (RFC 5737) and unique-local (RFC 4193) prefixes that exist only inside
// the lab's namespaces.
import { ProcessGroup, type TrackedProcess } from './process-group.js';
import { run, runQuiet, type RunResult } from './run.js';
import type { SpawnOptions } from 'node:child_process';

export const LabAddress = {
  client4: '198.51.100.2',
  routerClientSide4: '198.51.100.1',
  server4: '203.0.113.2',
  routerServerSide4: '203.0.113.1',
  client6: 'fd00:c::2',
  routerClientSide6: 'fd00:c::1',
  server6: 'fd00:5::2',
  routerServerSide6: 'fd00:5::1',
} as const;

/** Interface names: each namespace has its own, so they are fixed. */
export const LabInterface = {
  client: 'eth0',
  server: 'eth0',
  routerToClient: 'toc',
  routerToServer: 'tos',
} as const;

export interface LabOptions {
  /** Short tag naming the test in the namespace names, e.g. 'diff' or 'vpn'. */
  tag: string;
  /** Turn off transmit checksum offload everywhere, so captures show final checksums. Default true. */
  checksumOffloadOff?: boolean;
}

export type Host = 'client' | 'router' | 'server';

let labCounter = 0;
let staleSwept = false;

/**
 * A lab namespace name: mm-TAG-PID-N-HOST from Lab, mm-TAG-PID-HOST from scripts/reliability-lab.sh;
 * PID is the process that made it.
 */
const LAB_NAMESPACE = /^mm-[a-z0-9]+-(\d+)(?:-\d+)?-[crs]$/;

/**
 * Removes the namespaces of labs whose test process is gone, and every process still inside them. A
 * test process killed outright (SIGKILL, a CI timeout) never ran destroy(); its namespaces would stay
 * on the machine, holding routes, rules and possibly a daemon, until something removes them. Only
 * names of our own pattern whose PID no longer exists: a lab of a live test process is never touched.
 */
export async function sweepStaleLabs(): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list']);
  const removed: string[] = [];
  for (const line of stdout.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const pid = LAB_NAMESPACE.exec(name)?.[1];
    if (pid === undefined || processExists(Number(pid))) continue;
    const { stdout: pids } = await run('ip', ['netns', 'pids', name]).catch(() => ({ stdout: '' }));
    for (const p of pids.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await runQuiet('ip', ['netns', 'del', name]);
    removed.push(name);
  }
  return removed;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but is not ours to signal.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class Lab {
  readonly client: string;
  readonly router: string;
  readonly server: string;
  readonly processes = new ProcessGroup();
  private destroyed = false;

  private constructor(prefix: string) {
    this.client = `${prefix}-c`;
    this.router = `${prefix}-r`;
    this.server = `${prefix}-s`;
  }

  static async create(options: LabOptions): Promise<Lab> {
    requireRoot();
    // The tag is part of the name sweepStaleLabs recognises.
    if (!/^[a-z0-9]+$/.test(options.tag)) throw new Error(`lab tag "${options.tag}": lower-case letters and digits only`);
    if (!staleSwept) {
      staleSwept = true;
      await sweepStaleLabs();
    }
    const prefix = `mm-${options.tag}-${process.pid}-${++labCounter}`;
    const lab = new Lab(prefix);
    try {
      await lab.build(options.checksumOffloadOff ?? true);
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return lab;
  }

  ns(host: Host): string {
    return this[host];
  }

  private async build(checksumOffloadOff: boolean): Promise<void> {
    for (const ns of [this.client, this.router, this.server]) {
      await run('ip', ['netns', 'add', ns]);
      await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      // No duplicate address detection, before any link exists: a tentative link-local address
      // holds neighbour discovery, and so the first IPv6 SYN, for about two seconds.
      await this.sysctl(ns, 'net.ipv6.conf.all.accept_dad', '0');
      await this.sysctl(ns, 'net.ipv6.conf.default.accept_dad', '0');
    }
    const r = this.router;
    await run('ip', [
      '-n',
      r,
      'link',
      'add',
      LabInterface.routerToClient,
      'type',
      'veth',
      'peer',
      'name',
      LabInterface.client,
      'netns',
      this.client,
    ]);
    await run('ip', [
      '-n',
      r,
      'link',
      'add',
      LabInterface.routerToServer,
      'type',
      'veth',
      'peer',
      'name',
      LabInterface.server,
      'netns',
      this.server,
    ]);

    await this.sysctl(r, 'net.ipv4.ip_forward', '1');
    await this.sysctl(r, 'net.ipv6.conf.all.forwarding', '1');

    await this.address(this.client, LabInterface.client, `${LabAddress.client4}/24`, `${LabAddress.client6}/64`);
    await this.address(r, LabInterface.routerToClient, `${LabAddress.routerClientSide4}/24`, `${LabAddress.routerClientSide6}/64`);
    await this.address(r, LabInterface.routerToServer, `${LabAddress.routerServerSide4}/24`, `${LabAddress.routerServerSide6}/64`);
    await this.address(this.server, LabInterface.server, `${LabAddress.server4}/24`, `${LabAddress.server6}/64`);

    await run('ip', ['-n', this.client, 'route', 'add', 'default', 'via', LabAddress.routerClientSide4]);
    await run('ip', ['-n', this.client, '-6', 'route', 'add', 'default', 'via', LabAddress.routerClientSide6]);
    await run('ip', ['-n', this.server, 'route', 'add', 'default', 'via', LabAddress.routerServerSide4]);
    await run('ip', ['-n', this.server, '-6', 'route', 'add', 'default', 'via', LabAddress.routerServerSide6]);

    // Permanent neighbour entries on both links: no ARP or neighbour discovery delays the first
    // packet of a test (the first IPv6 SYN otherwise waits about a second).
    await this.pinNeighbours(
      this.client,
      LabInterface.client,
      r,
      LabInterface.routerToClient,
      [LabAddress.client4, LabAddress.client6],
      [LabAddress.routerClientSide4, LabAddress.routerClientSide6],
    );
    await this.pinNeighbours(
      this.server,
      LabInterface.server,
      r,
      LabInterface.routerToServer,
      [LabAddress.server4, LabAddress.server6],
      [LabAddress.routerServerSide4, LabAddress.routerServerSide6],
    );

    if (checksumOffloadOff) {
      for (const [ns, dev] of [
        [this.client, LabInterface.client],
        [r, LabInterface.routerToClient],
        [r, LabInterface.routerToServer],
        [this.server, LabInterface.server],
      ] as const) {
        await run('ip', ['netns', 'exec', ns, 'ethtool', '-K', dev, 'tx', 'off', 'rx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
      }
    }
  }

  private async address(ns: string, dev: string, v4: string, v6: string): Promise<void> {
    await run('ip', ['-n', ns, 'addr', 'add', v4, 'dev', dev]);
    await run('ip', ['-n', ns, '-6', 'addr', 'add', v6, 'dev', dev, 'nodad']);
    await run('ip', ['-n', ns, 'link', 'set', dev, 'up']);
  }

  private async pinNeighbours(
    nsA: string,
    devA: string,
    nsB: string,
    devB: string,
    addrsA: readonly string[],
    addrsB: readonly string[],
  ): Promise<void> {
    const macA = await this.mac(nsA, devA);
    const macB = await this.mac(nsB, devB);
    for (const addr of addrsB) await run('ip', ['-n', nsA, 'neigh', 'replace', addr, 'lladdr', macB, 'dev', devA, 'nud', 'permanent']);
    for (const addr of addrsA) await run('ip', ['-n', nsB, 'neigh', 'replace', addr, 'lladdr', macA, 'dev', devB, 'nud', 'permanent']);
  }

  /** The MAC address of an interface. */
  async mac(ns: string, dev: string): Promise<string> {
    const { stdout } = await run('ip', ['-n', ns, '-j', 'link', 'show', 'dev', dev]);
    const [link] = JSON.parse(stdout) as Array<{ address: string }>;
    if (!link) throw new Error(`no interface ${dev} in ${ns}`);
    return link.address;
  }

  async sysctl(ns: string, key: string, value: string): Promise<void> {
    await run('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `${key}=${value}`]);
  }

  /** Runs a command inside a namespace to completion; rejects with its stderr on failure. */
  exec(host: Host, command: string, args: readonly string[], input?: string): Promise<RunResult> {
    return run('ip', ['netns', 'exec', this.ns(host), command, ...args], input);
  }

  /** Starts a long-running command inside a namespace; destroy() ends it. */
  spawn(host: Host, command: string, args: readonly string[], options: SpawnOptions = {}): TrackedProcess {
    return this.processes.spawn('ip', ['netns', 'exec', this.ns(host), command, ...args], options);
  }

  /** Ends every process the lab started, then removes its namespaces. Safe to call twice. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await this.processes.stopAll();
    for (const ns of [this.client, this.router, this.server]) {
      await runQuiet('ip', ['netns', 'del', ns]);
    }
  }
}

/** Lab tests need root; they fail (never skip) without it, with a message saying so. */
export function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('lab tests build network namespaces and need root: run npm test as root');
  }
}
