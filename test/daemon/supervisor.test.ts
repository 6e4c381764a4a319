// The supervisor over in-thread queue workers and fake queues: start, reload (good and bad), stop,
// a worker that dies and comes back, counters summed over two workers, and what systemd hears, in
// which order. No root, no namespaces: the native boundary is the fake in test/support/fake-queue.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sample } from '../support/exposition.js';
import { setImmediate as turn } from 'node:timers/promises';
import { buildConfig } from '../../src/config/parse.js';
import type { Config } from '../../src/config/config.js';
import type { ConfigFlags } from '../../src/config/flags.js';
import type { ConfigResult } from '../../src/config/problem.js';
import { createLogger } from '../../src/log/logger.js';
import { Supervisor, type Notifier } from '../../src/daemon/supervisor.js';
import { craftIpv4Tcp, linuxSynOptions } from '../packet/craft.js';
import { readSyn } from '../queue/syn.js';
import { LineCapture } from '../log/capture.js';
import { InThreadWorkers, ManualClock } from '../support/in-thread-workers.js';
import type { FakePacket } from '../support/fake-queue.js';

function config(flags: ConfigFlags): Config {
  const r = buildConfig(null, { metricsListen: 'off', ...flags });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
  return r.config;
}

class RecordingNotifier implements Notifier {
  readonly sent: string[] = [];
  ready(): boolean {
    this.sent.push('READY=1');
    return true;
  }
  reloading(): boolean {
    this.sent.push('RELOADING=1');
    return true;
  }
  stopping(): boolean {
    this.sent.push('STOPPING=1');
    return true;
  }
  startWatchdog(): () => void {
    return () => {};
  }
}

/** A SYN from a distinct client, MSS 1460. */
function syn(i: number): FakePacket {
  return {
    bytes: craftIpv4Tcp({ src: [10, 0, (i >> 8) & 255, i & 255], srcPort: 40000 + i, dstPort: 443, options: linuxSynOptions(1460) }),
  };
}

function mssOf(bytes: Uint8Array): number {
  const view = readSyn(bytes);
  assert.ok(view !== undefined && view.checksumOk);
  return view.mss;
}

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !ok(); i++) await turn();
  assert.ok(ok(), what);
}

async function setUp(flags: ConfigFlags, next?: () => ConfigResult<Config>) {
  const out = new LineCapture();
  const log = createLogger({ level: 'info', format: 'json', stream: out });
  const workers = new InThreadWorkers(log);
  const notifier = new RecordingNotifier();
  const clock = new ManualClock();
  const supervisor = new Supervisor(config(flags), {
    launch: workers.launch,
    notifier,
    log,
    clock,
    signals: false,
    defaultMetrics: false,
    queueProcPath: '/nonexistent',
    source: { file: null, flags: {} },
    loadConfig: async () =>
      next?.() ?? { ok: false, problems: [{ file: null, line: null, column: null, path: '', message: 'no next config' }] },
  });
  const messages = (): string[] => out.json().map((l) => String(l['message'] ?? l['msg']));
  return { supervisor, workers, notifier, clock, out, messages };
}

test('supervisor: starts one worker per queue, then says READY=1 and logs started', async () => {
  const { supervisor, workers, notifier, messages } = await setUp({ setMss: 1380, queueBalance: '4:5' });
  await supervisor.start();
  assert.deepEqual([...workers.native.queues.keys()].sort(), [4, 5]);
  assert.deepEqual(notifier.sent, ['READY=1']);
  assert.equal(supervisor.healthProblem(), undefined);
  await until('both bind lines and started', () => messages().includes('started'));
  assert.equal(messages().filter((m) => m === 'queue bound').length, 2);
  await supervisor.stop();
});

