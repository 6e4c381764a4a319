// A full queue: with fail-open (the default) packets beyond maxLen pass unchanged and the kernel's line
// shows the queue full; with fail-open off they are dropped and the kernel counts them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, LabInterface } from '../lab/lab.js';
import { startCapture } from '../lab/capture.js';
import { events, queueSyns, sleep, startConsumer, stopConsumer, syngen } from './queue-lab.js';
import { readSyn } from './syn.js';
import { parseQueueStats } from '../../src/queue/queue-stats.js';

const MAX_LEN = 8;
const SENT = 100;

async function kernelLine(lab: Lab, queue: number) {
  const { stdout } = await lab.exec('router', 'cat', ['/proc/net/netfilter/nfnetlink_queue']);
  return parseQueueStats(stdout).find((s) => s.queue === queue);
}

for (const failOpen of [true, false]) {
  test(`a full queue (maxLen ${MAX_LEN}, handler stuck) ${failOpen ? 'lets the rest through unchanged (fail-open)' : 'drops the rest (fail-open off)'}`, async (t) => {
    const lab = await Lab.create({ tag: failOpen ? 'qfo' : 'qfc' });
    t.after(() => lab.destroy());
    await queueSyns(lab, 83, 4);
    const args = ['--queue', '4', '--policy', '83=mss:1200', '--max-len', String(MAX_LEN), '--pause-first', '1500'];
    if (!failOpen) args.push('--no-fail-open');
    const consumer = await startConsumer(lab, args);
    assert.equal(consumer.first['event'], 'ready');
    const capture = await startCapture(lab, 'server', LabInterface.server, { filter: 'tcp', direction: 'in' });

    // The first SYN wakes the handler, which then blocks for 1.5 s while the rest arrive.
    await syngen(lab, { family: 4, count: 1, dport: 83 });
    await sleep(100);
    await syngen(lab, { family: 4, count: SENT - 1, dport: 83, sportBase: 20000 });
    await sleep(200);
    const during = await kernelLine(lab, 4);
    assert.ok(during, 'the queue is bound');
    assert.equal(during.waiting, MAX_LEN, 'the kernel queue is full while the handler is stuck');
    assert.equal(during.idSequence, MAX_LEN, 'only maxLen packets entered the queue');
    assert.equal(during.droppedQueueFull, failOpen ? 0 : SENT - MAX_LEN, 'the kernel counts drops only without fail-open');

    await sleep(1600); // the handler resumes and answers the queued packets
    const syns = (await capture.stop()).map((p) => readSyn(p.ip)).filter((s) => s && s.dport === 83);
    const stats = await stopConsumer(consumer);
    const unchanged = syns.filter((s) => s!.mss === 1460).length;
    const modified = syns.filter((s) => s!.mss === 1200 && s!.checksumOk).length;
    assert.equal(modified, MAX_LEN, 'the queued packets were modified');
    assert.equal(unchanged, failOpen ? SENT - MAX_LEN : 0, failOpen ? 'the overflow passed unchanged' : 'the overflow was dropped');
    assert.equal(stats['stats'].packets, MAX_LEN);
    assert.equal(stats['kernel'].waiting, 0);
    assert.equal(events(consumer.process.stdout).filter((e) => e['event'] === 'error').length, 0);
  });
}
