// Accept, drop and modify through a real NFQUEUE, IPv4 and IPv6: what reaches the server (captured
// on its interface) is what the handler decided, and modified packets carry exactly the new bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, LabInterface } from '../lab/lab.js';
import { startCapture } from '../lab/capture.js';
import { queueSyns, sleep, startConsumer, stopConsumer, syngen } from './queue-lab.js';
import { readSyn } from './syn.js';

test('accept passes SYNs unchanged, drop stops them, modify delivers the rewritten bytes (IPv4 and IPv6)', async (t) => {
  const lab = await Lab.create({ tag: 'qverd' });
  t.after(() => lab.destroy());
  await queueSyns(lab, '81:83', 3);
  const consumer = await startConsumer(lab, ['--queue', '3', '--policy', '81=accept,82=drop,83=mss:1200']);
  assert.equal(consumer.first['event'], 'ready', JSON.stringify(consumer.first));

  const capture = await startCapture(lab, 'server', LabInterface.server, { filter: 'tcp', direction: 'in' });
  for (const family of [4, 6] as const) {
    for (const dport of [81, 82, 83]) await syngen(lab, { family, count: 5, dport, mss: 1460 });
  }
  await sleep(200);
  const syns = (await capture.stop()).map((p) => readSyn(p.ip)).filter((s) => s !== undefined && (s.flags & 0x12) === 0x02);
  const stats = await stopConsumer(consumer);

  for (const family of [4, 6]) {
    const of = (dport: number) => syns.filter((s) => s!.family === family && s!.dport === dport);
    assert.equal(of(81).length, 5, `IPv${family} accepted SYNs arrive`);
    assert.ok(of(81).every((s) => s!.mss === 1460 && s!.checksumOk), `IPv${family} accepted SYNs are unchanged`);
    assert.equal(of(82).length, 0, `IPv${family} dropped SYNs never arrive`);
    assert.equal(of(83).length, 5, `IPv${family} modified SYNs arrive`);
    assert.ok(of(83).every((s) => s!.mss === 1200 && s!.checksumOk), `IPv${family} modified SYNs carry MSS 1200 and a valid checksum`);
  }
  assert.equal(stats['stats'].packets, 30);
  assert.equal(stats['stats'].dropped, 10);
  assert.equal(stats['stats'].modified, 10);
  assert.equal(stats['stats'].verdictErrors, 0);
  assert.equal(stats['kernel'].waiting, 0, 'nothing left waiting in the kernel queue');
  assert.equal(stats['after'], null, 'the queue is unbound after close');
});
