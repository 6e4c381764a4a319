// Keeps the daemon's NFQUEUE rules in place (run --manage-firewall): installs the rules `mssmangler
// rules` prints for the configuration, checks on a timer (and on ruleset change events, where the kernel
// sends them) that every one is still there, puts back what a flush, someone else's iptables-restore or
// a firewall manager's reload took away, and at stop removes every rule of ours. With fail-open and
// --queue-bypass a vanished rule is otherwise silent: traffic flows, unclamped.
//
// Which rules are ours: comment "mssmangler" AND our queue number, nothing else is ever deleted. Which
// of ours are which: `iptables -S` does not print a rule the way it was written (it reorders matches,
// spells the flag masks its own way, adds /32), so instead of a second spelling of iptables' printer,
// the guard learns each rule's printed form from the binary itself when it installs it (append, list,
// the one new line is its form). A check is then one `-t mangle -S` per family, compared line by line.
// Once the current set is complete, every other rule of ours goes (an earlier set's, an earlier run's,
// a second copy of one whose install went unseen), so the guard converges on one copy of each; at stop,
// every rule of ours goes, learnt or not.
//
// Order of a swap (start over rules left by an earlier run, SIGHUP with new rules): every new rule is
// appended before any old one is deleted, so the queue is never without a rule. During the swap a packet
// can match an old and a new rule at once; that is harmless, because NFQUEUE is a final verdict: the
// first matching rule hands the packet to the queue and the walk of the mangle chain ends there (when the
// daemon answers ACCEPT, the packet resumes at the next hook, not at the next rule), so no packet is
// queued twice. `-D` deletes the first rule that matches its spec, and old rules sit before the new
// appended ones, so deleting an old rule that has the same text as a new one leaves the new one.
//
// A failing firewall command is logged (once a minute per step and family), counted, and retried
// at the next check: it never stops the daemon and never stops the rewriting.
import { binaryFor, firewallError, formatCommand, isOurs, nfqueueFirstQueue, ruleSpec, splitRuleLine, TABLE } from './iptables.js';
import type { FirewallRule } from './plan.js';
import type { CommandRunner } from './runner.js';
import type { Logger } from '../log/logger.js';

/** How often the rules are checked unless configured otherwise. */
export const DEFAULT_CHECK_INTERVAL_MS = 5000;
/** A ruleset change event triggers a check this long after it, so a burst (a manager's reload) costs one check. */
export const EVENT_SETTLE_MS = 100;
/** A failing step (e.g. restore iptables) is logged at most once in this long; it is counted every time. */
const FAILURE_LOG_EVERY_MS = 60_000;
/**
 * At stop there is no next check to retry a failed removal, so stop tries this often, this far apart.
 * A failure there need not be iptables' own: under systemd's default KillMode=control-group every
 * process of the unit gets the SIGTERM, and an iptables the daemon starts while systemd still sweeps the
 * cgroup dies with it (the shipped unit says KillMode=mixed; an operator's own unit may not).
 */
export const STOP_ATTEMPTS = 3;
export const STOP_RETRY_MS = 250;

type Binary = 'iptables' | 'ip6tables';

