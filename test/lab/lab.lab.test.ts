// The lab itself: real TCP connections from client to server through the router, over IPv4 and IPv6,
// seen in a capture on the server side; and nothing of the lab left behind after destroy().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Lab, LabAddress, LabInterface } from './lab.js';
import { startCapture } from './capture.js';

const SERVER_SCRIPT = `
const net = require('node:net');
const server = net.createServer((s) => s.end('hello'));
server.listen(8080, '::', () => console.log('listening'));
`;
const CLIENT_SCRIPT = `
const net = require('node:net');
const s = net.connect({ host: process.argv[1], port: 8080 });
let got = '';
s.on('data', (d) => (got += d));
s.on('end', () => { console.log(got); });
s.on('error', (e) => { console.error(e.message); process.exit(1); });
`;

test('a TCP connection crosses the lab router over IPv4 and IPv6, and destroy() leaves nothing behind', async (t) => {
  const lab = await Lab.create({ tag: 'lab' });
  t.after(() => lab.destroy());

  const server = lab.spawn('server', process.execPath, ['-e', SERVER_SCRIPT]);
  await server.waitFor(/listening/);
  const capture = await startCapture(lab, 'server', LabInterface.server, { filter: 'tcp', direction: 'in' });

  for (const address of [LabAddress.server4, LabAddress.server6]) {
    const { stdout } = await lab.exec('client', process.execPath, ['-e', CLIENT_SCRIPT, address]);
    assert.equal(stdout.trim(), 'hello');
  }
  const packets = await capture.stop();
  const syns = packets.filter((p) => {
    const v = p.ip.readUInt8(0) >> 4;
    const l4 = v === 4 ? (p.ip.readUInt8(0) & 0x0f) * 4 : 40;
    const proto = p.ip.readUInt8(v === 4 ? 9 : 6);
    return proto === 6 && (p.ip.readUInt8(l4 + 13) & 0x12) === 0x02;
  });
  assert.deepEqual(syns.map((p) => p.ip.readUInt8(0) >> 4).sort(), [4, 6], 'one SYN per family reached the server');

  await lab.destroy();
  const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  assert.ok(!left.includes(lab.router), `namespace ${lab.router} was removed`);
  assert.equal(server.running, false, 'the server process was stopped');
});
