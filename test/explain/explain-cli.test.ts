// `mssmangler explain` as an operator runs it, on small pcap files written here: a single capture, a
// pair, a file that is not a capture, a missing file, and a capture cut mid-record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TcpFlag } from '../../src/packet/tcp.js';
import { SYN, SYN_ACK, craftIpv4Tcp, linuxSynOptions, mssOption } from '../packet/craft.js';

const cli = join(process.cwd(), 'dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'mssmangler-explain-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function run(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const LINKTYPE_RAW = 101;

/** A little-endian microsecond pcap of raw IP packets, one per `times` entry. */
function pcap(packets: Array<{ bytes: Uint8Array; time: number }>): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(LINKTYPE_RAW, 20);
  const records = packets.map(({ bytes, time }) => {
    const record = Buffer.alloc(16);
    record.writeUInt32LE(Math.floor(time), 0);
    record.writeUInt32LE(Math.round((time % 1) * 1e6), 4);
    record.writeUInt32LE(bytes.length, 8);
    record.writeUInt32LE(bytes.length, 12);
    return Buffer.concat([record, Buffer.from(bytes)]);
  });
  return Buffer.concat([header, ...records]);
}

function write(name: string, contents: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, contents);
  return path;
}

const client = [198, 51, 100, 2];
const server = [203, 0, 113, 2];
const natted = [203, 0, 113, 1];

function handshakePackets(src: number[], srcPort: number, synMss: number, synAckMss: number, ttl: number, t0: number) {
  return [
    {
      bytes: craftIpv4Tcp({ src, dst: server, srcPort, dstPort: 443, flags: SYN, seq: 1000, ttl, options: linuxSynOptions(synMss) }),
      time: t0,
    },
    {
      bytes: craftIpv4Tcp({
        src: server,
        dst: src,
        srcPort: 443,
        dstPort: srcPort,
        flags: SYN_ACK,
        seq: 5000,
        ack: 1001,
        ttl: 129 - ttl,
        options: mssOption(synAckMss),
      }),
      time: t0 + 0.001,
    },
    {
      bytes: craftIpv4Tcp({
        src,
        dst: server,
        srcPort,
        dstPort: 443,
        flags: TcpFlag.ACK,
        seq: 1001,
        ttl,
        payload: new Array<number>(500).fill(7),
      }),
      time: t0 + 0.002,
    },
  ];
}

const fileA = write('a.pcap', pcap(handshakePackets(client, 40000, 1460, 1380, 64, 1000)));
const fileB = write('b.pcap', pcap(handshakePackets(natted, 61000, 1380, 1460, 63, 1000.0005)));

test('explain A B --json: the pair, the NAT and both MSS changes', () => {
  const r = run('explain', fileA, fileB, '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const report = JSON.parse(r.stdout) as {
    handshakes: Array<{ changes: string[]; a: { client: string }; b: { client: string; clientPort: number } }>;
  };
  assert.equal(report.handshakes.length, 1);
  assert.deepEqual(report.handshakes[0]!.changes, ['syn-mss', 'synack-mss', 'client-address', 'client-port']);
  assert.equal(report.handshakes[0]!.b.client, '203.0.113.1');
});

test('explain A: text for one capture, summary line last, no colour under NO_COLOR', () => {
  const r = run('explain', fileA);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^handshake 1\/1 {2}IPv4 {2}198\.51\.100\.2:40000 -> 203\.0\.113\.2:443$/m);
  assert.match(r.stdout, /\n1 handshake \(1 answered\)\n$/);
  assert.doesNotMatch(r.stdout, /\u001b/);
});

test('explain --help shows the usage and an example', () => {
  const r = run('explain', '--help');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /explain <a> \[b\]/);
  assert.match(r.stdout, /--json/);
  assert.match(r.stdout, /mssmangler explain client\.pcap server\.pcapng/);
});

test('bad input: one line naming the file and the byte offset, exit 2', () => {
  const notCapture = write('notes.txt', Buffer.from('these are my notes, not a capture at all\n'));
  const r = run('explain', notCapture, fileB);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.split('\n').filter((l) => l !== '').length, 1, r.stderr);
  assert.ok(r.stderr.includes(notCapture), r.stderr);
  assert.match(r.stderr, /byte 0/);
  const missing = run('explain', join(dir, 'nope.pcap'));
  assert.equal(missing.code, 2);
  assert.equal(missing.stderr.split('\n').filter((l) => l !== '').length, 1, missing.stderr);
  assert.ok(missing.stderr.includes('nope.pcap'), missing.stderr);
  const none = run('explain');
  assert.equal(none.code, 2);
  assert.equal(none.stderr, 'mssmangler: explain needs a capture: mssmangler explain client.pcap [server.pcap]\n');
});

test('a capture cut mid-record: explains what it read and says where it stopped', () => {
  const whole = pcap(handshakePackets(client, 40000, 1460, 1380, 64, 1000));
  const cut = write('cut.pcap', whole.subarray(0, whole.length - 200));
  const r = run('explain', cut, '--json');
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as {
    handshakes: Array<{ a: { syn: { mss: number }; synAck: { mss: number }; largestSegmentToServer: number | null } }>;
  };
  assert.equal(report.handshakes[0]!.a.syn.mss, 1460);
  assert.equal(report.handshakes[0]!.a.synAck.mss, 1380);
  assert.equal(report.handshakes[0]!.a.largestSegmentToServer, null, 'the cut data segment is not counted');
  const recordStart = whole.length - (16 + 40 + 500);
  assert.equal(r.stderr, `mssmangler: ${cut}: capture ends mid-record at byte ${recordStart}; explained the 2 packets before it\n`);
});
