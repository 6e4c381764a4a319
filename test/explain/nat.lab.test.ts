// SNAT (address and port) and DNAT (address) in the router, plus a TCPMSS clamp on the SYN only (not
// the SYN/ACK): explain matches each connection across the translation without trusting addresses or
// ports, reports client-address, client-port, server-address and syn-mss as changed and synack-mss
// as not, and names source and destination NAT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, LabAddress, LabInterface } from '../lab/lab.js';
import { Peers, SERVER_PORT } from '../daemon/daemon-lab.js';
import { assertSideMatchesFile, byClientPort, captureBothSides, explainJson, fileFacts, scratchDir } from './explain-lab.js';

const DNAT_TARGET = { 4: '203.0.113.3', 6: 'fd00:5::3' } as const;
const NAT_PORTS = '20000-20100';

test(
  'SNAT + DNAT + MSS clamp on the SYN only, IPv4 and IPv6: matched, translated endpoints and syn-mss reported',
  { timeout: 60_000 },
  async (t) => {
    const lab = await Lab.create({ tag: 'xnat' });
    t.after(() => lab.destroy());
    await lab.exec('server', 'ip', ['addr', 'add', `${DNAT_TARGET[4]}/24`, 'dev', LabInterface.server]);
    await lab.exec('server', 'ip', ['-6', 'addr', 'add', `${DNAT_TARGET[6]}/64`, 'dev', LabInterface.server, 'nodad']);
    for (const [tool, family] of [
      ['iptables', 4],
      ['ip6tables', 6],
    ] as const) {
      const server = family === 4 ? LabAddress.server4 : LabAddress.server6;
      const routerAddress = family === 4 ? LabAddress.routerServerSide4 : LabAddress.routerServerSide6;
      const target = family === 4 ? `${DNAT_TARGET[4]}:${SERVER_PORT}` : `[${DNAT_TARGET[6]}]:${SERVER_PORT}`;
      await lab.exec('router', tool, [
        '-t',
        'nat',
        '-A',
        'PREROUTING',
        '-i',
        LabInterface.routerToClient,
        '-p',
        'tcp',
        '-d',
        server,
        '--dport',
        String(SERVER_PORT),
        '-j',
        'DNAT',
        '--to-destination',
        target,
      ]);
      await lab.exec('router', tool, [
        '-t',
        'nat',
        '-A',
        'POSTROUTING',
        '-o',
        LabInterface.routerToServer,
        '-p',
        'tcp',
        '-j',
        'SNAT',
        '--to-source',
        `${family === 4 ? routerAddress : `[${routerAddress}]`}:${NAT_PORTS}`,
      ]);
      // SYN only: SYN set, ACK and RST clear.
      await lab.exec('router', tool, [
        '-t',
        'mangle',
        '-A',
        'FORWARD',
        '-p',
        'tcp',
        '--tcp-flags',
        'SYN,ACK,RST',
        'SYN',
        '-j',
        'TCPMSS',
        '--set-mss',
        '1300',
      ]);
    }
    const peers = await Peers.start(lab);
    const dir = scratchDir(t);
    const capture = await captureBothSides(lab, dir, { iface: 'any', format: 'pcap' }, { iface: 'eth0', format: 'pcapng' });
    const c4 = await peers.transfer(4, 5000);
    const c6 = await peers.transfer(6, 5000);
    const files = await capture.stop();
    const report = await explainJson(files.a, files.b);
    assert.equal(report.handshakes.length, 2, JSON.stringify(report, null, 1));

    for (const [connection, family, clientMss] of [
      [c4, 4, 1460],
      [c6, 6, 1440],
    ] as const) {
      const h = byClientPort(report, 'a', connection.localPort, family);
      assert.ok(h.a !== null && h.b !== null, 'matched across the NAT');
      assert.deepEqual(h.changes, ['syn-mss', 'client-address', 'client-port', 'server-address']);
      assert.equal(h.a.client, family === 4 ? LabAddress.client4 : LabAddress.client6);
      assert.equal(h.b.client, family === 4 ? LabAddress.routerServerSide4 : LabAddress.routerServerSide6);
      assert.ok(h.b.clientPort >= 20000 && h.b.clientPort <= 20100, `NAT port ${h.b.clientPort}`);
      assert.equal(h.a.server, family === 4 ? LabAddress.server4 : LabAddress.server6);
      assert.equal(h.b.server, DNAT_TARGET[family]);
      assert.equal(h.a.syn?.mss, clientMss);
      assert.equal(h.b.syn?.mss, 1300);
      assert.equal(h.b.synAck?.mss, clientMss, 'the SYN/ACK is not clamped');
      assert.equal(h.a.synAck?.mss, clientMss);
      assert.equal(h.a.syn?.seq, h.b.syn?.seq, 'NAT keeps the ISN');
      assertSideMatchesFile(h.a, await fileFacts(files.a, family, h.a.clientPort, h.a.serverPort), `IPv${family} A`);
      assertSideMatchesFile(h.b, await fileFacts(files.b, family, h.b.clientPort, h.b.serverPort), `IPv${family} B`);
      const text = h.explanation.join(' ');
      assert.match(text, /The client's address and port were translated between A and B .*: source NAT\./);
      assert.match(text, /The server's address was translated between A and B .*: destination NAT or port forwarding\./);
      assert.match(
        text,
        new RegExp(
          `The client's SYN left A with MSS ${clientMss} and reached B with 1300: a box between lowered it by ${clientMss - 1300} bytes\\.`,
        ),
      );
    }
  },
);
