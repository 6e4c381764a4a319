// A packet longer than the kernel can copy (65,535 bytes on loopback; the copy stops at 65,531):
// the descriptor says truncated and gives the real length, and the addon refuses to send the cut copy
// back as the packet, so the datagram arrives whole even though the handler asked to "modify" it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from '../lab/lab.js';
import { PacketFlag } from '../../src/native/contract.js';
import { sleep, startConsumer, stopConsumer } from './queue-lab.js';

const PAYLOAD = 65_507; // the largest UDP payload over IPv4: a 65,535-byte packet

const RECEIVER = `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m) => { console.log('got ' + m.length + ' ' + m.every((b) => b === 0x61)); s.close(); });
s.bind(9998, '127.0.0.1', () => console.log('listening'));
`;
const SENDER = `require('node:dgram').createSocket('udp4').send(Buffer.alloc(${PAYLOAD}, 0x61), 9998, '127.0.0.1', (e) => process.exit(e ? 1 : 0));`;

test('a packet longer than the copy range is flagged truncated and is never sent back cut', async (t) => {
  const lab = await Lab.create({ tag: 'qtrunc' });
  t.after(() => lab.destroy());
  await lab.exec('router', 'iptables', ['-A', 'OUTPUT', '-o', 'lo', '-p', 'udp', '--dport', '9998', '-j', 'NFQUEUE', '--queue-num', '17']);
  const consumer = await startConsumer(lab, ['--queue', '17', '--resend-all', '--record-rows', '1']);
  assert.equal(consumer.first['event'], 'ready');
  const receiver = lab.spawn('router', process.execPath, ['-e', RECEIVER]);
  await receiver.waitFor(/listening/);

  await lab.exec('router', process.execPath, ['-e', SENDER]);
  await receiver.waitFor(/got \d+/, 5000);
  await sleep(50);
  const stats = await stopConsumer(consumer);

  assert.match(receiver.stdout, new RegExp(`got ${PAYLOAD} true`), 'the datagram arrived whole');
  const [row] = stats['rows'] as Array<Record<string, number>>;
  assert.equal(row!['length'], 65_531, 'the copy stops at the kernel limit');
  assert.equal(row!['origLength'], 65_535, 'the real length comes from NFQA_CAP_LEN');
  assert.ok((row!['flags']! & PacketFlag.truncated) !== 0, 'flagged truncated');
  assert.equal(stats['stats'].truncated, 1);
  assert.equal(stats['stats'].badVerdicts, 1, 'the attempt to send the cut copy back was refused');
  assert.equal(stats['stats'].modified, 0);
});
