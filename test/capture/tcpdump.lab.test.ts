// The capture reader against real captures: tcpdump and dumpcap record TCP connections in a lab
// namespace (Ethernet with and without 802.1Q/QinQ tags, a TUN device's raw-IP link, `-i any` as
// Linux cooked v1 and v2, nanosecond pcap, native pcapng with two interfaces), editcap converts some,
// gzip compresses one, and for every file the reader must say what `tshark -T fields` says: the same
// packets, times to the nanosecond, family, source address at the IP offset, interface.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, truncateSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { readCapture } from '../../src/capture/read-capture.js';
import type { CaptureSummary } from '../../src/capture/captured-packet.js';
import { formatAddress } from '../../src/config/prefix.js';
import { Lab, LabAddress, LabInterface, type Host } from '../lab/lab.js';
import { run } from '../lab/run.js';
import type { TrackedProcess } from '../lab/process-group.js';

const PEER = fileURLToPath(new URL('../daemon/fixtures/tcp-peer.js', import.meta.url));
const SERVER_PORT = 9000;
const ROUTER_PORT = 9001;
const Tunnel = { client4: '10.99.0.1', router4: '10.99.0.2', client6: 'fd00:99::1', router6: 'fd00:99::2' } as const;
const Tagged = { source4: '192.0.2.1', source6: 'fd00:100::1' } as const;

/** Attaches to a new TUN device tun0 (IFF_TUN | IFF_NO_PI) and drops what the kernel routes into it. */
const TUN_SINK = `
import fcntl, os, struct
fd = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH', b'tun0', 0x0001 | 0x1000))
print('attached', flush=True)
while True:
    os.read(fd, 65536)
`;

/** Writes two SYNs onto eth0 behind VLAN tags: IPv4 under one 802.1Q tag, IPv6 under 802.1ad + 802.1Q. */
const TAGGED_SENDER = `
import socket, sys
dst, src = bytes.fromhex(sys.argv[1].replace(':', '')), bytes.fromhex(sys.argv[2].replace(':', ''))
tcp = bytes.fromhex('c000 2328 00000001 00000000 6002 ffff 0000 0000 020405b4'.replace(' ', ''))
ip4 = bytes.fromhex('45000030 12344000 40060000 c0000201 cb007102'.replace(' ', '')) + tcp
ip6 = bytes.fromhex('60000000 0018 06 40 fd000100000000000000000000000001 fd000005000000000000000000000002'.replace(' ', '')) + tcp
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(('eth0', 0))
s.send(dst + src + bytes.fromhex('8100 0064 0800'.replace(' ', '')) + ip4)
s.send(dst + src + bytes.fromhex('88a8 00c8 8100 0064 86dd'.replace(' ', '')) + ip6)
`;

interface Row {
  time: string;
  family: number;
  source: string;
  interfaceId: number;
}

async function readerRows(path: string): Promise<{ rows: Row[]; summary: CaptureSummary }> {
  const rows: Row[] = [];
  const summary = await readCapture(path, (p) => {
    let source = '';
    if (p.family === 4) source = formatAddress(4, Array.from(p.bytes.subarray(p.ipOffset + 12, p.ipOffset + 16)));
    if (p.family === 6) source = formatAddress(6, Array.from(p.bytes.subarray(p.ipOffset + 8, p.ipOffset + 24)));
    rows.push({ time: `${p.seconds}.${String(p.nanos).padStart(9, '0')}`, family: p.family, source, interfaceId: p.interfaceId });
  });
  return { rows, summary };
}

async function tsharkRows(path: string): Promise<Row[]> {
  const { stdout } = await run('tshark', [
    '-r',
    path,
    '-n',
    '-T',
    'fields',
    '-E',
    'separator=|',
    '-e',
    'frame.time_epoch',
    '-e',
    'frame.protocols',
    '-e',
    'ip.src',
    '-e',
    'ipv6.src',
    '-e',
    'frame.interface_id',
  ]);
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const [time, protocols, ip4, ip6, iface] = line.split('|') as [string, string, string, string, string];
      // The first network layer in the frame's protocol chain is the one the reader points at.
      const layer = protocols.split(':').find((p) => p === 'ip' || p === 'ipv6');
      const family = layer === 'ip' ? 4 : layer === 'ipv6' ? 6 : 0;
      const source = family === 4 ? ip4.split(',')[0]! : family === 6 ? ip6.split(',')[0]! : '';
      return { time, family, source, interfaceId: Number(iface || 0) };
    });
}

