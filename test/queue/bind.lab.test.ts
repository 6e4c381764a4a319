// Bind failures become errors with stable codes and plain words: a queue another process holds, and a
// process without CAP_NET_ADMIN. Also: close and bind again in one process, with traffic both times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from '../lab/lab.js';
import { CONSUMER, events, queueSyns, sleep, startConsumer, stopConsumer, syngen } from './queue-lab.js';

test('binding a queue another process holds fails with NFQ_ERR_QUEUE_BUSY; without CAP_NET_ADMIN with NFQ_ERR_PERMISSION', async (t) => {
  const lab = await Lab.create({ tag: 'qbind' });
  t.after(() => lab.destroy());
  const holder = await startConsumer(lab, ['--queue', '7']);
  assert.equal(holder.first['event'], 'ready');

  const second = await startConsumer(lab, ['--queue', '7']);
  assert.equal(second.first['event'], 'error');
  assert.equal(second.first['code'], 'NFQ_ERR_QUEUE_BUSY');
  assert.match(String(second.first['message']), /already bound by another/);
  assert.match(String(second.first['message']), new RegExp(`held by netlink port ${String(holder.first['portId'])}`));
  assert.equal((await second.process.exited).code, 2);

  // Same namespace, a free queue number, but the capability dropped from every set.
  const noCap = lab.spawn('router', 'capsh', ['--drop=cap_net_admin', '--', '-c', `exec ${process.execPath} ${CONSUMER} --queue 8`]);
  await noCap.waitFor(/"event":"(ready|error)"/, 10000);
  const [ev] = events(noCap.stdout);
  assert.equal(ev!['code'], 'NFQ_ERR_PERMISSION', JSON.stringify(ev));
  assert.match(String(ev!['message']), /CAP_NET_ADMIN/);

  await stopConsumer(holder);
});

test('close and bind again in one process: packets flow before and after, nothing is left pending', async (t) => {
  const lab = await Lab.create({ tag: 'qrebind' });
  t.after(() => lab.destroy());
  await queueSyns(lab, 83, 9);
  const consumer = await startConsumer(lab, ['--queue', '9', '--policy', '83=mss:1200', '--rebind-on-sigusr2']);
  assert.equal(consumer.first['event'], 'ready');

  await syngen(lab, { family: 4, count: 50, dport: 83 });
  await sleep(100);
  consumer.process.child.kill('SIGUSR2');
  await consumer.process.waitFor(/"event":"rebound"/);
  const rebound = events(consumer.process.stdout).find((e) => e['event'] === 'rebound')!;
  assert.equal(rebound['before'].packets, 50, 'the first binding saw the first 50 SYNs');

  await syngen(lab, { family: 6, count: 50, dport: 83 });
  await sleep(100);
  const stats = await stopConsumer(consumer);
  assert.equal(stats['stats'].packets, 50, 'the second binding saw the next 50');
  assert.equal(stats['stats'].modified, 50);
  assert.equal(stats['kernel'].waiting, 0);
});
