// Plumbing for the firewall guard lab tests: the real daemon (`mssmangler run` with firewall.manage)
// in the router of a lab, IPv4 connections from the client every few milliseconds, SYNs captured at
// the server, the mangle table disrupted the ways operators' tools do it, and the unclamped window read
// from the captures.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, applyRules, jsonLines, sample, scrape, startDaemon, type RunningDaemon } from '../lab/daemon.js';
import { startCapture, type Capture } from '../lab/capture.js';
import { Lab, LabAddress, LabInterface } from '../lab/lab.js';
import type { TrackedProcess } from '../lab/process-group.js';
import { FIXTURES } from '../reliability/daemon-lab.js';
import { kernelWalkMssOffsets, mssAt, viewSegment } from '../differential/segment-view.js';

const TCP = `${FIXTURES}tcp.js`;
export const QUEUE = 43;
export const CLAMPED_MSS = 1380;
/** What the client's Linux stack writes on a 1500-byte link. */
export const UNCLAMPED_MSS = 1460;
const PORT = 80;

export type Flavour = 'nft' | 'legacy';

/** setpriv wrappers: user nobody, no groups, the given capabilities in every set that matters. */
export function unprivileged(caps: readonly string[]): string[] {
  const set = `-all,${caps.map((c) => `+${c}`).join(',')}`;
  return [
    'setpriv',
    '--reuid=nobody',
    '--regid=nogroup',
    '--clear-groups',
    `--bounding-set=${set}`,
    `--inh-caps=${set}`,
    `--ambient-caps=${set}`,
  ];
}

export interface GuardLabOptions {
  tag: string;
  flavour: Flavour;
  /** The YAML value of firewall.checkInterval; undefined: the default. */
  checkInterval?: string | undefined;
  wrapper?: readonly string[];
  /** Extra environment for the daemon (e.g. XTABLES_LOCKFILE). */
  env?: Record<string, string>;
  /** Install the rules as root before the daemon starts (`rules --apply`). */
  preinstall?: boolean;
}

export interface Syn {
  time: number;
  mss: number;
}

export class GuardLab {
  daemon!: RunningDaemon;
  private capture!: Capture;
  private client: TrackedProcess | undefined;
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;

