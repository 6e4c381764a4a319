// Two queues in two worker_threads of one process at the same time: each worker's queue polls on its
// own event loop, each rewrites its own traffic, and both workers exit by themselves after close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from '../lab/lab.js';
import { countServerSyns, events, queueSyns, sleep, startConsumer, stopConsumer, syngen, WORKERS } from './queue-lab.js';

test('two queues in two worker_threads work at once and exit by themselves', async (t) => {
  const lab = await Lab.create({ tag: 'qwork' });
  t.after(() => lab.destroy());
  await queueSyns(lab, 83, 10);
  await queueSyns(lab, 84, 11);
  const proc = await startConsumer(lab, ['--worker', '10:83=mss:1200', '--worker', '11:84=mss:1300'], WORKERS);
  assert.equal(proc.first['event'], 'ready', JSON.stringify(proc.first));
  const threads = new Set((proc.first['workers'] as Array<{ threadId: number }>).map((w) => w.threadId));
  assert.equal(threads.size, 2, 'each queue lives in its own thread');

  const counted = await countServerSyns(lab, [
    { family: 4, dport: 83, mss: 1200 },
    { family: 6, dport: 84, mss: 1300 },
  ]);
  await Promise.all([
    syngen(lab, { family: 4, count: 2000, dport: 83, rate: 10000 }),
    syngen(lab, { family: 6, count: 2000, dport: 84, rate: 10000, sportBase: 30000 }),
  ]);
  await sleep(300);
  const stats = await stopConsumer(proc);

  assert.deepEqual(await counted(), [2000, 2000], 'each queue rewrote all of its SYNs (server counters)');
  const perQueue = new Map(
    (stats['workers'] as Array<{ queue: number; stats: { packets: number } }>).map((w) => [w.queue, w.stats.packets]),
  );
  assert.deepEqual([perQueue.get(10), perQueue.get(11)], [2000, 2000]);
  assert.deepEqual(stats['exitCodes'], [0, 0], 'both workers exited by themselves');
});

test('a worker terminated with its queue open, in the middle of a flood, releases the queue (environment cleanup hook)', async (t) => {
  const lab = await Lab.create({ tag: 'qterm' });
  t.after(() => lab.destroy());
  await queueSyns(lab, 83, 14);
  // Terminating while batches are being handled: calls into JavaScript fail and must not be fatal.
  const flood = syngen(lab, { family: 4, count: 100_000, dport: 83, rate: 50_000 });
  await sleep(100);
  const proc = lab.spawn('router', process.execPath, [WORKERS, '--terminate', '14']);
  const done = await proc.exited;
  await flood;
  assert.equal(done.code, 0, done.stderr);
  const ev = events(done.stdout).find((e) => e['event'] === 'terminated');
  assert.ok(ev, done.stdout);
  assert.equal(ev['rebind'], 'ok', 'the main thread could bind the queue the terminated worker held');
});
