import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Outcome } from '../../src/packet/outcome.js';
import { createLogger } from '../../src/log/logger.js';
import { RuleSummary } from '../../src/log/rule-summary.js';
import { NO_MSS, PacketCounters } from '../../src/metrics/packet-counters.js';
import { LineCapture, settle } from './capture.js';

function setup(level: 'info' | 'warn' = 'info') {
  const out = new LineCapture();
  const logger = createLogger({ stream: out, format: 'json', level });
  const counters = new PacketCounters([
    { name: 'vpn-clamp', action: 'set' },
    { name: 'idle', action: 'set' },
  ]);
  let now = 1_000_000;
  const summary = new RuleSummary(counters, logger, { intervalMs: 10_000, now: () => now });
  return { out, counters, summary, advance: (ms: number) => (now += ms) };
}

function traffic(c: PacketCounters, changed: number, below: number): void {
  for (let i = 0; i < changed; i++) {
    c.countOutcome(0, Outcome.Modified);
    c.observeMss(0, 1460, 1380);
  }
  for (let i = 0; i < below; i++) {
    c.countOutcome(0, Outcome.AlreadyAtOrBelow);
  }
}

test('one info line per active rule with the deltas and the last MSS pair', async () => {
  const { out, counters, summary } = setup();
  traffic(counters, 1234, 5);
  summary.tick();
  await settle();
  assert.equal(out.lines.length, 1, 'the idle rule logs nothing');
  const [line] = out.json();
  assert.equal(line!['msg'], 'rule vpn-clamp: 1234 changed, 5 already at or below, MSS 1460->1380');
  assert.equal(line!['level'], 'info');
  assert.equal(line!['rule'], 'vpn-clamp');
  assert.equal(line!['changed'], 1234);
  assert.equal(line!['alreadyAtOrBelow'], 5);
});

test('rate limited per rule: nothing within the interval, then only the new deltas', async () => {
  const { out, counters, summary, advance } = setup();
  traffic(counters, 10, 0);
  summary.tick();
  traffic(counters, 3, 1);
  advance(9_999);
  summary.tick();
  await settle();
  assert.equal(out.lines.length, 1);
  advance(1);
  summary.tick();
  await settle();
  assert.equal(out.lines.length, 2);
  assert.equal(out.json()[1]!['msg'], 'rule vpn-clamp: 3 changed, 1 already at or below, MSS 1460->1380');
  advance(60_000);
  summary.tick();
  await settle();
  assert.equal(out.lines.length, 2, 'no packets since the last line: no line');
});

test('insertions and other outcomes are named', async () => {
  const { out, counters, summary } = setup();
  counters.countOutcome(1, Outcome.Inserted);
  counters.observeMss(1, NO_MSS, 1220);
  counters.countOutcome(1, Outcome.NoMssOption);
  summary.tick();
  await settle();
  assert.equal(out.json()[0]!['msg'], 'rule idle: 1 changed (1 inserted), 0 already at or below, 1 other, MSS 1220');
});

test('a reload that keeps the rule keeps its baseline', async () => {
  const { out, counters, summary, advance } = setup();
  traffic(counters, 7, 0);
  summary.tick();
  counters.setRules([
    { name: 'new', action: 'set' },
    { name: 'vpn-clamp', action: 'set' },
  ]);
  counters.countOutcome(1, Outcome.Modified);
  advance(10_000);
  summary.tick();
  await settle();
  assert.equal(out.lines.length, 2);
  assert.equal(out.json()[1]!['changed'], 1);
});

test('a rule a reload removed is forgotten: put back later, its line counts from zero again', async () => {
  const { out, counters, summary, advance } = setup();
  traffic(counters, 7, 0);
  summary.tick();
  counters.setRules([{ name: 'idle', action: 'set' }]);
  advance(10_000);
  summary.tick();
  counters.setRules([
    { name: 'vpn-clamp', action: 'set' },
    { name: 'idle', action: 'set' },
  ]);
  traffic(counters, 3, 0);
  advance(10_000);
  summary.tick();
  await settle();
  assert.deepEqual(
    out.json().map((l) => l['changed']),
    [7, 3],
  );
});

test('nothing is built or logged when info is disabled', async () => {
  const { out, counters, summary } = setup('warn');
  traffic(counters, 10, 0);
  summary.tick();
  await settle();
  assert.equal(out.lines.length, 0);
});
