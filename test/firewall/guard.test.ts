// FirewallGuard against an in-memory iptables (fake-iptables.ts) and a hand-driven timer: what it
// installs, how it finds and restores missing rules, what it counts and logs, that a failing command
// never stops it, that stop removes only its own rules, the order of a reload swap, and that checks
// never overlap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildConfig } from '../../src/config/parse.js';
import {
  FirewallGuard,
  EVENT_SETTLE_MS,
  STOP_ATTEMPTS,
  STOP_RETRY_MS,
  type FirewallGuardSink,
  type GuardTimer,
  type RulesetEvents,
} from '../../src/firewall/guard.js';
import { planFirewall, type FirewallRule } from '../../src/firewall/plan.js';
import { FakeIptables, printed } from './fake-iptables.js';
import { formatCommand, iptablesCommands } from '../../src/firewall/iptables.js';

const QUEUE = 3;
const FOREIGN4 = '-A FORWARD -p udp -m comment --comment foreign -j ACCEPT';
/** Our comment, another daemon's queue: not ours. */
const OTHER_QUEUE4 =
  '-A FORWARD -m tcp --tcp-flags FIN,SYN,RST SYN -m comment --comment mssmangler -j NFQUEUE --queue-num 9 --queue-bypass -p tcp';

function plan(mss: number, family: 4 | 6 | 'both' = 'both', extra: { destinationPort?: number } = {}): FirewallRule[] {
  const r = buildConfig(null, { setMss: mss, queue: QUEUE });
  assert.ok(r.ok);
  if (!r.ok) throw new Error('config');
  const rules = planFirewall(r.config, { family });
  if (extra.destinationPort === undefined) return rules;
  return rules.map((x) => ({ ...x, destinationPorts: [{ from: extra.destinationPort!, to: extra.destinationPort! }] }));
}

/** What the fake prints for the plan, per binary. */
function printedPlan(p: readonly FirewallRule[], binary: string): string[] {
  return iptablesCommands(p, '-A')
    .filter((c) => c.binary === binary)
    .map((c) => `-A ${c.args[3]} ${printed(c.args.slice(4)).join(' ')}`);
}

class ManualTimer implements GuardTimer {
  private next = 1;
  readonly pending = new Map<number, { fn: () => void; ms: number }>();
  set(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, { fn, ms });
    return id;
  }
  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  /** Fires every timer set for `ms`. */
  fire(ms: number): void {
    for (const [id, t] of [...this.pending]) {
      if (t.ms !== ms) continue;
      this.pending.delete(id);
      t.fn();
    }
  }
}

class Sink implements FirewallGuardSink {
  repairs = 0;
  missing = -1;
  errors = 0;
  countRepairs(n: number): void {
    this.repairs += n;
  }
  setMissing(n: number): void {
    this.missing = n;
  }
  countCommandError(): void {
    this.errors++;
  }
}

interface Logged {
  level: string;
  msg: string;
  fields: Record<string, unknown> | undefined;
}

function setup(events?: RulesetEvents) {
  const fake = new FakeIptables();
  const timer = new ManualTimer();
  const sink = new Sink();
  const logged: Logged[] = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => logged.push({ level, msg, fields });
  let now = 0;
  const guard = new FirewallGuard({
    queue: QUEUE,
    checkIntervalMs: 5000,
    runner: fake.runner,
    timer,
    clock: () => now,
    log: { info: at('info'), warn: at('warn'), error: at('error') },
    metrics: sink,
    events,
  });
  return { fake, timer, sink, logged, guard, advance: (ms: number) => (now += ms) };
}

/** Lets the check a timer started run to its end. */
async function settled(guard: FirewallGuard): Promise<void> {
  await guard.check();
}

