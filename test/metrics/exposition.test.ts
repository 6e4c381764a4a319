// The exposition text: the values the store holds, in the names docs/metrics.md documents, and accepted
// by `promtool check metrics` (Prometheus' own linter for names, types and suffixes).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Outcome } from '../../src/packet/outcome.js';
import { DaemonMetrics } from '../../src/metrics/daemon-metrics.js';
import { PacketCounters, PmtuFallback } from '../../src/metrics/packet-counters.js';
import type { FamilyRulePackets } from '../../src/firewall/counters.js';
import { FirewallGuardCounters } from '../../src/metrics/firewall-guard-counters.js';

function busyStore(): PacketCounters {
  const c = new PacketCounters([
    { name: 'vpn-clamp', action: 'set' },
    { name: 'wan', action: 'clamp-to-pmtu' },
  ]);
  for (let i = 0; i < 5; i++) {
    c.countOutcome(0, Outcome.Modified);
    c.observeMss(0, 1460, 1380);
  }
  c.countOutcome(0, Outcome.AlreadyAtOrBelow);
  c.observeMss(0, 1200, 1200);
  c.countOutcome(1, Outcome.Inserted);
  c.observeMss(1, -1, 1220);
  c.countOutcome(c.noRule, Outcome.NoRuleMatched);
  c.observeBatch(7);
  c.countPmtuLookup();
  c.countPmtuFallback(PmtuFallback.InterfaceMtu);
  c.countVerdictErrors(2);
  return c;
}

function line(text: string, prefix: string): string | undefined {
  return text.split('\n').find((l) => l.startsWith(prefix));
}

test('the exposition carries the store values under the documented names and labels', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mssmangler-expo-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const proc = join(dir, 'nfnetlink_queue');
  writeFileSync(proc, '    3   4242     1 2 65535     9     4      321  1\n');
  const m = new DaemonMetrics(busyStore(), { queue: 3, queueProcPath: proc });
  m.countReload('success');
  m.countReload('failure');
  const text = await m.exposition();
  const expect = (prefix: string, value: string): void => {
    const l = line(text, prefix);
    assert.ok(l !== undefined, `no line starting ${prefix}`);
    assert.equal(l.slice(prefix.length).trim(), value, l);
  };
  expect('mssmangler_packets_total{rule="vpn-clamp",action="set",outcome="modified"}', '5');
  expect('mssmangler_packets_total{rule="vpn-clamp",action="set",outcome="already-at-or-below"}', '1');
  expect('mssmangler_packets_total{rule="wan",action="clamp-to-pmtu",outcome="inserted"}', '1');
  expect('mssmangler_packets_total{rule="(none)",action="none",outcome="no-rule-matched"}', '1');
  assert.equal(line(text, 'mssmangler_packets_total{rule="vpn-clamp",action="set",outcome="parsed"}'), undefined);
  expect('mssmangler_mss_before_bytes_bucket{rule="vpn-clamp",action="set",le="1220"}', '1');
  expect('mssmangler_mss_before_bytes_bucket{rule="vpn-clamp",action="set",le="1452"}', '1');
  expect('mssmangler_mss_before_bytes_bucket{rule="vpn-clamp",action="set",le="1460"}', '6');
  expect('mssmangler_mss_before_bytes_count{rule="vpn-clamp",action="set"}', '6');
  expect('mssmangler_mss_before_bytes_sum{rule="vpn-clamp",action="set"}', String(5 * 1460 + 1200));
  expect('mssmangler_mss_after_bytes_bucket{rule="vpn-clamp",action="set",le="1380"}', '6');
  expect('mssmangler_mss_after_bytes_bucket{rule="vpn-clamp",action="set",le="1360"}', '1');
  expect('mssmangler_mss_before_bytes_count{rule="wan",action="clamp-to-pmtu"}', '0');
  expect('mssmangler_mss_after_bytes_count{rule="wan",action="clamp-to-pmtu"}', '1');
  expect('mssmangler_mss_insertions_total{rule="wan",action="clamp-to-pmtu"}', '1');
  expect('mssmangler_batch_packets_bucket{le="4"}', '0');
  expect('mssmangler_batch_packets_bucket{le="8"}', '1');
  expect('mssmangler_batch_packets_sum', '7');
  expect('mssmangler_pmtu_lookups_total', '1');
  expect('mssmangler_pmtu_fallbacks_total{to="interface-mtu"}', '1');
  expect('mssmangler_pmtu_fallbacks_total{to="floor"}', '0');
  expect('mssmangler_verdict_errors_total', '2');
  expect('mssmangler_rules', '2');
  expect('mssmangler_queue_bound{queue="3"}', '1');
  expect('mssmangler_queue_waiting_packets{queue="3"}', '1');
  expect('mssmangler_queue_full_dropped_packets_total{queue="3"}', '9');
  expect('mssmangler_queue_user_dropped_packets_total{queue="3"}', '4');
  expect('mssmangler_queue_id_sequence{queue="3"}', '321');
  expect('mssmangler_config_reloads_total{result="success"}', '1');
  expect('mssmangler_config_reloads_total{result="failure"}', '1');
  expect('mssmangler_config_last_reload_successful', '0');
  assert.ok(line(text, 'process_cpu_user_seconds_total') !== undefined, 'standard process metrics');
});

