// The kernel's /proc/net/netfilter/nfnetlink_queue lines, in the format seq_show() prints them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseKernelQueueStats, readKernelQueueStats } from '../../src/queue/kernel-queue-stats.js';

const TEXT = [
  '    0  11617     0 2 65531     0     0        3  1',
  '   12 3092263312  4096 2 65531    17     2 4294967295  1',
  'garbage line',
  '',
].join('\n');

test('parses every queue line and skips anything else', () => {
  assert.deepEqual(parseKernelQueueStats(TEXT), [
    { queue: 0, portId: 11617, waiting: 0, copyMode: 2, copyRange: 65531, queueDropped: 0, userDropped: 0, idSequence: 3 },
    { queue: 12, portId: 3092263312, waiting: 4096, copyMode: 2, copyRange: 65531, queueDropped: 17, userDropped: 2, idSequence: 4294967295 },
  ]);
  assert.deepEqual(parseKernelQueueStats(''), []);
});

test('reads the line of one queue; undefined for an unbound queue or no file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mm-kqs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'nfnetlink_queue');
  writeFileSync(file, TEXT);
  assert.equal(readKernelQueueStats(12, file)?.waiting, 4096);
  assert.equal(readKernelQueueStats(5, file), undefined);
  assert.equal(readKernelQueueStats(0, join(dir, 'missing')), undefined);
});
