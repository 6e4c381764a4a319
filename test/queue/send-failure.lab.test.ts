// A verdict sendmsg that fails must not leave its packets queued in the kernel until close(): the
// addon retries once when the socket is writable, and if that fails too, the next sendmsg starts with
// a VERDICT_BATCH accept up to the highest id of the failed one. An LD_PRELOAD shim (fixtures/nlshim.c)
// makes the netlink sendto calls after the bind fail with ENOBUFS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from '../lab/lab.js';
import { parseQueueStats } from '../../src/queue/queue-stats.js';
import { buildNlShim, countServerSyns, queueSyns, sleep, startConsumer, stopConsumer, syngen } from './queue-lab.js';

async function waiting(lab: Lab, queue: number): Promise<number | undefined> {
  const { stdout } = await lab.exec('router', 'cat', ['/proc/net/netfilter/nfnetlink_queue']);
  return parseQueueStats(stdout).find((s) => s.queue === queue)?.waiting;
}

// sendto #1 is the bind; #2 on are verdicts. SendAll itself tries 4 times per send.
const cases = [
  { name: 'a send that fails 5 times is retried and the packet goes out modified', tag: 'qsendr', fails: 5, firstMss: 1200, sendErrors: 0 },
  {
    name: 'a send that keeps failing is released by the next sendmsg (accept up to its highest id)',
    tag: 'qsendf',
    fails: 8,
    firstMss: 1460,
    sendErrors: 1,
  },
] as const;

for (const c of cases) {
  test(c.name, async (t) => {
    const shim = buildNlShim();
    t.after(() => shim.remove());
    const lab = await Lab.create({ tag: c.tag });
    t.after(() => lab.destroy());
    await queueSyns(lab, 83, 22);
    const counted = await countServerSyns(lab, [
      { family: 4, dport: 83, mss: 1460 },
      { family: 4, dport: 83, mss: 1200 },
    ]);
    const consumer = await startConsumer(lab, ['--queue', '22', '--policy', '83=mss:1200'], undefined, {
      LD_PRELOAD: shim.path,
      NLSHIM_FAIL_FROM: '2',
      NLSHIM_FAIL_COUNT: String(c.fails),
    });
    assert.equal(consumer.first['event'], 'ready', JSON.stringify(consumer.first));

    await syngen(lab, { family: 4, count: 1, dport: 83, mss: 1460 });
    await sleep(500); // the consumer handles it (sub-millisecond work; margin for a loaded machine)
    if (c.fails === 5) {
      assert.equal(await waiting(lab, 22), 0, 'the retry released the packet');
    } else {
      // The packet is still queued; the next batch's sendmsg must release it first.
      await syngen(lab, { family: 4, count: 1, dport: 83, mss: 1460, sportBase: 20000 });
      await sleep(300);
      assert.equal(await waiting(lab, 22), 0, 'nothing left waiting in the kernel queue (no close needed)');
    }
    const stats = (await stopConsumer(consumer))['stats'];
    const [unchanged, modified] = await counted();
    if (c.fails === 5) assert.deepEqual([unchanged, modified], [0, 1], 'the SYN arrived, rewritten');
    else assert.deepEqual([unchanged, modified], [1, 1], 'the first SYN arrived unchanged, the second rewritten');
    assert.equal(stats.sendErrors, c.sendErrors);
    assert.equal(stats.verdictErrors, 0);
  });
}
