// A full queue under a burst, through the real daemon: `mssmangler rules --apply` (NFQUEUE with
// --queue-bypass) and `mssmangler run --queue-maxlen 1`, 20,000 SYNs from syngen as fast as it goes.
// With fail-open (the default) the overflow passes unmodified and nothing is lost: what the kernel let
// into the queue (id_sequence, on /metrics) was rewritten, the rest (the firewall rule's counter minus
// id_sequence) reached the server with its original MSS; the kernel's queue-full counter stays 0,
// because the kernel does not count fail-open passes. With --no-fail-open the overflow is dropped and
// /metrics shows the kernel's queue-full drops. The daemon reports the fail-open passes itself, from
// its firewall rules' counters (mssmangler_queue_bypassed_packets_total). Either way, once the burst is
// over new SYNs are clamped again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, LabAddress } from '../lab/lab.js';
import { countServerSyns, sleep, syngen, SYNGEN } from '../queue/queue-lab.js';
import { kernelQueue, queueRulePackets } from './daemon-lab.js';
import { applyRules, sample, scrape, startDaemon } from '../lab/daemon.js';

const BURST = 20_000;

for (const failOpen of [true, false]) {
  test(`daemon, queue full under a burst (maxlen 1): ${failOpen ? 'fail-open passes the overflow unmodified' : '--no-fail-open drops it, counted'}; clamping resumes`, async (t) => {
    const lab = await Lab.create({ tag: failOpen ? 'rfo' : 'rfc' });
    t.after(() => lab.destroy());
    const queue = failOpen ? 31 : 32;
    await applyRules(lab, ['--queue', String(queue), '--set-mss', '1380', '--direction', 'syn', '--family', '4']);
    const counts = await countServerSyns(lab, [
      { family: 4, dport: 80, mss: 1380 },
      { family: 4, dport: 80, mss: 1460 },
    ]);
    await startDaemon(lab, [
      '--queue',
      String(queue),
      '--set-mss',
      '1380',
      '--direction',
      'syn',
      '--queue-maxlen',
      '1',
      ...(failOpen ? [] : ['--no-fail-open']),
    ]);

    const { sent } = await syngen(lab, { family: 4, count: BURST, dport: 80 });
    assert.equal(sent, BURST);
    await sleep(500);
    const [modified, unmodified] = await counts();
    const offered = await queueRulePackets(lab);
    const kernel = await kernelQueue(lab, queue);
    const metrics = await scrape(lab);
    assert.ok(kernel);
    assert.equal(offered, BURST, 'the firewall offered every SYN to the queue');
    const entered = sample(metrics, 'mssmangler_queue_id_sequence');
    assert.equal(entered, kernel.idSequence, '/metrics shows the kernel id sequence');
    assert.equal(
      sample(metrics, 'mssmangler_packets_total', { outcome: 'modified' }),
      modified,
      'the daemon counted what the server saw rewritten',
    );
    assert.equal(modified, entered, 'every SYN that entered the queue was rewritten');
    assert.ok(modified > 0 && modified < BURST, `some SYNs were queued and rewritten (${modified})`);
    const fullDrops = sample(metrics, 'mssmangler_queue_full_dropped_packets_total');
    const userDrops = sample(metrics, 'mssmangler_queue_user_dropped_packets_total');
    assert.equal(fullDrops, kernel.droppedQueueFull, '/metrics shows the kernel queue-full counter');
    if (failOpen) {
      assert.equal(unmodified, BURST - modified, 'the overflow reached the server unmodified: nothing lost');
      assert.equal(offered - entered, unmodified, 'fail-open passes = offered to the queue - id_sequence');
      assert.equal(fullDrops, 0, 'the kernel counts no drop with fail-open');
      assert.equal(
        sample(metrics, 'mssmangler_firewall_queued_packets_total', { queue: `${queue}`, family: 'ipv4' }),
        BURST,
        '/metrics shows what the firewall rules sent towards the queue',
      );
      assert.equal(
        sample(metrics, 'mssmangler_queue_bypassed_packets_total', { queue: `${queue}` }),
        unmodified,
        '/metrics counts the fail-open passes: the SYNs that reached the server unmodified',
      );
    } else {
      assert.equal(unmodified, 0, 'nothing passed unmodified');
      assert.ok(fullDrops > 0, 'the kernel dropped at a full queue');
      assert.equal(modified + fullDrops + userDrops, BURST, 'rewritten + counted drops = sent');
      assert.equal(sample(metrics, 'mssmangler_queue_bypassed_packets_total', { queue: `${queue}` }), 0, 'nothing bypassed the daemon');
    }
    const bypassed = sample(metrics, 'mssmangler_queue_bypassed_packets_total');
    console.log(JSON.stringify({ queueFull: { failOpen, sent: BURST, modified, unmodified, fullDrops, userDrops, bypassed } }));

    // Load has fallen: SYNs one at a time (each waits for the previous one to arrive: with maxlen 1 on
    // a busy box, two close together could still meet a full queue) are all clamped again.
    for (let i = 0; i < 10; i++) {
      const [m0, u0] = await counts();
      await lab.exec('client', SYNGEN, [
        '--src',
        LabAddress.client4,
        '--dst',
        LabAddress.server4,
        '--dport',
        '80',
        '--count',
        '1',
        '--sport-base',
        String(60000 + i),
      ]);
      for (let wait = 0; wait < 40; wait++) {
        const [m1, u1] = await counts();
        if (m1 + u1 > m0 + u0) break;
        await sleep(50);
      }
    }
    const [modifiedAfter, unmodifiedAfter] = await counts();
    assert.equal(modifiedAfter - modified, 10, 'after the burst every SYN is clamped');
    assert.equal(unmodifiedAfter, unmodified);
  });
}
