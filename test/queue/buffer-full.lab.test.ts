// A batch ends where the packet buffer is full: the packet that did not fit stays in its receive slot
// and leads the next batch. With the smallest buffer NfQueue takes, about 43 datagrams of 1,400 bytes
// fit one batch; if the walk moved past the packet that did not fit, that packet would get no
// verdict until close() and would not arrive while the consumer runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MIN_BUFFER_BYTES } from '../../src/native/contract.js';
import { Lab, LabAddress } from '../lab/lab.js';
import { sleep, startConsumer, stopConsumer } from './queue-lab.js';

const COUNT = 600;
const SIZE = 1400;
// Buffer bytes one datagram takes: IPv4 + UDP headers, the tailroom, aligned to 8.
const SLOT = Math.ceil((SIZE + 28 + 64) / 8) * 8;

const SENDER = `
const dgram = require('node:dgram');
const s = dgram.createSocket('udp4');
const payload = Buffer.alloc(${SIZE}, 0x5a);
let left = ${COUNT};
function burst() {
  for (let i = 0; i < 100 && left > 0; i++, left--) s.send(payload, 9998, process.argv[1]);
  if (left > 0) setTimeout(burst, 2); else setTimeout(() => s.close(), 100);
}
burst();
`;

test(`a full buffer ends a batch and the packet that did not fit leads the next one: ${COUNT} datagrams, none held`, async (t) => {
  const lab = await Lab.create({ tag: 'qbuffull' });
  t.after(() => lab.destroy());
  await lab.exec('router', 'iptables', ['-A', 'FORWARD', '-p', 'udp', '--dport', '9998', '-j', 'NFQUEUE', '--queue-num', '16']);
  await lab.exec('server', 'iptables', ['-A', 'INPUT', '-p', 'udp', '--dport', '9998', '-m', 'comment', '--comment', 'big']);
  // The first batch stalls, so the socket fills and the following batches end at the buffer's end.
  const consumer = await startConsumer(lab, ['--queue', '16', '--buffer-bytes', String(MIN_BUFFER_BYTES), '--pause-first', '300']);
  assert.equal(consumer.first['event'], 'ready');

  await lab.exec('client', process.execPath, ['-e', SENDER, LabAddress.server4]);
  let arrived = 0;
  for (let i = 0; i < 50 && arrived < COUNT; i++) {
    await sleep(100);
    const { stdout } = await lab.exec('server', 'iptables', ['-nvxL', 'INPUT']);
    arrived = Number(
      stdout
        .split('\n')
        .find((l) => l.includes('/* big */'))!
        .trim()
        .split(/\s+/)[0],
    );
  }
  const stats = (await stopConsumer(consumer))['stats'];
  assert.equal(arrived, COUNT, 'every datagram got its verdict while the consumer ran');
  assert.equal(stats.packets, COUNT);
  assert.equal(stats.closeAccepted, 0, 'no packet was left for close() to accept');
  const perBatch = Math.floor(MIN_BUFFER_BYTES / SLOT) + 1;
  assert.ok(stats.batchMax <= perBatch, `a batch never holds more than the buffer (${stats.batchMax} > ${perBatch})`);
  assert.ok(stats.batchMax >= perBatch - 2, `some batches ended at the buffer's end (largest ${stats.batchMax})`);
});