export interface GuardTimer {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** Timers that do not keep the process alive by themselves. */
export const systemTimer: GuardTimer = {
  set: (fn, ms) => setTimeout(fn, ms).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Where the guard reports what Prometheus shows (src/metrics/firewall-guard-counters.ts). */
export interface FirewallGuardSink {
  /** Rules put back after they went missing. */
  countRepairs(rules: number): void;
  /** Rules of the current set not present right now (after this check's repair). */
  setMissing(rules: number): void;
  /** A firewall command failed or could not run. */
  countCommandError(): void;
}

/** Ruleset change notifications (nft monitor); the guard checks soon after each. */
export interface RulesetEvents {
  start(onChange: () => void): void;
  stop(): void;
}

export type GuardLog = Pick<Logger, 'info' | 'warn' | 'error'>;

export interface FirewallGuardOptions {
  /** Every rule the guard installs queues here; only rules with this queue number are ever ours. */
  readonly queue: number;
  readonly checkIntervalMs: number;
  readonly runner: CommandRunner;
  readonly timer: GuardTimer;
  readonly clock: () => number;
  readonly log: GuardLog;
  readonly metrics: FirewallGuardSink;
  readonly events?: RulesetEvents | undefined;
}

/** One planned rule and, once installed, the line `-S` prints for it. */
interface Entry {
  readonly binary: Binary;
  readonly chain: string;
  /** Everything after "-t mangle -A CHAIN". */
  readonly spec: readonly string[];
  /** The listed form (tokens after "-A"), null until an install succeeded and was seen. */
  listed: readonly string[] | null;
}

export interface CheckResult {
  readonly missing: number;
  readonly restored: number;
}

/** How many of each listed rule: the same rule can be present twice (mid-swap, or appended by hand). */
class LineCounts {
  private readonly counts = new Map<string, number>();
  constructor(lines: readonly (readonly string[])[] = []) {
    for (const l of lines) this.add(key(l));
  }
  add(k: string, n = 1): void {
    this.counts.set(k, (this.counts.get(k) ?? 0) + n);
  }
  get(k: string): number {
    return this.counts.get(k) ?? 0;
  }
  /** Removes one if present. */
  take(k: string): boolean {
    const n = this.get(k);
    if (n === 0) return false;
    this.counts.set(k, n - 1);
    return true;
  }
}

function key(tokens: readonly string[]): string {
  return tokens.join(' ');
}

const queueOf = nfqueueFirstQueue;

const NOTHING_CHECKED: CheckResult = { missing: 0, restored: 0 };

export class FirewallGuard {
  private entries: Entry[] = [];
  /** Families that may hold rules of ours outside the current set (an earlier set's or run's), looked at until tidy. */
  private readonly untidy = new Set<Binary>();
  /** Per family, what the last check found missing: kept when a listing fails. */
  private readonly missingBy = new Map<Binary, number>();
  private tail: Promise<unknown> = Promise.resolve();
  private pendingCheck: Promise<CheckResult> | undefined;
  private timerHandle: unknown;
  private eventHandle: unknown;
  private running = false;
  private readonly lastLogged = new Map<string, number>();

  constructor(private readonly options: FirewallGuardOptions) {}

  /**
   * Installs the plan (replacing rules of ours an earlier run left), then checks every interval and on
   * ruleset events. Never rejects: what could not be installed is missing and retried at each check.
   */
  start(plan: readonly FirewallRule[]): Promise<void> {
    this.running = true;
    const done = this.exclusive(() => this.swap(plan, true));
    this.options.events?.start(() => this.onRulesetEvent());
    this.schedule();
    return done;
  }

  /** A new rule set (SIGHUP): new rules go in before old ones come out. Never rejects. */
  reload(plan: readonly FirewallRule[]): Promise<void> {
    return this.exclusive(() => this.swap(plan, false));
  }

  /**
   * One check, after whatever is running now; never two at once, and requests made while one waits
   * share it. Never rejects.
   */
  check(): Promise<CheckResult> {
    // After stop, nothing of ours is to be touched again (not even rules whose delete failed).
    if (!this.running) return Promise.resolve(NOTHING_CHECKED);
    if (this.pendingCheck) return this.pendingCheck;
    const pending = this.exclusive(async () => {
      this.pendingCheck = undefined;
      // Asked for before stop but queued behind it: a repair now would outlive the daemon.
      return this.running ? this.checkNow() : NOTHING_CHECKED;
    });
    this.pendingCheck = pending;
    return pending;
  }

  /**
   * Stops checking and deletes every rule of ours (every copy, whether it installed it or took it over),
   * after the check or swap that runs now; nothing queued behind it changes the rules any more.
   */
  stop(): Promise<void> {
    this.running = false;
    this.options.events?.stop();
    this.options.timer.clear(this.timerHandle);
    this.options.timer.clear(this.eventHandle);
    this.eventHandle = undefined;
    return this.exclusive(() => this.removeAll());
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private schedule(): void {
    if (!this.running) return;
    this.timerHandle = this.options.timer.set(() => {
      void this.check().then(() => this.schedule());
    }, this.options.checkIntervalMs);
  }

  private onRulesetEvent(): void {
    if (!this.running || this.eventHandle !== undefined) return;
    this.eventHandle = this.options.timer.set(() => {
      this.eventHandle = undefined;
      if (this.running) void this.check();
    }, EVENT_SETTLE_MS);
  }

  /** Our rules as listed now: comment mssmangler and our queue number. */
  private async list(binary: Binary): Promise<string[][]> {
    const args = ['-t', TABLE, '-S'];
    const result = await this.options.runner(binary, args);
    if (result.code !== 0) throw firewallError(binary, args, result);
    return this.ours(result.stdout);
  }

  private ours(listing: string): string[][] {
    return listing
      .split('\n')
      .map(splitRuleLine)
      .filter((t) => t[0] === '-A' && isOurs(t) && queueOf(t) === this.options.queue)
      .map((t) => t.slice(1));
  }

  private async run(binary: Binary, args: readonly string[]): Promise<void> {
    const result = await this.options.runner(binary, args);
    if (result.code !== 0) throw firewallError(binary, args, result);
  }

  private async append(entry: Entry): Promise<void> {
    await this.run(entry.binary, ['-t', TABLE, '-A', entry.chain, ...entry.spec]);
  }

  /** Appends the entry and learns its listed form: the one line that is new afterwards. Returns the listing. */
  private async installAndLearn(entry: Entry, before: readonly string[][]): Promise<string[][]> {
    await this.append(entry);
    const after = await this.list(entry.binary);
    const counts = new LineCounts(before);
    const added = after.filter((l) => !counts.take(key(l)));
    // Exactly one new line unless someone else changed our rules in the same instant, or an earlier
    // append went in unseen (its listing failed); then learn nothing: the next check appends it again
    // and learns then, and tidy() deletes the copies nobody learnt.
    entry.listed = added.length === 1 ? added[0]! : null;
    return after;
  }

  private async swap(plan: readonly FirewallRule[], atStart: boolean): Promise<void> {
    // A reload that waited behind stop: the rules are gone and stay gone.
    if (!this.running) return;
    const old = this.entries;
    const next: Entry[] = plan.map((r) => ({ binary: binaryFor(r.family), chain: r.chain, spec: ruleSpec(r), listed: null }));
    if (!atStart && sameSpecs(old, next)) return;
    this.entries = next;
    // At start, rules of ours an earlier run left behind (same comment and queue) are replaced too. The
    // old rules go only once the new set is complete: a swap that fails half-way finishes at a later check.
    const binaries: Binary[] = atStart ? ['iptables', 'ip6tables'] : families(old, next);
    for (const binary of binaries) {
      const mine = next.filter((e) => e.binary === binary);
      if (atStart && mine.length === 0) {
        // Only stale rules could be here; a host without IPv6 tables is no failure worth reporting.
        const stale = await this.options.runner(binary, ['-t', TABLE, '-S']).then(
          (r) => (r.code === 0 ? this.ours(r.stdout) : []),
          () => [],
        );
        if (stale.length > 0) await this.tidy(binary, stale);
        continue;
      }
      this.untidy.add(binary);
      await this.attempt(`install ${binary}`, async () => {
        let listing = await this.list(binary);
        for (const entry of mine) {
          const learnt = await this.attempt(`add ${binary}`, () => this.installAndLearn(entry, listing));
          if (learnt !== undefined) listing = learnt;
        }
        // Only once every new rule is in (a rule that failed to go in keeps the old ones for now).
        if (mine.every((e) => e.listed !== null)) await this.tidy(binary, listing);
      });
    }
    for (const binary of families(next, []))
      this.missingBy.set(binary, next.filter((e) => e.binary === binary && e.listed === null).length);
    const missing = next.filter((e) => e.listed === null).length;
    this.options.metrics.setMissing(missing);
    this.options.log.info(atStart ? 'firewall rules installed' : 'firewall rules replaced', {
      rules: next.length,
      notInstalled: missing,
    });
  }

  /**
   * Deletes every rule of ours in one family's listing beyond one copy of each rule of the current set
   * (after stop, the set is empty: every rule of ours). Callers call it only once the set is complete,
   * so the queue is never without a rule. `-D` deletes the first rule with the text, and older copies
   * sit first, so the copy kept is the newest. Returns true when every delete went through; otherwise the
   * family stays untidy and the next check tries again.
   */
  private async tidy(binary: Binary, listing: readonly string[][]): Promise<boolean> {
    const keep = new LineCounts();
    for (const e of this.entries) if (e.binary === binary && e.listed !== null) keep.add(key(e.listed));
    let clean = true;
    for (const line of listing) {
      if (keep.take(key(line))) continue;
      const ok = await this.attempt(`delete ${binary}`, async () => {
        await this.run(binary, ['-t', TABLE, '-D', ...line]);
        return true;
      });
      if (ok !== true) clean = false;
    }
    if (clean) this.untidy.delete(binary);
    else this.untidy.add(binary);
    return clean;
  }

  /** The families checked: those of the current set, and those that may still hold other rules of ours. */
  private families(): Binary[] {
    const untidy = [...this.untidy].map((binary) => ({ binary }));
    return families(this.entries, untidy);
  }

  private async checkNow(): Promise<CheckResult> {
    let missing = 0;
    const restored: string[] = [];
    for (const binary of this.families()) {
      const mine = this.entries.filter((e) => e.binary === binary);
      const listing = await this.attempt(`list ${binary}`, () => this.list(binary));
      if (listing === undefined) {
        // Unknown: what was missing before still counts; the command error counter says why.
        missing += this.missingBy.get(binary) ?? 0;
        continue;
      }
      const present = new LineCounts(listing);
      const absent = mine.filter((e) => e.listed === null || !present.take(key(e.listed)));
      let current = listing;
      let stillMissing = 0;
      for (const entry of absent) {
        const ok = await this.attempt(`restore ${binary}`, async () => {
          if (entry.listed !== null) await this.append(entry);
          else current = await this.installAndLearn(entry, current);
          return true;
        });
        if (ok === true && entry.listed !== null)
          restored.push(formatCommand({ binary, args: ['-t', TABLE, '-A', entry.chain, ...entry.spec] }));
        else stillMissing++;
      }
      if (stillMissing === 0 && (absent.length > 0 || this.untidy.has(binary) || listing.length > mine.length)) {
        // The set is complete now: rules of ours beyond it (a swap that could not finish, a copy whose
        // install went unseen, one added by hand) can go.
        const now = absent.length === 0 ? listing : await this.attempt(`list ${binary}`, () => this.list(binary));
        if (now !== undefined) await this.tidy(binary, now);
      }
      this.missingBy.set(binary, stillMissing);
      missing += stillMissing;
    }
    if (restored.length > 0) {
      this.options.metrics.countRepairs(restored.length);
      this.options.log.warn('firewall rules were missing and are restored', { restored });
    }
    this.options.metrics.setMissing(missing);
    return { missing, restored: restored.length };
  }

  /**
   * Deletes every rule of ours in every family the guard touched, learnt or not (a copy whose install
   * went unseen is ours too), listing again and retrying what failed, STOP_ATTEMPTS times at most.
   */
  private async removeAll(): Promise<void> {
    let left = this.families();
    this.entries = [];
    for (let attempt = 1; left.length > 0; attempt++) {
      if (attempt > 1) await new Promise<void>((resolve) => this.options.timer.set(resolve, STOP_RETRY_MS));
      const failed: Binary[] = [];
      for (const binary of left) {
        const listing = await this.attempt(`remove ${binary}`, () => this.list(binary));
        if (listing === undefined || !(await this.tidy(binary, listing))) failed.push(binary);
      }
      left = attempt < STOP_ATTEMPTS ? failed : [];
    }
    this.untidy.clear();
    this.options.metrics.setMissing(0);
  }

  /** Runs fn; a failure is counted, logged (rate-limited per step) and becomes undefined. */
  private async attempt<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      this.options.metrics.countCommandError();
      const message = err instanceof Error ? err.message : String(err);
      const now = this.options.clock();
      const last = this.lastLogged.get(what);
      if (last === undefined || now - last >= FAILURE_LOG_EVERY_MS) {
        this.lastLogged.set(what, now);
        this.options.log.error('firewall command failed; rewriting goes on, the rules are retried at the next check', {
          step: what,
          error: message,
        });
      }
      return undefined;
    }
  }
}

function families(a: readonly { binary: Binary }[], b: readonly { binary: Binary }[]): Binary[] {
  const set = new Set([...a, ...b].map((e) => e.binary));
  return (['iptables', 'ip6tables'] as const).filter((x) => set.has(x));
}

function sameSpecs(a: readonly Entry[], b: readonly Entry[]): boolean {
  return (
    a.length === b.length && a.every((e, i) => e.binary === b[i]!.binary && e.chain === b[i]!.chain && key(e.spec) === key(b[i]!.spec))
  );
}
