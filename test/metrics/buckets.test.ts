import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BATCH_BUCKETS, MSS_BUCKETS, batchSlot, mssSlot } from '../../src/metrics/buckets.js';

test('the MSS buckets are the ones the issue names, ascending', () => {
  assert.deepEqual(MSS_BUCKETS, [536, 1220, 1240, 1280, 1360, 1380, 1400, 1420, 1440, 1452, 1460, 8940]);
});

test('mssSlot puts a value in the first bucket whose bound is >= the value (Prometheus le semantics)', () => {
  const cases: [number, number][] = [
    [0, 0],
    [536, 0],
    [537, 1],
    [1220, 1],
    [1380, 5],
    [1381, 6],
    [1460, 10],
    [1461, 11],
    [8940, 11],
    [8941, 12],
    [65535, 12],
  ];
  for (const [mss, slot] of cases) assert.equal(mssSlot(mss), slot, `mss ${mss}`);
});

test('mssSlot agrees with a linear search for every 16-bit value', () => {
  for (let mss = 0; mss <= 0xffff; mss++) {
    let expected = MSS_BUCKETS.findIndex((b) => mss <= b);
    if (expected < 0) expected = MSS_BUCKETS.length;
    if (mssSlot(mss) !== expected) assert.fail(`mss ${mss}: ${mssSlot(mss)} != ${expected}`);
  }
});

test('batchSlot agrees with a linear search over the power-of-two bounds', () => {
  for (let n = 1; n <= 5000; n++) {
    let expected = BATCH_BUCKETS.findIndex((b) => n <= b);
    if (expected < 0) expected = BATCH_BUCKETS.length;
    assert.equal(batchSlot(n), expected, `batch ${n}`);
  }
});
