// The supervisor with real worker_threads, each loading the fake native module instead of the addon:
// the thread entry, structured cloning of the configuration, shared counters across threads, a
// terminated thread restarted within a second, and every thread gone after stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildConfig } from '../../src/config/parse.js';
import { createLogger } from '../../src/log/logger.js';
import { Supervisor } from '../../src/daemon/supervisor.js';
import { threadLauncher, WORKER_YOUNG_GENERATION_MB, type WorkerLink } from '../../src/daemon/worker-link.js';
import type { Worker } from 'node:worker_threads';
import { LineCapture } from '../log/capture.js';

const FAKE_NATIVE = new URL('../support/fake-native-module.js', import.meta.url).href;

test('worker threads: start, reload, a terminated thread restarted within a second, stop ends every thread', async () => {
  const r = buildConfig(null, { setMss: 1380, queueBalance: '7:8', metricsListen: 'off' });
  assert.ok(r.ok);
  const out = new LineCapture();
  const log = createLogger({ level: 'info', format: 'json', stream: out });
  const launched: WorkerLink[] = [];
  const launchedAt: number[] = [];
  const exits: number[] = [];
  const launch = threadLauncher(FAKE_NATIVE);
  const supervisor = new Supervisor(r.config, {
    launch: (init) => {
      const link = launch(init);
      link.on('exit', (code) => exits.push(code));
      launched.push(link);
      launchedAt.push(Date.now());
      return link;
    },
    notifier: { ready: () => true, reloading: () => true, stopping: () => true, startWatchdog: () => () => {} },
    log,
    signals: false,
    defaultMetrics: false,
    queueProcPath: '/nonexistent',
    source: { file: null, flags: { setMss: 1200, queueBalance: '7:8', metricsListen: 'off' } },
  });
  await supervisor.start();
  assert.equal(launched.length, 2);
  // A small nursery keeps a queue worker's RSS flat (worker-link.ts).
  assert.equal((launched[0] as unknown as Worker).resourceLimits?.maxYoungGenerationSizeMb, WORKER_YOUNG_GENERATION_MB);
  assert.equal(supervisor.healthProblem(), undefined);

  await supervisor.reload();
  const messages = (): string[] => out.json().map((l) => String(l['msg']));
  assert.ok(messages().includes('reloaded'), messages().join(', '));

  const started = Date.now();
  await launched[1]!.terminate();
  // Thread start-up takes long on a loaded machine: the promise is a new thread within a second.
  while (launched.length < 3 && Date.now() - started < 5000) await sleep(5);
  assert.equal(launched.length, 3, 'one new worker');
  assert.ok(launchedAt[2]! - started < 1000, `new thread started ${launchedAt[2]! - started} ms after the death`);
  while (supervisor.healthProblem() !== undefined && Date.now() - started < 20_000) await sleep(10);
  assert.equal(supervisor.healthProblem(), undefined, 'the new worker bound the queue');
  const text = await supervisor.metrics.exposition();
  assert.match(text, /mssmangler_worker_restarts_total\{queue="8"\} 1/);

  await supervisor.stop();
  const stopped = Date.now();
  while (exits.length < 3 && Date.now() - stopped < 5000) await sleep(5);
  assert.deepEqual(exits.slice(1).sort(), [0, 0], 'both live threads ended by themselves after stop');
});
