// The lab itself: real TCP connections from client to server through the router, over IPv4 and IPv6,
// seen in a capture on the server side; nothing of the lab left behind after destroy(); and labs of
// test processes that are gone swept away.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { Lab, LabAddress, LabInterface, sweepStaleLabs } from './lab.js';
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

test('a lab left behind by a test process that is gone is removed, with what runs in it; a live one is not', async (t) => {
  // The labs' owner: a process alive while they are set up (so no other test file's sweep takes them
  // early), then ended and reaped, as a test process killed outright would be.
  const owner = spawn('sleep', ['600'], { stdio: 'ignore' });
  t.after(() => owner.kill('SIGKILL'));
  const ownerPid = owner.pid;
  assert.ok(ownerPid !== undefined && ownerPid > 0);
  const stale = `mm-stale-${ownerPid}-1-r`;
  const scriptStale = `mm-stale-${ownerPid}-c`;
  const live = `mm-stale-${process.pid}-99-s`;
  for (const ns of [stale, scriptStale, live]) execFileSync('ip', ['netns', 'add', ns]);
  t.after(() => {
    for (const ns of [stale, scriptStale, live]) spawnSync('ip', ['netns', 'del', ns]);
  });
  // Something still running in the stale lab, as a daemon of a killed test would be.
  const sleeper = spawn('ip', ['netns', 'exec', stale, 'sleep', '600'], { stdio: 'ignore' });
  t.after(() => sleeper.kill('SIGKILL'));
  const sleeperEnd = new Promise<NodeJS.Signals | null>((resolve) => sleeper.once('exit', (_code, signal) => resolve(signal)));
  await waitUntil(() => execFileSync('ip', ['netns', 'pids', stale], { encoding: 'utf8' }).trim() !== '');
  await new Promise((resolve) => {
    owner.once('exit', resolve);
    owner.kill('SIGKILL');
  });

  // Test files run in parallel and each sweeps at its first lab, so another may get there first:
  // what counts is what is left afterwards.
  const removed = await sweepStaleLabs();

  assert.ok(!removed.includes(live), 'the namespace of a live test process stays');
  const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  assert.ok(!left.includes(stale) && !left.includes(scriptStale), 'the stale namespaces are gone');
  assert.ok(left.includes(live), 'the live one is still there');
  const stillRunning = new Promise<string>((resolve) => setTimeout(resolve, 5000, 'still running after 5 s').unref());
  assert.equal(await Promise.race([sleeperEnd, stillRunning]), 'SIGKILL', 'the process inside the stale lab was ended');
});

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(condition(), 'condition reached within 2 s');
}