  private constructor(
    readonly lab: Lab,
    readonly options: GuardLabOptions,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'mm-guard-'));
    // Readable (and, for the legacy lock file, writable) by nobody.
    chmodSync(this.dir, 0o777);
    let path = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin';
    if (options.flavour === 'legacy') {
      // The daemon runs "iptables" from PATH, as on a host whose alternatives point at legacy.
      const bin = join(this.dir, 'bin');
      mkdirSync(bin, { mode: 0o755 });
      symlinkSync('/usr/sbin/iptables-legacy', join(bin, 'iptables'));
      symlinkSync('/usr/sbin/ip6tables-legacy', join(bin, 'ip6tables'));
      path = `${bin}:${path}`;
    }
    this.env = { ...process.env, PATH: path, ...options.env };
  }

  static async create(options: GuardLabOptions): Promise<GuardLab> {
    const lab = await Lab.create({ tag: options.tag });
    return new GuardLab(lab, options);
  }

  get configPath(): string {
    return join(this.dir, 'config.yaml');
  }

  get iptables(): string {
    return this.options.flavour === 'legacy' ? 'iptables-legacy' : 'iptables-nft';
  }

  async destroy(): Promise<void> {
    await this.lab.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Server listening, capture running, daemon started (rules installed before its "started" line). */
  async start(): Promise<void> {
    const { lab, options } = this;
    const config = this.configPath;
    const interval = options.checkInterval === undefined ? '' : `, checkInterval: ${options.checkInterval}`;
    writeFileSync(
      config,
      `queue: ${QUEUE}\nfirewall: { manage: true${interval} }\nrules:\n  - name: clamp\n    match: { family: 4, direction: syn }\n    action: set\n    mss: ${CLAMPED_MSS}\n`,
      { mode: 0o644 },
    );
    if (options.preinstall === true) {
      // As root, with the same iptables flavour as the daemon (PATH).
      if (options.flavour === 'legacy')
        await lab.exec('router', 'env', [`PATH=${this.env.PATH}`, process.execPath, CLI, 'rules', '--apply', '--config', config]);
      else await applyRules(lab, ['--config', config]);
    }
    const server = lab.spawn('server', process.execPath, [TCP, 'serve', String(PORT)]);
    await server.waitFor(/listening/);
    this.capture = await startCapture(lab, 'server', LabInterface.server, {
      direction: 'in',
      filter: `tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn and tcp dst port ${PORT}`,
    });
    this.daemon = await startDaemon(lab, ['--config', config], { wrapper: options.wrapper ?? [], env: this.env });
    assert.equal((await this.ourRules()).length, 2, 'our two rules, once each, when the daemon says started');
  }

  /** Connections from the client every intervalMs for seconds. */
  startTraffic(seconds: number, intervalMs = 5): void {
    this.client = this.lab.spawn('client', process.execPath, [
      TCP,
      'connect',
      LabAddress.server4,
      String(PORT),
      String(seconds),
      String(intervalMs),
      '3000',
    ]);
  }

  /**
   * Waits until `count` connections begun at or after `since` (ms since the epoch) have finished: on a
   * loaded machine node takes seconds to start, so fixed sleeps would disrupt before traffic flows.
   */
  async connectionsSince(since: number, count: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = (jsonLines(this.client!.stdout) as Array<{ at: number }>).filter((l) => l.at >= since).length;
      if (n >= count) return;
      if (!this.client!.running) assert.fail(`the client exited after ${n} connections: ${this.client!.stderr}`);
      if (Date.now() > deadline) assert.fail(`only ${n} connections in ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  /** Asks the client to stop opening connections (it exits once the open ones finish). */
  async stopTraffic(): Promise<void> {
    this.client?.child.kill('SIGTERM');
  }

  /** Waits for the client to finish; returns how many connections were attempted and how many worked. */
  async trafficDone(): Promise<{ attempts: number; ok: number }> {
    const done = await this.client!.exited;
    const lines = jsonLines(done.stdout) as Array<{ ok: boolean }>;
    return { attempts: lines.length, ok: lines.filter((l) => l.ok).length };
  }

  /** Every SYN the server received, with its MSS, in capture order. */
  async syns(): Promise<Syn[]> {
    const packets = await this.capture.stop();
    return packets.flatMap((p) => {
      const v = viewSegment(p.ip);
      if (v === undefined) return [];
      const [at] = kernelWalkMssOffsets(p.ip, v);
      return at === undefined ? [] : [{ time: p.time * 1000, mss: mssAt(p.ip, at) }];
    });
  }

  /** Our rules in the router's mangle table as -S lines (comment mssmangler, our queue). */
  async ourRules(): Promise<string[]> {
    return ourRulesIn((await this.lab.exec('router', this.iptables, ['-t', 'mangle', '-S'])).stdout);
  }

  async rules(): Promise<string[]> {
    const { stdout } = await this.lab.exec('router', this.iptables, ['-t', 'mangle', '-S']);
    return appendedRules(stdout);
  }

  /** Runs a disruption and waits until both our rules are back; returns when it began and when they were seen back. */
  async disrupt(command: readonly string[], input?: string, timeoutMs = 10_000): Promise<{ at: number; back: number }> {
    assert.equal((await this.ourRules()).length, 2, 'our two rules are in before the disruption');
    const at = Date.now();
    // The listing runs in the same shell right after the disruption: a separate `ip netns exec` can take
    // longer on a loaded machine than the nft-event repair (100 ms), and would then see the rules back.
    const { stdout } = await this.lab.exec('router', 'sh', ['-c', `"$@" && ${this.iptables} -t mangle -S`, 'sh', ...command], input);
    const left = ourRulesIn(stdout);
    assert.ok(left.length < 2, 'the disruption took our rules away');
    for (;;) {
      if ((await this.ourRules()).length === 2) return { at, back: Date.now() };
      if (Date.now() - at > timeoutMs) assert.fail(`rules not back ${timeoutMs} ms after the disruption`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async metrics(): Promise<{ repairs: number; missing: number; errors: number; raw: string }> {
    const raw = await scrape(this.lab);
    return {
      repairs: sample(raw, 'mssmangler_firewall_rule_repairs_total'),
      missing: sample(raw, 'mssmangler_firewall_rules_missing'),
      errors: sample(raw, 'mssmangler_firewall_command_errors_total'),
      raw,
    };
  }

  logs(): Record<string, unknown>[] {
    return this.daemon.logLines();
  }
}

/**
 * The SYNs around one disruption: those received between `from` and `to` (ms since the epoch) split by
 * MSS. The unclamped window is last unclamped minus first unclamped, from the captures.
 */
export function windowOf(syns: readonly Syn[], from: number, to: number): { unclamped: Syn[]; clamped: Syn[]; windowMs: number } {
  const inRange = syns.filter((s) => s.time >= from && s.time < to);
  const unclamped = inRange.filter((s) => s.mss !== CLAMPED_MSS);
  const clamped = inRange.filter((s) => s.mss === CLAMPED_MSS);
  const windowMs = unclamped.length === 0 ? 0 : unclamped[unclamped.length - 1]!.time - unclamped[0]!.time;
  return { unclamped, clamped, windowMs };
}

/** A ruleset from someone else's tool: iptables-restore replaces the mangle table with it. */
export const FOREIGN_RULESET = `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A FORWARD -p udp -m comment --comment foreign -j ACCEPT
COMMIT
`;
export const FOREIGN_RULE = '-A FORWARD -p udp -m comment --comment foreign -j ACCEPT';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** A SYN in flight when the rules came back may still be unclamped; the capture is a hop away. */
const IN_FLIGHT_MS = 5;

export interface Disruption {
  name: string;
  at: number;
  back: number;
  windowMs: number;
  unclampedSyns: number;
}

/**
 * Under traffic: flush the mangle table, then iptables-restore a foreign ruleset; each time the rules
 * must be back within one check interval (plus `slackMs`: a check spawns iptables, which takes a while
 * on a loaded machine), and every SYN after that clamped. Returns the measured windows; the caller
 * reports them.
 */
export async function flushThenRestore(
  g: GuardLab,
  intervalMs: number,
  slackMs: number,
  kinds: readonly ('flush' | 'restore')[] = ['flush', 'restore'],
): Promise<Disruption[]> {
  await g.start();
  g.startTraffic(120);
  await g.connectionsSince(0, 40);
  const events: Omit<Disruption, 'windowMs' | 'unclampedSyns'>[] = [];
  for (const kind of kinds) {
    const { at, back } =
      kind === 'flush' ? await g.disrupt([g.iptables, '-t', 'mangle', '-F']) : await g.disrupt([`${g.iptables}-restore`], FOREIGN_RULESET);
    events.push({ name: kind, at, back });
    await g.connectionsSince(back + IN_FLIGHT_MS, 40);
  }
  const start = Date.now();
  await g.stopTraffic();
  const traffic = await g.trafficDone();
  const syns = await g.syns();
  assert.ok(traffic.attempts > 80, `traffic ran: ${traffic.attempts} connections`);
  assert.equal(traffic.ok, traffic.attempts, 'every connection worked (--queue-bypass, fail-open)');
  assert.ok(syns.length >= traffic.attempts * 0.95, `captured ${syns.length} SYNs of ${traffic.attempts}`);
  const first = events[0]!;
  assert.deepEqual(windowOf(syns, 0, first.at).unclamped, [], 'everything before the first disruption clamped');
  assert.ok(windowOf(syns, 0, first.at).clamped.length >= 30, 'clamped traffic before the first disruption');
  const out: Disruption[] = [];
  events.forEach((e, i) => {
    const end = events[i + 1]?.at ?? start;
    const w = windowOf(syns, e.at, end);
    assert.ok(w.unclamped.length > 0, `${e.name}: SYNs went unclamped while our rules were gone (the disruption was real)`);
    assert.ok(e.back - e.at <= intervalMs + slackMs, `${e.name}: rules back after ${e.back - e.at} ms, interval ${intervalMs} ms`);
    const late = w.unclamped.filter((s) => s.time > e.back + IN_FLIGHT_MS);
    assert.deepEqual(late, [], `${e.name}: every SYN after the repair is clamped`);
    assert.ok(windowOf(syns, e.back + IN_FLIGHT_MS, end).clamped.length >= 30, `${e.name}: clamped traffic after the repair`);
    assert.ok(w.unclamped.every((s) => s.mss === UNCLAMPED_MSS));
    out.push({ ...e, windowMs: w.windowMs, unclampedSyns: w.unclamped.length });
  });
  return out;
}

/** The rules of an `iptables -S` listing. */
function appendedRules(listing: string): string[] {
  return listing.split('\n').filter((l) => l.startsWith('-A '));
}

/** Our queue rules in an `iptables -S` listing: the comment and the queue number both match. */
function ourRulesIn(listing: string): string[] {
  return appendedRules(listing).filter((l) => l.includes('--comment mssmangler') && l.includes(`--queue-num ${QUEUE}`));
}
