// close() with packets in flight: the batch being handled gets its verdicts, everything still in the
// socket is accepted unchanged, the queue is unbound, and the process exits by itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, LabInterface } from '../lab/lab.js';
import { startCapture } from '../lab/capture.js';
import { events, queueSyns, sleep, startConsumer, syngen } from './queue-lab.js';
import { readSyn } from './syn.js';

test('close() from the handler answers its batch, accepts what is still in flight, unbinds, and the process exits', async (t) => {
  const lab = await Lab.create({ tag: 'qclose' });
  t.after(() => lab.destroy());
  await queueSyns(lab, 83, 13);
  const consumer = await startConsumer(lab, ['--queue', '13', '--policy', '83=mss:1200', '--pause-first', '800', '--close-in-handler']);
  assert.equal(consumer.first['event'], 'ready');
  const capture = await startCapture(lab, 'server', LabInterface.server, { filter: 'tcp', direction: 'in' });

  // The first SYN starts a batch that stalls; the next 19 wait in the socket when close() runs.
  await syngen(lab, { family: 4, count: 1, dport: 83 });
  await sleep(100);
  await syngen(lab, { family: 4, count: 19, dport: 83, sportBase: 20000 });
  const done = await consumer.process.exited;
  assert.equal(done.code, 0, `the consumer exited by itself: ${done.stderr}`);
  await sleep(100);
  const syns = (await capture.stop()).map((p) => readSyn(p.ip)).filter((s) => s && s.dport === 83);
  const stats = events(done.stdout).find((e) => e['event'] === 'stats')!;

  assert.equal(syns.length, 20, 'every SYN arrived');
  assert.equal(syns.filter((s) => s!.mss === 1200).length, 1, 'the handled batch kept its rewrite');
  assert.equal(syns.filter((s) => s!.mss === 1460).length, 19, 'the packets in flight were accepted unchanged');
  assert.equal(stats['stats'].packets, 1);
  assert.equal(stats['stats'].closeAccepted, 19);
  assert.equal(stats['after'], null, 'the queue is unbound');
});
