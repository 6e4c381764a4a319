// The benchmark's CPU per packet sums every thread's run time from /proc/PID/task/*/schedstat: a busy
// worker thread must show up under its own thread id, apart from the main thread (the pid).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { sum, threadCpuDelta, threadCpuNs } from '../../bench/rig.js';

test('threadCpuNs sees a busy worker thread apart from the main thread', async () => {
  const worker = new Worker('const end = Date.now() + 400; while (Date.now() < end); setTimeout(() => {}, 300);', { eval: true });
  await new Promise((resolve) => worker.once('online', resolve));
  const start = threadCpuNs(process.pid);
  assert.ok(start.has(process.pid), 'the main thread is listed under the pid');
  await new Promise((resolve) => setTimeout(resolve, 350));
  const busy = threadCpuDelta(start, threadCpuNs(process.pid));
  await worker.terminate();
  const main = busy.get(process.pid) ?? 0;
  const others = [...busy].filter(([tid]) => tid !== process.pid).map(([, s]) => s);
  assert.ok(Math.max(...others) > 0.1, `a thread other than the main one ran for ${Math.max(...others)} s`);
  assert.ok(main < Math.max(...others), `the main thread (${main} s) idled while the worker spun`);
  assert.ok(sum(busy.values()) >= main + Math.max(...others));
});