/** Stops the guard, firing its retry delays as they come; returns how many it waited for. */
async function stopped(guard: FirewallGuard, timer: ManualTimer): Promise<number> {
  let done = false;
  const stopping = guard.stop().then(() => (done = true));
  let retries = 0;
  for (let turns = 0; !done; turns++) {
    assert.ok(turns < 10_000, 'stop never finished');
    await new Promise((r) => setImmediate(r));
    if ([...timer.pending.values()].some((t) => t.ms === STOP_RETRY_MS)) {
      retries++;
      timer.fire(STOP_RETRY_MS);
    }
  }
  await stopping;
  return retries;
}

test('guard: start installs exactly the planned rules, after the foreign ones, and checks every interval', async () => {
  const { fake, timer, sink, guard } = setup();
  fake.addForeign('iptables', FOREIGN4);
  const p = plan(1380);
  await guard.start(p);
  assert.deepEqual(fake.rules('iptables'), [FOREIGN4, ...printedPlan(p, 'iptables')]);
  assert.deepEqual(fake.rules('ip6tables'), printedPlan(p, 'ip6tables'));
  assert.equal(sink.missing, 0);
  assert.equal([...timer.pending.values()].filter((t) => t.ms === 5000).length, 1, 'one check scheduled at the interval');

  // A healthy check is one listing per family and nothing else.
  const before = fake.commands.length;
  timer.fire(5000);
  await settled(guard);
  assert.deepEqual(fake.commands.slice(before), ['iptables -t mangle -S', 'ip6tables -t mangle -S']);
  assert.equal(sink.repairs, 0);
  assert.equal([...timer.pending.values()].filter((t) => t.ms === 5000).length, 1, 'the next check is scheduled after this one');
});

test('guard: a flush is detected and repaired; the warning names the restored rules; counter and gauge', async () => {
  const { fake, timer, sink, logged, guard } = setup();
  const p = plan(1380);
  await guard.start(p);
  fake.flush('iptables');
  fake.addForeign('iptables', FOREIGN4);
  timer.fire(5000);
  await settled(guard);
  assert.deepEqual(fake.rules('iptables'), [FOREIGN4, ...printedPlan(p, 'iptables')], 'ours back, after the foreign rule, once');
  assert.deepEqual(fake.rules('ip6tables'), printedPlan(p, 'ip6tables'), 'the other family untouched');
  assert.equal(sink.repairs, 2);
  assert.equal(sink.missing, 0);
  const warnings = logged.filter((l) => l.level === 'warn');
  assert.equal(warnings.length, 1, 'one warning per repair');
  assert.deepEqual(
    warnings[0]!.fields!.restored,
    iptablesCommands(p, '-A')
      .filter((c) => c.binary === 'iptables')
      .map(formatCommand),
  );

  // One rule of one chain gone: only that one comes back.
  fake.rules('ip6tables').splice(1, 1);
  const result = await guard.check();
  assert.deepEqual(result, { missing: 0, restored: 1 });
  assert.equal(sink.repairs, 3);
  assert.deepEqual([...fake.rules('ip6tables')].sort(), [...printedPlan(p, 'ip6tables')].sort());
});

test('guard: a failing command is logged, counted, and retried; the gauge shows what is missing meanwhile', async () => {
  const { fake, sink, logged, guard, advance } = setup();
  const p = plan(1380, 4);
  await guard.start(p);
  fake.flush('iptables');
  fake.failure = (_b, args) =>
    args[2] === '-A' ? { code: 4, stdout: '', stderr: 'iptables: Resource temporarily unavailable.' } : undefined;
  assert.deepEqual(await guard.check(), { missing: 2, restored: 0 });
  assert.equal(sink.missing, 2, 'an alert on rules_missing > 0 fires');
  assert.equal(sink.errors, 2);
  assert.equal(sink.repairs, 0);
  await guard.check();
  assert.equal(sink.errors, 4, 'every failure counted');
  const errors = logged.filter((l) => l.level === 'error');
  assert.equal(errors.length, 1, 'the same failure is logged once a minute, not every check');
  assert.match(String(errors[0]!.fields!.error), /Resource temporarily unavailable/);
  advance(60_000);
  await guard.check();
  assert.equal(logged.filter((l) => l.level === 'error').length, 2);

  // The binary vanishes altogether (the runner rejects): still no rejection from the guard.
  fake.failure = () => {
    throw new Error('iptables is not installed');
  };
  assert.deepEqual(await guard.check(), { missing: 2, restored: 0 }, 'a failed listing keeps the last count');

  fake.failure = undefined;
  assert.deepEqual(await guard.check(), { missing: 0, restored: 2 });
  assert.equal(sink.missing, 0);
  assert.deepEqual(fake.rules('iptables'), printedPlan(p, 'iptables'));
});

