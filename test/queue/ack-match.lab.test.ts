// Config acknowledgements are matched on sequence number AND message type: verdicts use the packet id
// as sequence number, so a late error for the verdict of packet N must not pass for the answer to
// config message N. Here the verdict of packet 2 is sent twice (LD_PRELOAD shim, fixtures/nlshim.c),
// and close() runs in the same handler call, so its config message (sequence 2, after the bind's 1)
// meets that ENOENT in the socket before its own acknowledgement.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from '../lab/lab.js';
import { parseQueueStats } from '../../src/queue/queue-stats.js';
import { buildNlShim, events, queueSyns, sleep, startConsumer, syngen } from './queue-lab.js';

const ENOENT = 2;

test('an error for the verdict of packet N is not taken for the acknowledgement of config message N', async (t) => {
  const shim = buildNlShim();
  t.after(() => shim.remove());
  const lab = await Lab.create({ tag: 'qack' });
  t.after(() => lab.destroy());
  await queueSyns(lab, 83, 24);
  const consumer = await startConsumer(lab, ['--queue', '24', '--close-at-packet', '2'], undefined, {
    LD_PRELOAD: shim.path,
    NLSHIM_DUP_VERDICTS: '1',
  });
  assert.equal(consumer.first['event'], 'ready', JSON.stringify(consumer.first));
  await syngen(lab, { family: 4, count: 1, dport: 83 });
  // Packet 2 must come in a batch of its own: wait until packet 1 had its verdict.
  for (let i = 0; i < 50; i++) {
    await sleep(50);
    const { stdout } = await lab.exec('router', 'cat', ['/proc/net/netfilter/nfnetlink_queue']);
    const q = parseQueueStats(stdout).find((s) => s.queue === 24);
    if (q && q.idSequence === 1 && q.waiting === 0) break;
  }
  await syngen(lab, { family: 4, count: 1, dport: 83, sportBase: 20000 });
  const done = await consumer.process.exited;
  assert.equal(done.code, 0, done.stderr);
  const stats = events(done.stdout).find((e) => e['event'] === 'stats')!['stats'];
  assert.equal(stats.packets, 2);
  assert.equal(stats.verdictErrors, 2, 'both duplicate verdicts were answered ENOENT and counted');
  assert.equal(stats.lastVerdictErrno, ENOENT);
});
