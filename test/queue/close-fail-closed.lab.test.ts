// close() with failOpen off: between "queue length 0" and the unbind, packets must not be dropped by
// the full queue ("nf_queue: full at 0 entries"); close() turns fail-open on in the same message, so
// they pass unchanged. An LD_PRELOAD shim (fixtures/nlshim.c) holds the unbind back for 1.5 s to make
// that window wide enough to hit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from '../lab/lab.js';
import { buildNlShim, countServerSyns, queueSyns, sleep, startConsumer, syngen } from './queue-lab.js';

test('close() with failOpen off lets packets that arrive while it closes through unchanged', async (t) => {
  const shim = buildNlShim();
  t.after(() => shim.remove());
  const lab = await Lab.create({ tag: 'qclfc' });
  t.after(() => lab.destroy());
  await queueSyns(lab, 83, 23);
  const counted = await countServerSyns(lab, [{ family: 4, dport: 83, mss: 1460 }]);
  const consumer = await startConsumer(lab, ['--queue', '23', '--no-fail-open'], undefined, {
    LD_PRELOAD: shim.path,
    NLSHIM_UNBIND_DELAY_MS: '1500',
  });
  assert.equal(consumer.first['event'], 'ready', JSON.stringify(consumer.first));
  await syngen(lab, { family: 4, count: 2, dport: 83, mss: 1460 });
  await sleep(200);

  const stopped = consumer.process.stop('SIGTERM', 6000);
  await sleep(500); // close() is now waiting to unbind
  await syngen(lab, { family: 4, count: 10, dport: 83, mss: 1460, sportBase: 20000 });
  const done = await stopped;
  assert.equal(done.code, 0, done.stderr);
  assert.deepEqual(await counted(), [12], 'the 2 handled SYNs and the 10 sent during close() arrived');
});
