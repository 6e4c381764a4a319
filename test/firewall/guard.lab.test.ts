// The firewall guard with iptables-nft (this host's default), under traffic: the real daemon started
// through its CLI with firewall.manage in the router of a lab, a connection from the client every 5 ms,
// SYNs captured at the server. The mangle table is flushed, then replaced by someone else's
// iptables-restore: our rules come back within one check interval, the foreign rule stays, every SYN
// after the repair is clamped, the counters say so, and at stop only our rules go. The unclamped window
// (last unclamped SYN minus first, from the captures) is reported as a test diagnostic.
// iptables-legacy: guard-legacy.lab.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { FOREIGN_RULE, GuardLab, QUEUE, flushThenRestore, unprivileged, type Disruption } from './guard-lab.js';

function report(t: { diagnostic: (m: string) => void }, label: string, results: readonly Disruption[]): void {
  for (const r of results) {
    t.diagnostic(
      `${label} ${r.name}: unclamped window ${r.windowMs.toFixed(1)} ms (${r.unclampedSyns} SYNs), rules seen back after ${r.back - r.at} ms`,
    );
  }
}

async function countersAndStop(g: GuardLab, repairs: number): Promise<void> {
  const m = await g.metrics();
  assert.equal(m.repairs, repairs, 'mssmangler_firewall_rule_repairs_total: two rules per disruption');
  assert.equal(m.missing, 0, 'mssmangler_firewall_rules_missing back to 0');
  assert.equal(m.errors, 0, 'no firewall command failed');
  const warnings = g.logs().filter((l) => l.msg === 'firewall rules were missing and are restored');
  assert.equal(warnings.length, repairs / 2, 'one warning per repair');
  for (const w of warnings) assert.equal((w.restored as string[]).length, 2, 'naming both restored rules');
  const done = await g.daemon.process.stop('SIGTERM', 5000);
  assert.equal(done.code, 0, done.stderr);
  assert.deepEqual(await g.ourRules(), [], 'stop removes our rules');
}

test('guard (iptables-nft, root, checkInterval 1s): flush and foreign iptables-restore repaired under traffic', async (t) => {
  // The same rules installed beforehand (as the old unit's ExecStartPre= did): adopted, not doubled.
  const g = await GuardLab.create({ tag: 'gnft', flavour: 'nft', checkInterval: '1s', preinstall: true });
  t.after(() => g.destroy());
  const results = await flushThenRestore(g, 1000, 1000);
  report(t, 'nft', results);
  const rules = await g.rules();
  assert.equal(rules[0], FOREIGN_RULE, 'the foreign rule stays, first');
  assert.equal(rules.length, 3, 'and ours after it, once each');
  await countersAndStop(g, 4);
  assert.deepEqual(await g.rules(), [FOREIGN_RULE], 'only ours went');
});

test('guard (iptables-nft, nobody with CAP_NET_ADMIN only, checkInterval 1s): the same without privileges', async (t) => {
  const g = await GuardLab.create({ tag: 'gnftu', flavour: 'nft', checkInterval: '1s', wrapper: unprivileged(['net_admin']) });
  t.after(() => g.destroy());
  const results = await flushThenRestore(g, 1000, 1000);
  report(t, 'nft unprivileged', results);
  await countersAndStop(g, 4);
  assert.deepEqual(await g.rules(), [FOREIGN_RULE]);
});

test('guard (iptables-nft, nobody, checkInterval 60s): nft ruleset events repair long before the timer would', async (t) => {
  const g = await GuardLab.create({ tag: 'gnfte', flavour: 'nft', checkInterval: '60s', wrapper: unprivileged(['net_admin']) });
  t.after(() => g.destroy());
  // Far below the 60 s interval even on a loaded machine: only the event can have triggered the repair.
  const results = await flushThenRestore(g, 1000, 4000, ['flush']);
  report(t, 'nft events', results);
  await countersAndStop(g, 2);
});

test('guard (iptables-nft): SIGHUP with new rules replaces the firewall rules, and the queue always has one', async (t) => {
  const g = await GuardLab.create({ tag: 'gnftr', flavour: 'nft', checkInterval: '1s' });
  t.after(() => g.destroy());
  await g.start();
  const before = await g.ourRules();
  assert.equal(before.length, 2);
  assert.ok(before.every((l) => !l.includes('--dport')));
  // Sample our rules as fast as iptables answers while the reload runs: never none of them.
  let sampling = true;
  let fewest = Infinity;
  const sampler = (async () => {
    while (sampling) fewest = Math.min(fewest, (await g.ourRules()).length);
  })();
  writeFileSync(g.configPath, readFileSync(g.configPath, 'utf8').replace('direction: syn }', 'direction: syn, destinationPort: 80 }'));
  g.daemon.process.child.kill('SIGHUP');
  await g.daemon.waitForLog('reloaded', 0, 5000);
  sampling = false;
  await sampler;
  const after = await g.ourRules();
  assert.equal(after.length, 2);
  assert.ok(
    after.every((l) => l.includes('--dport 80') && l.includes(`--queue-num ${QUEUE}`)),
    after.join('\n'),
  );
  assert.ok(fewest >= 2, `at least two of our rules at every sample (fewest ${fewest})`);
  assert.equal((await g.metrics()).repairs, 0, 'a reload is no repair');
  await g.daemon.process.stop('SIGTERM', 5000);
  assert.deepEqual(await g.ourRules(), []);
});