test('guard: a start that cannot install anything still resolves, and the first check that can installs', async () => {
  const { fake, sink, guard } = setup();
  fake.failure = () => ({ code: 3, stdout: '', stderr: "can't initialize iptables table `mangle': Permission denied (you must be root)" });
  const p = plan(1380, 4);
  await guard.start(p);
  assert.equal(sink.missing, 2);
  assert.ok(sink.errors >= 1);
  fake.failure = undefined;
  assert.deepEqual(await guard.check(), { missing: 0, restored: 2 });
  assert.deepEqual(fake.rules('iptables'), printedPlan(p, 'iptables'));
});

test('guard: stop removes its own rules only: foreign ones, other queues and rules added by hand stay', async () => {
  const { fake, timer, sink, guard } = setup();
  fake.addForeign('iptables', FOREIGN4);
  fake.addForeign('iptables', OTHER_QUEUE4);
  const p = plan(1380);
  await guard.start(p);
  assert.ok(fake.rules('iptables').includes(OTHER_QUEUE4), 'start leaves another queue alone');
  await guard.stop();
  assert.deepEqual(fake.rules('iptables'), [FOREIGN4, OTHER_QUEUE4]);
  assert.deepEqual(fake.rules('ip6tables'), []);
  assert.equal(sink.missing, 0);
  assert.equal(timer.pending.size, 0, 'no check left scheduled');
  const before = fake.commands.length;
  await guard.check();
  assert.equal(fake.commands.length, before, 'a stopped guard runs nothing');
});

test('guard: start replaces rules of ours an earlier run left (same comment and queue), never leaving the queue without a rule', async () => {
  const { fake, guard } = setup();
  const stale = plan(1300, 4, { destinationPort: 443 });
  const same = plan(1380, 4);
  for (const line of [...printedPlan(stale, 'iptables'), printedPlan(same, 'iptables')[0]!]) fake.addForeign('iptables', line);
  let minOurs = Infinity;
  const ours = () => fake.rules('iptables').filter((l) => l.includes(`--queue-num ${QUEUE}`)).length;
  fake.failure = () => {
    minOurs = Math.min(minOurs, ours());
    return undefined;
  };
  await guard.start(same);
  assert.deepEqual(fake.rules('iptables'), printedPlan(same, 'iptables'), 'stale rules gone, exactly one copy of each planned rule');
  assert.ok(minOurs >= 2, 'at no command was the queue left with fewer rules than before');
});

test('guard: reload adds the new rules before it deletes the old ones; shared rules keep one copy', async () => {
  const { fake, guard } = setup();
  const first = plan(1380, 4);
  const second = [...plan(1380, 4, { destinationPort: 443 }), first[0]!];
  await guard.start(first);
  const start = fake.commands.length;
  await guard.reload(second);
  const swap = fake.commands.slice(start).filter((c) => !c.endsWith(' -S'));
  const lastAdd = swap.map((c) => c.split(' ')[3]).lastIndexOf('-A');
  const firstDelete = swap.map((c) => c.split(' ')[3]).indexOf('-D');
  assert.ok(lastAdd >= 0 && firstDelete > lastAdd, `every -A before the first -D: ${swap.join('; ')}`);
  assert.deepEqual(fake.rules('iptables'), printedPlan(second, 'iptables'));
  // The same plan again changes nothing.
  const again = fake.commands.length;
  await guard.reload(second);
  assert.equal(fake.commands.length, again);
  // After a reload the check compares with the new set.
  assert.deepEqual(await guard.check(), { missing: 0, restored: 0 });
});

