// Two queues in two worker_threads of one process at the same time: each worker's queue polls on its
// own event loop, each rewrites its own traffic, and both workers exit by themselves after close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, LabInterface } from '../lab/lab.js';
import { startCapture } from '../lab/capture.js';
import { queueSyns, sleep, startConsumer, stopConsumer, syngen, WORKERS } from './queue-lab.js';
import { readSyn } from './syn.js';

test('two queues in two worker_threads work at once and exit by themselves', async (t) => {
  const lab = await Lab.create({ tag: 'qwork' });
  t.after(() => lab.destroy());
  await queueSyns(lab, 83, 10);
  await queueSyns(lab, 84, 11);
  const proc = await startConsumer(lab, ['--worker', '10:83=mss:1200', '--worker', '11:84=mss:1300'], WORKERS);
  assert.equal(proc.first['event'], 'ready', JSON.stringify(proc.first));
  const threads = new Set((proc.first['workers'] as Array<{ threadId: number }>).map((w) => w.threadId));
  assert.equal(threads.size, 2, 'each queue lives in its own thread');

  const capture = await startCapture(lab, 'server', LabInterface.server, { filter: 'tcp', direction: 'in' });
  await Promise.all([
    syngen(lab, { family: 4, count: 2000, dport: 83, rate: 20000 }),
    syngen(lab, { family: 6, count: 2000, dport: 84, rate: 20000, sportBase: 30000 }),
  ]);
  await sleep(200);
  const syns = (await capture.stop()).map((p) => readSyn(p.ip)).filter((s) => s !== undefined);
  const stats = await stopConsumer(proc);

  assert.equal(syns.filter((s) => s.dport === 83 && s.mss === 1200 && s.checksumOk).length, 2000, 'queue 10 rewrote its SYNs');
  assert.equal(syns.filter((s) => s.dport === 84 && s.mss === 1300 && s.checksumOk).length, 2000, 'queue 11 rewrote its SYNs');
  const perQueue = new Map((stats['workers'] as Array<{ queue: number; stats: { packets: number } }>).map((w) => [w.queue, w.stats.packets]));
  assert.deepEqual([perQueue.get(10), perQueue.get(11)], [2000, 2000]);
  assert.deepEqual(stats['exitCodes'], [0, 0], 'both workers exited by themselves');
});
