// A handler that throws, with no onError given: the batch is accepted unchanged first, then the error
// surfaces as an uncaught exception (here caught by a process 'uncaughtException' listener), and the
// queue keeps working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from '../lab/lab.js';
import { countServerSyns, events, queueSyns, sleep, startConsumer, stopConsumer, syngen } from './queue-lab.js';

test('without onError a throwing handler is an uncaught exception, after its batch was accepted unchanged', async (t) => {
  const lab = await Lab.create({ tag: 'qthrow' });
  t.after(() => lab.destroy());
  await queueSyns(lab, '83:84', 18);
  const counted = await countServerSyns(lab, [
    { family: 4, dport: 84, mss: 1460 },
    { family: 4, dport: 83, mss: 1200 },
  ]);
  const consumer = await startConsumer(lab, ['--queue', '18', '--policy', '83=mss:1200,84=throw', '--no-on-error']);
  assert.equal(consumer.first['event'], 'ready');

  await syngen(lab, { family: 4, count: 1, dport: 84 });
  await sleep(200);
  await syngen(lab, { family: 4, count: 3, dport: 83 });
  await sleep(200);
  const stats = await stopConsumer(consumer);
  const uncaught = events(consumer.process.stdout).filter((e) => e['event'] === 'uncaught');
  assert.deepEqual(
    uncaught.map((e) => e['message']),
    ['test handler failure'],
  );
  assert.deepEqual(await counted(), [1, 3], 'the thrown-on SYN passed unchanged; later SYNs were rewritten');
  assert.equal(stats['stats'].callbackErrors, 1);
});