test('guard: a reload whose new rules cannot go in keeps the old ones until they can', async () => {
  const { fake, guard } = setup();
  const first = plan(1380, 4);
  const second = plan(1380, 4, { destinationPort: 443 });
  await guard.start(first);
  fake.failure = (_b, args) => (args[2] === '-A' ? { code: 4, stdout: '', stderr: 'busy' } : undefined);
  await guard.reload(second);
  assert.deepEqual(fake.rules('iptables'), printedPlan(first, 'iptables'), 'old rules still queue');
  fake.failure = undefined;
  await guard.check();
  assert.deepEqual(fake.rules('iptables'), printedPlan(second, 'iptables'), 'the swap finished at the next check');
});

test('guard: checks never overlap: timer, events and callers share one check at a time', async () => {
  let onChange: () => void = () => undefined;
  const events: RulesetEvents = { start: (cb) => (onChange = cb), stop: () => undefined };
  const { fake, timer, guard } = setup(events);
  await guard.start(plan(1380));
  fake.maxInFlight = 0;
  const before = fake.commands.length;
  timer.fire(5000);
  onChange();
  onChange();
  timer.fire(EVENT_SETTLE_MS);
  const calls = [guard.check(), guard.check(), guard.check()];
  await Promise.all(calls);
  await settled(guard);
  assert.equal(fake.maxInFlight, 1, 'one firewall command at a time');
  const listings = fake.commands.slice(before).length;
  // Timer check, then one check shared by the event and the three callers, then settled()'s own.
  assert.ok(listings <= 6, `${listings} listings for three checks`);
  // A burst of events within the settle time costs one check.
  assert.equal([...timer.pending.values()].filter((t) => t.ms === EVENT_SETTLE_MS).length, 0);
});

test('guard: an event triggers a check soon, without waiting for the interval', async () => {
  let onChange: () => void = () => undefined;
  let stopped = false;
  const events: RulesetEvents = { start: (cb) => (onChange = cb), stop: () => (stopped = true) };
  const { fake, timer, sink, guard } = setup(events);
  const p = plan(1380, 4);
  await guard.start(p);
  fake.flush('iptables');
  onChange();
  onChange();
  assert.equal([...timer.pending.values()].filter((t) => t.ms === EVENT_SETTLE_MS).length, 1, 'a burst is one check');
  timer.fire(EVENT_SETTLE_MS);
  await settled(guard);
  assert.equal(sink.repairs, 2);
  assert.deepEqual(fake.rules('iptables'), printedPlan(p, 'iptables'));
  await guard.stop();
  assert.ok(stopped, 'the event source is stopped');
});

test('guard: a delete that fails at stop is retried, logged and counted, and nothing runs after stop', async () => {
  const { fake, timer, sink, logged, guard } = setup();
  const p = plan(1380, 4);
  await guard.start(p);
  fake.failure = (_b, args) =>
    args[2] === '-D' ? { code: 4, stdout: '', stderr: 'iptables: Resource temporarily unavailable.' } : undefined;
  assert.equal(await stopped(guard, timer), STOP_ATTEMPTS - 1, 'tried again after a pause, a bounded number of times');
  assert.equal(sink.errors, 2 * STOP_ATTEMPTS, 'every failed delete counted');
  assert.equal(logged.filter((l) => l.level === 'error').length, 1);
  assert.deepEqual(fake.rules('iptables'), printedPlan(p, 'iptables'), 'left in place (they carry --queue-bypass)');
  fake.failure = undefined;
  const before = fake.commands.length;
  assert.deepEqual(await guard.check(), { missing: 0, restored: 0 });
  assert.equal(fake.commands.length, before);
});

