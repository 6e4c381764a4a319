// A verdict the kernel cannot apply is counted, not fatal: when an interface goes down, the kernel
// drops the queued packets that use it (nfqnl_dev_drop), and our verdicts for them come back as
// ENOENT. The queue keeps working afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, LabInterface } from '../lab/lab.js';
import { countServerSyns, queueSyns, sleep, startConsumer, stopConsumer, syngen } from './queue-lab.js';

const ENOENT = 2;

test('verdicts for packets the kernel already dropped (interface down) are counted as ENOENT; the queue goes on', async (t) => {
  const lab = await Lab.create({ tag: 'qenoent' });
  t.after(() => lab.destroy());
  await queueSyns(lab, 83, 16);
  const counted = await countServerSyns(lab, [{ family: 4, dport: 83, mss: 1200 }]);
  const consumer = await startConsumer(lab, ['--queue', '16', '--policy', '83=mss:1200', '--pause-first', '800']);
  assert.equal(consumer.first['event'], 'ready');

  // One SYN stalls the handler; ten more wait in the kernel queue; then their output interface goes down.
  await syngen(lab, { family: 4, count: 1, dport: 83 });
  await sleep(100);
  await syngen(lab, { family: 4, count: 10, dport: 83, sportBase: 20000 });
  await lab.exec('router', 'ip', ['link', 'set', LabInterface.routerToServer, 'down']);
  await sleep(1000);
  await lab.exec('router', 'ip', ['link', 'set', LabInterface.routerToServer, 'up']);
  await sleep(200);

  await syngen(lab, { family: 4, count: 5, dport: 83, sportBase: 30000 });
  await sleep(300);
  const stats = (await stopConsumer(consumer))['stats'];
  assert.equal(stats.verdictErrors, 11, 'every verdict for a flushed packet was answered with an error');
  assert.equal(stats.lastVerdictErrno, ENOENT);
  assert.equal(stats.packets, 16);
  assert.deepEqual(await counted(), [5], 'the SYNs sent after the interface came back up were rewritten and delivered');
});