test('supervisor: every queue rewrites, and /metrics sums two workers (queue-level series per queue)', async () => {
  const { supervisor, workers } = await setUp({ setMss: 1380, queueBalance: '0:1' });
  await supervisor.start();
  const a = workers.queue(0).deliver([syn(1), syn(2), syn(3)]);
  const b = workers.queue(1).deliver([syn(4), syn(5)]);
  assert.deepEqual(
    [...a, ...b].map((v) => mssOf(v.bytes)),
    [1380, 1380, 1380, 1380, 1380],
  );
  const text = await supervisor.metrics.exposition();
  assert.equal(sample(text, 'mssmangler_packets_total', { rule: 'cli', outcome: 'modified' }), 5);
  assert.equal(sample(text, 'mssmangler_batch_packets_count', {}), 2);
  assert.equal(sample(text, 'mssmangler_queue_received_packets_total', { queue: 0 }), 3);
  assert.equal(sample(text, 'mssmangler_queue_received_packets_total', { queue: 1 }), 2);
  assert.match(text, /^mssmangler_worker_restarts_total\{queue="1"\} 0$/m, 'a restart counter per queue from the start');
  // The sum is made again into the same store: a second scrape, then one after more traffic, counts
  // each packet once.
  const summed = supervisor.packetCounters();
  assert.equal(sample(await supervisor.metrics.exposition(), 'mssmangler_packets_total', { rule: 'cli', outcome: 'modified' }), 5);
  workers.queue(1).deliver([syn(6)]);
  assert.equal(sample(await supervisor.metrics.exposition(), 'mssmangler_packets_total', { rule: 'cli', outcome: 'modified' }), 6);
  assert.equal(supervisor.packetCounters(), summed, 'one store for the sums while the rules stay');
  await supervisor.stop();
});

test('supervisor: a good reload switches every worker before READY=1 and reloaded', async () => {
  let mss = 1380;
  const { supervisor, workers, notifier, messages } = await setUp({ setMss: 1380, queueBalance: '0:1' }, () =>
    buildConfig(null, { setMss: mss, metricsListen: 'off', queueBalance: '0:1' }),
  );
  await supervisor.start();
  mss = 1200;
  await supervisor.reload();
  assert.deepEqual(notifier.sent, ['READY=1', 'RELOADING=1', 'READY=1']);
  assert.ok(messages().includes('reloaded'));
  for (const q of [0, 1]) assert.equal(mssOf(workers.queue(q).deliver([syn(q)])[0]!.bytes), 1200, `queue ${q} has the new rules`);
  const text = await supervisor.metrics.exposition();
  assert.equal(sample(text, 'mssmangler_packets_total', { rule: 'cli', outcome: 'modified' }), 2);
  assert.equal(sample(text, 'mssmangler_config_reloads_total', { result: 'success' }), 1);
  await supervisor.stop();
});

test('supervisor: after a reload that renames the rule, /metrics sums under the new name', async () => {
  const { supervisor, workers } = await setUp({ setMss: 1380, queueBalance: '0:1' }, () =>
    buildConfig(
      { text: 'rules:\n  - name: vpn\n    action: set\n    mss: 1300\n', name: 'next.yaml' },
      { metricsListen: 'off', queueBalance: '0:1' },
    ),
  );
  await supervisor.start();
  workers.queue(0).deliver([syn(1)]);
  assert.equal(sample(await supervisor.metrics.exposition(), 'mssmangler_packets_total', { rule: 'cli', outcome: 'modified' }), 1);
  const before = supervisor.packetCounters();
  await supervisor.reload();
  workers.queue(1).deliver([syn(2), syn(3)]);
  const text = await supervisor.metrics.exposition();
  assert.equal(sample(text, 'mssmangler_packets_total', { rule: 'vpn', outcome: 'modified' }), 2);
  assert.doesNotMatch(text, /rule="cli"/, 'the old rule is gone from the sums');
  assert.notEqual(supervisor.packetCounters(), before, 'a new store for the new rule list');
  await supervisor.stop();
});

test('supervisor: a bad reload changes nothing anywhere and still answers READY=1', async () => {
  const { supervisor, workers, notifier, messages } = await setUp({ setMss: 1380, queueBalance: '0:1' }, () =>
    buildConfig({ text: 'rules: 7\n', name: 'bad.yaml' }, {}),
  );
  await supervisor.start();
  await supervisor.reload();
  assert.deepEqual(notifier.sent, ['READY=1', 'RELOADING=1', 'READY=1']);
  assert.ok(messages().includes('reload rejected, the previous configuration stays in force'));
  assert.ok(!messages().includes('reloaded'));
  for (const q of [0, 1]) assert.equal(mssOf(workers.queue(q).deliver([syn(q)])[0]!.bytes), 1380, `queue ${q} keeps the old rules`);
  assert.equal(workers.links.length, 2, 'no worker restarted');
  const text = await supervisor.metrics.exposition();
  assert.equal(sample(text, 'mssmangler_config_reloads_total', { result: 'failure' }), 1);
  await supervisor.stop();
});