async function startTool(lab: Lab, command: string, args: string[], ready: RegExp, host: Host = 'router'): Promise<TrackedProcess> {
  const tool = lab.spawn(host, command, args);
  await tool.waitFor(ready, 10_000);
  return tool;
}

function startClientTool(lab: Lab, command: string, args: string[], ready: RegExp): Promise<TrackedProcess> {
  return startTool(lab, command, args, ready, 'client');
}

test('the reader agrees with tshark on real tcpdump and dumpcap captures of every kind', { timeout: 120_000 }, async (t) => {
  const lab = await Lab.create({ tag: 'cap' });
  const dir = mkdtempSync(join(tmpdir(), 'mm-capture-lab-'));
  t.after(async () => {
    await lab.destroy();
    if (!process.env.KEEP_CAPTURES) rmSync(dir, { recursive: true, force: true });
  });

  // The lab kernel has no VLAN or IP-in-IP modules: a TUN device gives the raw-IP link (tcpdump
  // captures the client's SYNs the kernel routes into it), and tagged frames are written straight
  // onto the client's veth with a packet socket.
  const tunSink = lab.spawn('client', 'python3', ['-c', TUN_SINK]);
  await tunSink.waitFor(/attached/);
  await lab.exec('client', 'ip', ['addr', 'add', `${Tunnel.client4}/30`, 'dev', 'tun0']);
  await lab.exec('client', 'ip', ['-6', 'addr', 'add', `${Tunnel.client6}/64`, 'dev', 'tun0', 'nodad']);
  await lab.exec('client', 'ip', ['link', 'set', 'tun0', 'up']);

  const file = (name: string) => join(dir, name);
  const tcpdump = ['-n', '--immediate-mode', '-U', '-s', '0'];
  const captures = [
    await startTool(lab, 'tcpdump', [...tcpdump, '-i', LabInterface.routerToClient, '-w', file('ethernet.pcap')], /listening on/),
    await startTool(
      lab,
      'tcpdump',
      [...tcpdump, '-i', 'any', '--time-stamp-precision=nano', '-w', file('any-sll2-nano.pcap')],
      /listening on/,
    ),
    await startTool(lab, 'tcpdump', [...tcpdump, '-i', 'any', '-y', 'LINUX_SLL', '-w', file('any-sll.pcap')], /listening on/),
    await startClientTool(lab, 'tcpdump', [...tcpdump, '-i', 'tun0', '-w', file('tun-raw.pcap')], /listening on/),
    await startTool(
      lab,
      'dumpcap',
      ['-q', '-i', LabInterface.routerToClient, '-i', LabInterface.routerToServer, '-w', file('two-interfaces.pcapng')],
      /Capturing on/,
    ),
  ];

  const server = lab.spawn('server', process.execPath, [PEER, 'server', String(SERVER_PORT)]);
  const routerServer = lab.spawn('router', process.execPath, [PEER, 'server', String(ROUTER_PORT)]);
  await server.waitFor(/listening/);
  await routerServer.waitFor(/listening/);
  const client = lab.spawn('client', process.execPath, [PEER, 'client'], { stdio: ['pipe', 'pipe', 'pipe'] });
  await client.waitFor(/ready/);
  const targets: Array<[string, number]> = [
    [LabAddress.server4, SERVER_PORT],
    [LabAddress.server6, SERVER_PORT],
  ];
  for (const [id, [host, port]] of targets.entries()) client.child.stdin!.write(`${JSON.stringify({ id, host, port, bytes: 3000 })}\n`);
  for (let id = 0; id < targets.length; id++) await client.waitFor(new RegExp(`"id":${id},"ok":true`), 10_000);
  // Into the TUN device: SYNs that nobody answers (the client gives up after a second).
  for (const [id, host] of [
    [10, Tunnel.router4],
    [11, Tunnel.router6],
  ] as const) {
    client.child.stdin!.write(`${JSON.stringify({ id, host, port: ROUTER_PORT, bytes: 10, timeoutMs: 1000 })}\n`);
  }
  const routerMac = await lab.mac(lab.router, LabInterface.routerToClient);
  const clientMac = await lab.mac(lab.client, LabInterface.client);
  await lab.exec('client', 'python3', ['-c', TAGGED_SENDER, routerMac, clientMac]);
  await client.waitFor(/"id":11,"ok":false/, 5000);

  await new Promise((r) => setTimeout(r, 300)); // the last packets reach the captures
  for (const capture of captures) await capture.stop('SIGINT');

  await run('editcap', ['-F', 'pcapng', file('ethernet.pcap'), file('ethernet-converted.pcapng')]);
  await run('editcap', ['-F', 'nsecpcap', file('any-sll.pcap'), file('any-sll-nano.pcap')]);
  writeFileSync(file('any-sll2-nano.pcap.gz'), gzipSync(readFileSync(file('any-sll2-nano.pcap'))));

  const expectations: Array<[string, Partial<CaptureSummary>, (rows: Row[]) => void]> = [
    [
      'ethernet.pcap',
      { format: 'pcap', linkTypes: [1] },
      (rows) => {
        assert.ok(
          rows.some((r) => r.source === Tagged.source4),
          '802.1Q-tagged IPv4',
        );
        assert.ok(
          rows.some((r) => r.source === Tagged.source6),
          'QinQ-tagged IPv6',
        );
        assert.ok(
          rows.some((r) => r.source === LabAddress.client6),
          'untagged IPv6',
        );
      },
    ],
    ['ethernet-converted.pcapng', { format: 'pcapng', linkTypes: [1] }, () => {}],
    [
      'any-sll2-nano.pcap',
      { format: 'pcap', linkTypes: [276] },
      (rows) =>
        assert.ok(
          rows.some((r) => !r.time.endsWith('000')),
          'nanosecond digits',
        ),
    ],
    ['any-sll2-nano.pcap.gz', { format: 'pcap', linkTypes: [276] }, () => {}],
    ['any-sll.pcap', { format: 'pcap', linkTypes: [113] }, (rows) => assert.ok(rows.some((r) => r.source === LabAddress.server6))],
    ['any-sll-nano.pcap', { format: 'pcap', linkTypes: [113] }, () => {}],
    [
      'tun-raw.pcap',
      { format: 'pcap', linkTypes: [101] },
      (rows) => {
        assert.ok(rows.some((r) => r.source === Tunnel.client4) && rows.some((r) => r.source === Tunnel.client6));
      },
    ],
    [
      'two-interfaces.pcapng',
      { format: 'pcapng', linkTypes: [1] },
      (rows) => {
        assert.ok(rows.some((r) => r.interfaceId === 0) && rows.some((r) => r.interfaceId === 1), 'packets on both interfaces');
      },
    ],
  ];
  for (const [name, summary, extra] of expectations) {
    const mine = await readerRows(file(name));
    const theirs = await tsharkRows(file(name));
    assert.ok(theirs.length >= (name.startsWith('tun') ? 2 : 20), `${name}: ${theirs.length} packets`);
    assert.deepEqual(mine.summary, { packets: theirs.length, truncatedAt: null, ...summary }, name);
    assert.deepEqual(mine.rows, theirs, name);
    extra(mine.rows);
  }

  // tcpdump killed mid-write: the file ends inside its last record.
  const cut = file('ethernet.pcap');
  const full = await readerRows(cut);
  truncateSync(cut, statSync(cut).size - 5);
  const { rows, summary } = await readerRows(cut);
  assert.equal(rows.length, full.rows.length - 1);
  assert.deepEqual(rows, full.rows.slice(0, -1));
  assert.ok(summary.truncatedAt !== null && summary.truncatedAt > 24, `truncated at ${summary.truncatedAt}`);
});
