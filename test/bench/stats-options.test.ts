import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseOptions } from '../../bench/options.js';
import { median, percentile } from '../../bench/stats.js';

test('median and percentiles interpolate between closest ranks', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(percentile([10, 20, 30, 40, 50], 0), 10);
  assert.equal(percentile([10, 20, 30, 40, 50], 100), 50);
  assert.equal(percentile([10, 20, 30, 40, 50], 99), 49.6);
  assert.ok(Number.isNaN(median([])));
});

test('bench options: defaults, --quick, and problems that say how to fix them', () => {
  const defaults = parseOptions([]);
  assert.deepEqual(defaults.families, [4, 6]);
  assert.deepEqual(defaults.paths, ['plain', 'kernel', 'c', 'floor', 'daemon']);
  assert.equal(defaults.reps, 5);
  assert.equal(defaults.latencyReps, 5);
  assert.equal(defaults.latencyBurst, 1);
  assert.equal(parseOptions(['--latency-burst', '64']).latencyBurst, 64);
  assert.equal(defaults.pacedRate, 50_000);
  assert.equal(defaults.pacedBurst, 8);
  assert.equal(defaults.scaling, false);
  assert.equal(defaults.threadShare, 0.25);
  assert.equal(defaults.sources, 64);
  assert.equal(defaults.write, true);
  assert.equal(parseOptions(['--quick']).latencyReps, 1);
  assert.equal(parseOptions(['--paced-rate', '0']).pacedRate, 0);
  assert.equal(parseOptions(['--scaling', '--thread-share', '0.2']).threadShare, 0.2);
  assert.throws(() => parseOptions(['--thread-share', '2']), /--thread-share must be a number from 0.01 to 1, got 2/);
  assert.throws(() => parseOptions(['--sources', '1']), /--sources must be an integer from 2 to 250, got 1/);
  const quick = parseOptions(['--quick', '--family', '6', '--paths', 'mssmangler,c']);
  assert.equal(quick.reps, 1);
  assert.equal(quick.seconds, 1);
  assert.deepEqual(quick.families, [6]);
  assert.deepEqual(quick.paths, ['c', 'mssmangler']);
  assert.equal(parseOptions(['--quick', '--reps', '3']).reps, 3);
  assert.throws(() => parseOptions(['--family', '5']), /--family must be 4 or 6, got 5/);
  assert.throws(() => parseOptions(['--reps', '0']), /--reps must be an integer from 1 to 50/);
  assert.throws(() => parseOptions(['--paths', 'kernel,nft']), /unknown path nft/);
});