test('supervisor: stop says STOPPING=1, closes every queue and logs stopped with the packets', async () => {
  const { supervisor, workers, notifier, messages } = await setUp({ setMss: 1380, queueBalance: '0:1' });
  await supervisor.start();
  workers.queue(0).deliver([syn(1)]);
  workers.queue(1).deliver([syn(2), syn(3)]);
  await supervisor.stop('SIGTERM');
  await supervisor.stopped;
  assert.equal(workers.native.queues.size, 0, 'every queue closed');
  assert.deepEqual(notifier.sent, ['READY=1', 'STOPPING=1']);
  await until('stopped logged', () => messages().includes('stopped'));
  const m = messages();
  assert.ok(m.indexOf('stopping') < m.indexOf('stopped'));
});

test('supervisor: a worker that dies is logged, counted and restarted; health is degraded meanwhile; counts carry on', async () => {
  const { supervisor, workers, clock, messages } = await setUp({ setMss: 1380, queueBalance: '0:1' });
  await supervisor.start();
  workers.queue(1).deliver([syn(1), syn(2)]);
  workers.link(1).crash(new Error('boom'));
  await until('the death noticed', () => supervisor.healthProblem() !== undefined);
  assert.match(supervisor.healthProblem()!, /queue 1 has no reader/);
  assert.ok(messages().includes('queue worker died; restarting it'));
  assert.ok(messages().includes('queue worker failed'));
  assert.equal(clock.pending, 1, 'a restart is scheduled');
  clock.advance(1000);
  await until('restarted', () => supervisor.healthProblem() === undefined);
  assert.equal(workers.links.length, 3, 'one new worker');
  assert.ok(messages().includes('queue worker restarted'));
  workers.queue(1).deliver([syn(3)]);
  const text = await supervisor.metrics.exposition();
  assert.equal(sample(text, 'mssmangler_worker_restarts_total', { queue: 1 }), 1);
  assert.equal(sample(text, 'mssmangler_worker_restarts_total', { queue: 0 }), 0);
  assert.equal(
    sample(text, 'mssmangler_packets_total', { rule: 'cli', outcome: 'modified' }),
    3,
    'the shared counters survive the restart',
  );
  await supervisor.stop();
});

test('supervisor: a queue that cannot be bound fails the start and leaves no queue bound', async () => {
  const { supervisor, workers, notifier } = await setUp({ setMss: 1380, queueBalance: '0:1' });
  workers.native.busy.add(1);
  await assert.rejects(supervisor.start(), (err: Error & { code?: string }) => err.code === 'ERR_QUEUE_BUSY');
  assert.equal(workers.native.queues.size, 0, 'queue 0 closed again');
  assert.deepEqual(notifier.sent, ['STOPPING=1'], 'never READY');
});

test('supervisor: a SIGTERM while starting stops it once start is done: the firewall rules come out, no READY=1', async () => {
  const out = new LineCapture();
  const log = createLogger({ level: 'info', format: 'json', stream: out });
  const workers = new InThreadWorkers(log);
  const notifier = new RecordingNotifier();
  const firewall: string[] = [];
  const supervisor = new Supervisor(config({ setMss: 1380 }), {
    launch: workers.launch,
    notifier,
    log,
    clock: new ManualClock(),
    defaultMetrics: false,
    queueProcPath: '/nonexistent',
    firewall: () => ({
      // systemctl stop while the rules go in (the unit is still activating): Node's default action for
      // SIGTERM would end the process here and leave them.
      start: async () => {
        firewall.push('start');
        process.emit('SIGTERM', 'SIGTERM');
      },
      reload: async () => undefined,
      stop: async () => {
        firewall.push('stop');
      },
    }),
  });
  const listeners = process.listenerCount('SIGTERM');
  let stopped = false;
  void supervisor.stopped.then(() => (stopped = true));
  await supervisor.start();
  await until('stopped after start', () => stopped);
  assert.deepEqual(firewall, ['start', 'stop'], 'the rules that went in came out');
  assert.deepEqual(notifier.sent, ['STOPPING=1'], 'systemd never heard READY=1');
  assert.equal(workers.native.queues.size, 0, 'every queue closed');
  assert.equal(process.listenerCount('SIGTERM'), listeners, 'no signal handler left behind');
});
