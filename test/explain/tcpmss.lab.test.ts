// The kernel's TCPMSS target in the router clamps SYN and SYN/ACK to 1380 (IPv4 and IPv6): explain
// finds each connection at both capture points, reports the MSS each point saw, and says the box
// between lowered it, by how much, and what 1380 usually is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from '../lab/lab.js';
import { Peers, SERVER_PORT } from '../daemon/daemon-lab.js';
import { assertSideMatchesFile, byClientPort, captureBothSides, explainJson, explainText, fileFacts, scratchDir } from './explain-lab.js';

test(
  'TCPMSS --set-mss 1380 in the router, both directions, IPv4 and IPv6: syn-mss and synack-mss lowered, nothing else',
  { timeout: 60_000 },
  async (t) => {
    const lab = await Lab.create({ tag: 'xmss' });
    t.after(() => lab.destroy());
    for (const tool of ['iptables', 'ip6tables']) {
      await lab.exec('router', tool, [
        '-t',
        'mangle',
        '-A',
        'FORWARD',
        '-p',
        'tcp',
        '--tcp-flags',
        'SYN,RST',
        'SYN',
        '-j',
        'TCPMSS',
        '--set-mss',
        '1380',
      ]);
    }
    const peers = await Peers.start(lab);
    const dir = scratchDir(t);
    // A: Ethernet, pcap; B: Linux cooked (-i any), converted to pcapng.
    const capture = await captureBothSides(lab, dir, { iface: 'eth0', format: 'pcap' }, { iface: 'any', format: 'pcapng' });
    const c4 = await peers.transfer(4, 20_000);
    const c6 = await peers.transfer(6, 20_000);
    const files = await capture.stop();
    const report = await explainJson(files.a, files.b);

    for (const [connection, family, clientMss] of [
      [c4, 4, 1460],
      [c6, 6, 1440],
    ] as const) {
      const h = byClientPort(report, 'a', connection.localPort, family);
      assert.ok(h.a !== null && h.b !== null, 'matched at both points');
      assert.deepEqual(h.changes, ['syn-mss', 'synack-mss']);
      assert.equal(h.a.syn?.mss, clientMss);
      assert.equal(h.b.syn?.mss, 1380);
      assert.equal(h.b.synAck?.mss, clientMss);
      assert.equal(h.a.synAck?.mss, 1380);
      assertSideMatchesFile(h.a, await fileFacts(files.a, family, connection.localPort, SERVER_PORT), `IPv${family} A`);
      assertSideMatchesFile(h.b, await fileFacts(files.b, family, connection.localPort, SERVER_PORT), `IPv${family} B`);
      assert.ok(h.a.largestSegmentToServer! <= 1380, 'the client keeps to the clamped MSS');
      const text = h.explanation.join(' ');
      assert.match(
        text,
        new RegExp(
          `The client's SYN left A with MSS ${clientMss} and reached B with 1380: a box between lowered it by ${clientMss - 1380} bytes; 1380 is the value IPsec gateways`,
        ),
      );
      assert.match(text, new RegExp(`The server's SYN/ACK left B with MSS ${clientMss} and reached A with 1380`));
      assert.match(text, /B is 1 hop after A/);
    }

    const text = await explainText(files.a, files.b);
    t.diagnostic(text);
    assert.doesNotMatch(text, /\u001b\[/, 'no colour when piped');
    assert.match(text, /^2 handshakes: 2 matched, 0 only at A, 0 only at B; 2 changed between A and B \(syn-mss 2, synack-mss 2\)$/m);
  },
);
