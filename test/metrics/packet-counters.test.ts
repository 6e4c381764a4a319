import assert from 'node:assert/strict';
import { collectionsDuring } from '../support/collections.js';
import { test } from 'node:test';
import { Outcome } from '../../src/packet/outcome.js';
import { mssSlot } from '../../src/metrics/buckets.js';
import { NO_MSS, NO_RULE, PacketCounters, PmtuFallback, sumCountersInto } from '../../src/metrics/packet-counters.js';

const rules = [
  { name: 'vpn-clamp', action: 'set' },
  { name: 'wan', action: 'clamp-to-pmtu' },
];

test('outcomes are counted per rule row, and the extra row is NO_RULE', () => {
  const c = new PacketCounters(rules);
  c.countOutcome(0, Outcome.Modified);
  c.countOutcome(0, Outcome.Modified);
  c.countOutcome(1, Outcome.AlreadyAtOrBelow);
  c.countOutcome(c.noRule, Outcome.NoRuleMatched);
  assert.equal(c.outcomeCount(0, Outcome.Modified), 2);
  assert.equal(c.outcomeCount(1, Outcome.AlreadyAtOrBelow), 1);
  assert.equal(c.outcomeCount(1, Outcome.Modified), 0);
  assert.equal(c.noRule, 2);
  assert.equal(c.outcomeCount(2, Outcome.NoRuleMatched), 1);
  assert.deepEqual(c.rowLabel(2), NO_RULE);
  assert.deepEqual(c.rowLabel(1), rules[1]);
});

test('observeMss fills both histograms; NO_MSS (an insertion) only the after histogram', () => {
  const c = new PacketCounters(rules);
  c.observeMss(1, 1460, 1380);
  c.observeMss(1, NO_MSS, 1220);
  const slots = 13;
  assert.equal(c.mssBeforeBuckets[slots + mssSlot(1460)], 1);
  assert.equal(
    c.mssBeforeBuckets.reduce((a, b) => a + b, 0),
    1,
  );
  assert.equal(c.mssBeforeSum[1], 1460);
  assert.equal(c.mssAfterBuckets[slots + mssSlot(1380)], 1);
  assert.equal(c.mssAfterBuckets[slots + mssSlot(1220)], 1);
  assert.equal(c.mssAfterSum[1], 2600);
  assert.equal(c.lastMssBefore[1], 1460);
  assert.equal(c.lastMssAfter[1], 1220);
  assert.equal(c.mssAfterSum[0], 0);
});

test('global counters: batches, PMTU, verdict and handler errors', () => {
  const c = new PacketCounters(rules);
  c.observeBatch(1);
  c.observeBatch(5);
  c.countPmtuLookup();
  c.countPmtuLookupFailure();
  c.countPmtuFallback(PmtuFallback.Floor);
  c.countPmtuFallback(PmtuFallback.LookupBudget);
  c.countPmtuFallback(PmtuFallback.LookupBudget);
  c.countVerdictErrors(3);
  c.countHandlerError();
  assert.equal(c.batchSum, 6);
  assert.equal(c.batchBuckets[0], 1);
  assert.equal(c.batchBuckets[3], 1);
  assert.equal(c.pmtuLookups, 1);
  assert.equal(c.pmtuLookupFailures, 1);
  assert.deepEqual([...c.pmtuFallbacks], [0, 1, 2]);
  assert.equal(c.verdictErrors, 3);
  assert.equal(c.handlerErrors, 1);
});

