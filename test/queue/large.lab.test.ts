// Full-size packets sent back as payloads: a batch of 1,400-byte datagrams is more than one sendmsg
// may carry, so its verdicts go out in several sendmsg calls, still in order, none lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, LabAddress } from '../lab/lab.js';
import { sleep, startConsumer, stopConsumer } from './queue-lab.js';

const COUNT = 3000;
const SIZE = 1400;

const SENDER = `
const dgram = require('node:dgram');
const s = dgram.createSocket('udp4');
const payload = Buffer.alloc(${SIZE}, 0x5a);
let left = ${COUNT};
function burst() {
  for (let i = 0; i < 100 && left > 0; i++, left--) s.send(payload, 9999, process.argv[1]);
  if (left > 0) setTimeout(burst, 2); else setTimeout(() => s.close(), 100);
}
burst();
`;

test(`${COUNT} datagrams of ${SIZE} bytes sent back as payloads: batches split over several sendmsg, none lost`, async (t) => {
  const lab = await Lab.create({ tag: 'qlarge' });
  t.after(() => lab.destroy());
  await lab.exec('router', 'iptables', ['-A', 'FORWARD', '-p', 'udp', '--dport', '9999', '-j', 'NFQUEUE', '--queue-num', '15']);
  await lab.exec('server', 'iptables', [
    '-A',
    'INPUT',
    '-p',
    'udp',
    '--dport',
    '9999',
    '-m',
    'length',
    '--length',
    String(SIZE + 28),
    '-m',
    'comment',
    '--comment',
    'big',
  ]);
  // The first batch stalls, so the following batches are full: 256 x 1428 bytes of payload.
  const consumer = await startConsumer(lab, ['--queue', '15', '--resend-all', '--pause-first', '300']);
  assert.equal(consumer.first['event'], 'ready');

  await lab.exec('client', process.execPath, ['-e', SENDER, LabAddress.server4]);
  let arrived = 0;
  for (let i = 0; i < 40 && arrived < COUNT; i++) {
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
  assert.equal(arrived, COUNT, 'every datagram arrived, full size');
  assert.equal(stats.packets, COUNT);
  assert.equal(stats.modified, COUNT);
  assert.equal(stats.sendErrors, 0);
  assert.equal(stats.verdictErrors, 0);
  assert.ok(
    stats.verdictSends > stats.batches,
    `large batches took more than one sendmsg (${stats.verdictSends} sendmsg for ${stats.batches} batches)`,
  );
});
