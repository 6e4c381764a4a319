// Each fault mode through real TCP in the lab (client -> router running the daemon -> server), seen in
// a capture on the server's side: strip leaves no MSS option, duplicate leaves two and the server
// obeys the last one, and `select: { every: 2 }` affects alternate connections only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, LabAddress, LabInterface } from '../lab/lab.js';
import { startCapture } from '../lab/capture.js';
import { ACK, SYN, mssOptions, startWithConfig, tcpSegment, tempDir } from './fault-lab.js';

const BYTES = 20000;
const SERVER = `
const net = require('node:net');
net.createServer((s) => s.end(Buffer.alloc(${BYTES}))).listen(8080, '::', () => console.log('listening'));
`;
const CLIENT = `
const net = require('node:net');
const s = net.connect({ host: process.argv[1], port: 8080 });
let n = 0;
s.on('data', (d) => (n += d.length));
s.on('end', () => console.log(n));
s.on('error', (e) => { console.error(e.message); process.exit(1); });
`;

async function setup(t: { after: (fn: () => Promise<void>) => void }, tag: string, config: string) {
  const lab = await Lab.create({ tag });
  const tmp = tempDir();
  t.after(async () => {
    await lab.destroy();
    tmp.remove();
  });
  const daemon = await startWithConfig(lab, tmp.dir, config);
  const server = lab.spawn('server', process.execPath, ['-e', SERVER]);
  await server.waitFor(/listening/);
  const capture = await startCapture(lab, 'server', LabInterface.server, { filter: 'tcp' });
  const connect = async (address: string): Promise<void> => {
    const { stdout } = await lab.exec('client', process.execPath, ['-e', CLIENT, address]);
    assert.equal(stdout.trim(), String(BYTES), 'the connection carried all its data');
  };
  return { lab, daemon, capture, connect };
}

const isSyn = (flags: number): boolean => (flags & (SYN | ACK)) === SYN;

test('lab strip (IPv4 SYN): the server receives the SYN with NOPs where the MSS option was, and the connection works', async (t) => {
  const { daemon, capture, connect } = await setup(
    t,
    'strip',
    `rules:
  - name: strip-syn
    match: { family: 4, direction: syn, destinationPort: 8080 }
    action: strip
`,
  );
  await connect(LabAddress.server4);
  const segments = (await capture.stop()).map((p) => tcpSegment(p.ip)).filter((s) => s !== null && s.family === 4);
  const syns = segments.filter((s) => isSyn(s!.flags));
  assert.equal(syns.length, 1);
  assert.deepEqual(mssOptions(syns[0]!.options), [], 'no MSS option reached the server');
  assert.equal(syns[0]!.options.subarray(0, 4).toString('hex'), '01010101', 'four NOPs where it was');
  // Without an MSS option the server assumes the IPv4 default, 536 (RFC 9293 3.7.1), less timestamps.
  const largest = Math.max(...segments.filter((s) => s!.srcPort === 8080).map((s) => s!.payloadLength));
  assert.equal(largest, 536 - 12, 'the server fell back to the default MSS');
  const line = daemon.logLines().find((l) => l['msg'] === 'fault injected');
  assert.ok(line, 'the fault was logged');
  assert.equal(line.rule, 'strip-syn');
  assert.equal(line.outcome, 'stripped');
  assert.equal(line.optionsAfter, syns[0]!.options.toString('hex'));
});

test('lab duplicate (IPv6 SYN): the server receives two MSS options and sends segments of the last one', async (t) => {
  const { capture, connect } = await setup(
    t,
    'dup',
    `rules:
  - name: dup-syn
    match: { family: 6, direction: syn }
    action: duplicate
    mss: 1000
`,
  );
  await connect(LabAddress.server6);
  const segments = (await capture.stop()).map((p) => tcpSegment(p.ip)).filter((s) => s !== null && s.family === 6);
  const syns = segments.filter((s) => isSyn(s!.flags));
  assert.equal(syns.length, 1);
  assert.deepEqual(mssOptions(syns[0]!.options), [1440, 1000], 'the original option, then the duplicate');
  // Linux (tcp_parse_options) keeps the last MSS option: 1000, less 12 bytes of timestamps.
  const largest = Math.max(...segments.filter((s) => s!.srcPort === 8080).map((s) => s!.payloadLength));
  assert.equal(largest, 1000 - 12, 'the server obeyed the last MSS option');
});

test('lab select every: 2: of four connections, the 2nd and 4th SYN are stripped, the others pass unchanged', async (t) => {
  const { daemon, capture, connect } = await setup(
    t,
    'every',
    `rules:
  - name: every-other
    match: { family: 4, direction: syn }
    action: strip
    select: { every: 2 }
`,
  );
  for (let i = 0; i < 4; i++) await connect(LabAddress.server4);
  const syns = (await capture.stop()).map((p) => tcpSegment(p.ip)).filter((s) => s !== null && s.family === 4 && isSyn(s.flags));
  assert.deepEqual(
    syns.map((s) => mssOptions(s!.options)),
    [[1460], [], [1460], []],
  );
  assert.equal(daemon.logLines().filter((l) => l['msg'] === 'fault injected').length, 2);
});

test('lab zero (IPv4 SYN): the server receives MSS 0, ignores it as Linux does, and sends default-size segments', async (t) => {
  const { capture, connect } = await setup(
    t,
    'zero',
    `rules:
  - name: zero-syn
    match: { family: 4, direction: syn }
    action: zero
`,
  );
  await connect(LabAddress.server4);
  const segments = (await capture.stop()).map((p) => tcpSegment(p.ip)).filter((s) => s !== null && s.family === 4);
  const syns = segments.filter((s) => isSyn(s!.flags));
  assert.equal(syns.length, 1);
  assert.deepEqual(mssOptions(syns[0]!.options), [0]);
  // tcp_parse_options keeps an MSS option only when it is non-zero: the server falls back to the
  // IPv4 default of 536, less 12 bytes of timestamps.
  const largest = Math.max(...segments.filter((s) => s!.srcPort === 8080).map((s) => s!.payloadLength));
  assert.equal(largest, 536 - 12);
});