/** What runCommand (src/firewall/runner.ts) answers for an iptables that a signal ended. */
const KILLED = { code: 1, stdout: '', stderr: 'iptables killed by SIGTERM (timeout 10000 ms)' };

test('guard: a removal that systemd killed at stop (SIGTERM to the whole unit) is tried again until every rule is gone', async () => {
  // Under KillMode=control-group systemd sends SIGTERM to every process of the unit, and an iptables the
  // daemon starts in reply may still meet that sweep: the listing, or any one delete, dies.
  for (const victim of [1, 2, 3]) {
    const { fake, timer, guard } = setup();
    fake.addForeign('iptables', FOREIGN4);
    await guard.start(plan(1380));
    let n = 0;
    fake.failure = () => (++n === victim ? KILLED : undefined);
    const retries = await stopped(guard, timer);
    assert.deepEqual(fake.rules('iptables'), [FOREIGN4], `command ${victim} killed: IPv4 rules gone, the foreign one stays`);
    assert.deepEqual(fake.rules('ip6tables'), [], `command ${victim} killed: IPv6 rules gone`);
    assert.equal(retries, 1, `command ${victim} killed: one pause, then the second round finished`);
  }
});

test('guard: stop removes every copy of our rules, also copies it did not install or could not confirm', async () => {
  const { fake, timer, guard } = setup();
  const p = plan(1380, 4);
  // The listing after the first append fails: that rule goes in unseen, and the second append then sees
  // two new lines and cannot tell which is its own. Neither is learnt.
  let afterAppend = false;
  let failed = false;
  fake.failure = (_b, args) => {
    if (args[2] === '-A') afterAppend = true;
    else if (args[2] === '-S' && afterAppend && !failed) {
      failed = true;
      return KILLED;
    }
    return undefined;
  };
  await guard.start(p);
  assert.equal(fake.rules('iptables').length, 2, 'both rules went in');
  // The next check appends and learns them again; the copies nobody learnt go once the set is complete.
  assert.deepEqual(await guard.check(), { missing: 0, restored: 2 });
  assert.deepEqual(fake.rules('iptables'), printedPlan(p, 'iptables'), 'one copy of each rule while running');
  // A second copy of a rule of ours, appended by hand (or by `mssmangler rules --apply`): ours too.
  fake.addForeign('iptables', printedPlan(p, 'iptables')[0]!);
  fake.addForeign('iptables', FOREIGN4);
  await stopped(guard, timer);
  assert.deepEqual(fake.rules('iptables'), [FOREIGN4], 'no copy of a rule of ours outlives stop');
});

test('guard: nothing changes the rules after stop: a reload or a check queued behind it, or one running when it came', async () => {
  const { fake, timer, guard } = setup();
  const first = plan(1380, 4);
  await guard.start(first);
  // SIGHUP then SIGTERM: the supervisor's reload reaches the guard only after the workers switched,
  // which can be after stop began.
  const stopping = stopped(guard, timer);
  await guard.reload(plan(1300, 4, { destinationPort: 443 }));
  await stopping;
  assert.deepEqual(fake.rules('iptables'), [], 'the reload after stop installed nothing');

  // A check running (repairing a flush) when stop comes: stop waits for it, then removes what it put back.
  const second = setup();
  await second.guard.start(first);
  second.fake.flush('iptables');
  second.fake.maxInFlight = 0;
  const checking = second.guard.check();
  await new Promise((r) => setImmediate(r));
  assert.ok(second.fake.inFlight > 0, 'the check is under way');
  const stop = stopped(second.guard, second.timer);
  const queued = second.guard.check();
  await Promise.all([checking, stop, queued]);
  assert.deepEqual(second.fake.rules('iptables'), []);
  assert.equal(second.fake.maxInFlight, 1, 'stop never ran a command alongside the check');
  const adds = second.fake.commands.filter((c) => c.includes(' -A ')).length;
  assert.equal(adds, 4, 'two installs at start, two repairs by the running check, none after stop');
});