test('an unbound queue reports mssmangler_queue_bound 0 and no kernel counters', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mssmangler-expo-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const proc = join(dir, 'nfnetlink_queue');
  writeFileSync(proc, '');
  const m = new DaemonMetrics(new PacketCounters(), { queue: 3, queueProcPath: proc, defaultMetrics: false });
  const text = await m.exposition();
  assert.ok(text.includes('mssmangler_queue_bound{queue="3"} 0'));
  assert.ok(!text.includes('mssmangler_queue_waiting_packets{'));
  m.setQueue(undefined);
  assert.ok(!(await m.exposition()).includes('mssmangler_queue_bound{'));
});

test('a reload that changes the rules changes the series at the next scrape', async () => {
  const c = busyStore();
  const m = new DaemonMetrics(c, { defaultMetrics: false });
  c.setRules([{ name: 'vpn-clamp', action: 'set' }]);
  const text = await m.exposition();
  assert.ok(text.includes('mssmangler_packets_total{rule="vpn-clamp",action="set",outcome="modified"} 5'));
  assert.ok(!text.includes('rule="wan"'));
});

test('promtool check metrics accepts the whole exposition, process metrics included', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mssmangler-expo-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const proc = join(dir, 'nfnetlink_queue');
  writeFileSync(proc, '    0   4242     1 2 65535     9     4      321  1\n');
  const m = new DaemonMetrics(busyStore(), { queue: 0, queueProcPath: proc });
  m.setFirewallGuard(new FirewallGuardCounters());
  const text = await m.exposition();
  assert.ok(text.includes('mssmangler_firewall_rules_missing 0'));
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.error, undefined, 'promtool must be installed (Debian package prometheus)');
  assert.equal(r.status, 0, `promtool check metrics:\n${r.stdout}${r.stderr}`);
});

test('promtool check metrics is a real check: it rejects a gauge named _total', () => {
  const bad = '# HELP x_total a\n# TYPE x_total gauge\nx_total 1\n';
  const r = spawnSync('promtool', ['check', 'metrics'], { input: bad, encoding: 'utf8' });
  assert.notEqual(r.status, 0);
});

test('firewall rule counters: per family, and the bypassed packets derived from them, kept monotonic', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mssmangler-expo-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const proc = join(dir, 'nfnetlink_queue');
  // id_sequence 321, queue-full drops 9, user drops 4.
  writeFileSync(proc, '    3   4242     1 2 65535     9     4      321  1\n');
  let v4 = 1000;
  let reads = 0;
  const m = new DaemonMetrics(new PacketCounters(), { queue: 3, queueProcPath: proc, defaultMetrics: false });
  const value = (text: string, prefix: string): string | undefined => line(text, prefix)?.slice(prefix.length).trim();
  assert.equal(value(await m.exposition(), 'mssmangler_queue_bypassed_packets_total'), undefined, 'absent until a reader is set');
  const reader = async (queue: number): Promise<FamilyRulePackets[]> => {
    reads++;
    assert.equal(queue, 3);
    return [
      { family: 4, packets: v4, rules: 2 },
      { family: 6, packets: 50, rules: 1 },
    ];
  };
  m.setFirewallCounters(reader);
  let text = await m.exposition();
  assert.equal(reads, 1, 'one firewall read serves both metrics of a scrape');
  assert.equal(value(text, 'mssmangler_firewall_queued_packets_total{queue="3",family="ipv4"}'), '1000');
  assert.equal(value(text, 'mssmangler_firewall_queued_packets_total{queue="3",family="ipv6"}'), '50');
  assert.equal(value(text, 'mssmangler_queue_bypassed_packets_total{queue="3"}'), String(1050 - 321 - 9 - 4));
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, `promtool check metrics:\n${r.stdout}${r.stderr}`);

  // Read a moment apart from /proc, the difference can dip: the counter holds its value (setQueue with
  // the same number only drops the cached reads).
  writeFileSync(proc, '    3   4242     1 2 65535     9     4      330  1\n');
  m.setQueue(3);
  text = await m.exposition();
  assert.equal(value(text, 'mssmangler_queue_bypassed_packets_total{queue="3"}'), String(1050 - 321 - 9 - 4), 'never goes down');
  // Rules reinstalled (their counters fell): a real reset.
  v4 = 10;
  m.setQueue(3);
  text = await m.exposition();
  assert.equal(value(text, 'mssmangler_queue_bypassed_packets_total{queue="3"}'), '0', 'clamped at 0, then starts over');

  // No rules of ours for the queue (or iptables unreadable): both metrics absent.
  m.setFirewallCounters(async () => []);
  text = await m.exposition();
  assert.equal(line(text, 'mssmangler_firewall_queued_packets_total{'), undefined);
  assert.equal(line(text, 'mssmangler_queue_bypassed_packets_total{'), undefined);
});

test('firewall guard metrics: absent without the guard, then its repairs, missing rules and command errors', async () => {
  const m = new DaemonMetrics(new PacketCounters(), { defaultMetrics: false });
  assert.equal(
    line(await m.exposition(), 'mssmangler_firewall_rules_missing '),
    undefined,
    'no guard, no claim that the rules are watched',
  );
  const g = new FirewallGuardCounters();
  m.setFirewallGuard(g);
  g.countRepairs(2);
  g.countRepairs(1);
  g.setMissing(1);
  g.countCommandError();
  const text = await m.exposition();
  assert.equal(line(text, 'mssmangler_firewall_rule_repairs_total '), 'mssmangler_firewall_rule_repairs_total 3');
  assert.equal(line(text, 'mssmangler_firewall_rules_missing '), 'mssmangler_firewall_rules_missing 1');
  assert.equal(line(text, 'mssmangler_firewall_command_errors_total '), 'mssmangler_firewall_command_errors_total 1');
});