test('setRules keeps the counts of rules with the same name and action, zeroes the rest', () => {
  const c = new PacketCounters(rules);
  c.countOutcome(0, Outcome.Modified);
  c.observeMss(0, 1460, 1380);
  c.countOutcome(1, Outcome.Modified);
  c.countOutcome(c.noRule, Outcome.NotTcp);
  c.observeBatch(2);
  c.countVerdictErrors(1);

  // vpn-clamp moves to index 1 and keeps its counts; wan changes action and restarts; lab is new.
  c.setRules([
    { name: 'wan', action: 'set' },
    { name: 'vpn-clamp', action: 'set' },
    { name: 'lab', action: 'set' },
  ]);
  assert.equal(c.noRule, 3);
  assert.equal(c.outcomeCount(1, Outcome.Modified), 1);
  assert.equal(c.mssBeforeSum[1], 1460);
  assert.equal(c.mssAfterSum[1], 1380);
  assert.equal(c.lastMssAfter[1], 1380);
  assert.equal(c.outcomeCount(0, Outcome.Modified), 0);
  assert.equal(c.outcomeCount(2, Outcome.Modified), 0);
  assert.equal(c.mssBeforeSum[0], 0);
  assert.equal(c.outcomeCount(c.noRule, Outcome.NotTcp), 1, 'the no-rule row carries over');
  assert.equal(c.batchSum, 2, 'global counters carry over');
  assert.equal(c.verdictErrors, 1);

  c.setRules([]);
  assert.equal(c.noRule, 0);
  assert.equal(c.outcomeCount(0, Outcome.NotTcp), 1);
});

test('sumCountersInto overwrites its store: summing again counts each packet once, the last MSS included', () => {
  const a = new PacketCounters(rules);
  const b = new PacketCounters([rules[1]!, rules[0]!]);
  a.countOutcome(0, Outcome.Modified);
  a.observeMss(0, 1460, 1380);
  a.observeBatch(1);
  b.countOutcome(1, Outcome.Modified);
  b.countOutcome(b.noRule, Outcome.NotTcp);
  b.observeBatch(2);
  const sum = new PacketCounters(rules);
  for (let i = 0; i < 2; i++) {
    assert.equal(sumCountersInto(sum, [a, b]), sum);
    assert.equal(sum.outcomeCount(0, Outcome.Modified), 2, 'vpn-clamp from both stores, by name');
    assert.equal(sum.outcomeCount(sum.noRule, Outcome.NotTcp), 1);
    assert.equal(sum.mssBeforeSum[0], 1460);
    assert.equal(sum.lastMssAfter[0], 1380);
    assert.equal(sum.batchSum, 3);
  }
  b.setRules([]);
  sumCountersInto(sum, [b]);
  assert.equal(sum.outcomeCount(0, Outcome.Modified), 0, 'what is no longer in any part is gone from the sum');
  assert.equal(sum.lastMssAfter[0], 0);
  assert.equal(sum.batchSum, 2);
});

test('the rule list given to setRules is copied and frozen', () => {
  const list = [{ name: 'a', action: 'set' }];
  const c = new PacketCounters(list);
  list[0]!.name = 'changed';
  assert.equal(c.rules[0]!.name, 'a');
  assert.ok(Object.isFrozen(c.rules[0]));
});

test('the packet-path methods allocate nothing: no garbage collection during ten million calls', async () => {
  const { setFlagsFromString } = await import('node:v8');
  const { runInNewContext } = await import('node:vm');
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const c = new PacketCounters(rules);
  const run = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const r = i & 1;
      c.countOutcome(r, Outcome.Modified);
      c.observeMss(r, 1460 - (i & 1023), 1380);
      c.observeBatch((i & 63) + 1);
      c.countPmtuLookup();
    }
  };
  run(200_000); // optimise first
  gc();
  let grown = 0;
  const gcs = await collectionsDuring(() => {
    const heapBefore = process.memoryUsage().heapUsed;
    run(10_000_000);
    grown = process.memoryUsage().heapUsed - heapBefore;
  });
  assert.equal(gcs, 0, `${gcs} collections: the packet path allocated`);
  assert.ok(grown < 1 << 20, `heap grew ${grown} bytes`);
  assert.equal(c.outcomeCount(0, Outcome.Modified) + c.outcomeCount(1, Outcome.Modified), 10_200_000);
});
