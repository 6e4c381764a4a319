// The real daemon with --queue-balance 0:1 in the router: iptables spreads flows over two queues by a
// hash of the addresses, so the client connects from many source addresses. Both queues must carry
// packets (per-queue metrics), every connection must arrive clamped at the server (capture), and
// /metrics must count each handshake segment exactly once across the two workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, LabInterface } from '../lab/lab.js';
import { startCapture } from '../lab/capture.js';
import { Peers, flowKey, handshakes } from './daemon-lab.js';
import { applyRules, sample, scrape, startDaemon } from '../lab/daemon.js';

/** Source addresses in the client's /24 (the router reaches them on its client side). */
const SOURCES = Array.from({ length: 32 }, (_, i) => `198.51.100.${100 + i}`);

test(
  '--queue-balance 0:1: both queues carry packets, every connection is clamped, each segment counted once',
  { timeout: 60_000 },
  async (t) => {
    const lab = await Lab.create({ tag: 'qbal' });
    t.after(() => lab.destroy());
    for (const address of SOURCES) await lab.exec('client', 'ip', ['addr', 'add', `${address}/24`, 'dev', LabInterface.client]);

    await applyRules(lab, ['--queue-balance', '0:1', '--set-mss', '1380', '--family', '4']);
    const daemon = await startDaemon(lab, ['--queue-balance', '0:1', '--set-mss', '1380', '--metrics-listen', '127.0.0.1:9465']);
    const bound = daemon
      .logLines()
      .filter((l) => l['msg'] === 'queue bound')
      .map((l) => l['queue']);
    assert.deepEqual(bound.sort(), [0, 1], 'one worker bound each queue');
    const capture = await startCapture(lab, 'server', LabInterface.server, { filter: 'tcp' });
    const peers = await Peers.start(lab);

    const connections = [];
    for (const address of SOURCES) connections.push(await peers.transfer(4, 1000, address));
    const seen = handshakes(await capture.stop());

    for (const c of connections) assert.equal(seen.syn.get(flowKey(c)), 1380, `connection from port ${c.localPort} arrived clamped`);
    // Every SYN the server received went through a queue, and every SYN/ACK it sent goes through one.
    const segments = seen.packets.filter((p) => {
      const flags = p.ip[20 + 13]!;
      return (flags & 0x02) !== 0;
    }).length;
    assert.ok(segments >= 2 * SOURCES.length, `${segments} handshake segments captured`);

    const text = await scrape(lab);
    const perQueue = [0, 1].map((queue) => sample(text, 'mssmangler_queue_received_packets_total', { queue: String(queue) }));
    assert.ok(perQueue[0]! > 0 && perQueue[1]! > 0, `both queues carried packets: ${perQueue.join(', ')}`);
    assert.equal(perQueue[0]! + perQueue[1]!, segments, 'the queues received each handshake segment once');
    assert.equal(sample(text, 'mssmangler_packets_total'), segments, 'mssmangler_packets_total counts each segment once');
    assert.equal(sample(text, 'mssmangler_packets_total', { outcome: 'modified' }), segments, 'every SYN and SYN/ACK was clamped');
  },
);
