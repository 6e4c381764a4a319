import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseQueueStats, readQueueStats } from '../../src/queue/queue-stats.js';

// Lines as the kernel's seq_show prints them: "%5u %6u %5u %1u %5u %5u %5u %8u %2d\n".
const fixture = '    0   4242     3 2 65535     7     2    10234  1\n' + '  100 3221225472     0 2   128     0     0 4294967295  1\n';

test('parses a line of /proc/net/netfilter/nfnetlink_queue into named fields', () => {
  const [q0, q100] = parseQueueStats(fixture);
  assert.deepEqual(q0, {
    queue: 0,
    peerPortId: 4242,
    waiting: 3,
    copyMode: 2,
    copyRange: 65535,
    droppedQueueFull: 7,
    droppedByUser: 2,
    idSequence: 10234,
  });
  assert.equal(q100!.queue, 100);
  assert.equal(q100!.peerPortId, 3221225472);
  assert.equal(q100!.idSequence, 4294967295);
});

test('a negative value from an old kernel (%d) reads back as the unsigned counter', () => {
  const [q] = parseQueueStats('    1  -1000     0 2 65535    -1     0       -2  1\n');
  assert.equal(q!.peerPortId, 2 ** 32 - 1000);
  assert.equal(q!.droppedQueueFull, 2 ** 32 - 1);
  assert.equal(q!.idSequence, 2 ** 32 - 2);
});

test('blank, short, long and non-numeric lines are skipped', () => {
  const text = '\n  0 1 2\n  0 1 2 3 4 5 6 7 8 9\n  0 1 2 x 4 5 6 7 1\n    5   99     0 2 65535     0     0        1  1\n';
  const stats = parseQueueStats(text);
  assert.equal(stats.length, 1);
  assert.equal(stats[0]!.queue, 5);
});

test('readQueueStats finds the queue by number, or undefined when absent or unreadable', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mssmangler-queue-stats-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'nfnetlink_queue');
  writeFileSync(path, fixture);
  assert.equal((await readQueueStats(100, path))?.queue, 100);
  assert.equal(await readQueueStats(7, path), undefined);
  assert.equal(await readQueueStats(0, join(dir, 'missing')), undefined);
});
