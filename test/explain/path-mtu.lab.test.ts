// Plain forwarding, and a 1280-byte link in the path. The router forwards untouched (explain: nothing
// changed, one hop between A and B); then the router's link to the server gets MTU 1280 while both
// hosts keep 1500, so the server advertises an MSS the path cannot carry and the client's full-size
// segments draw ICMP "fragmentation needed" (IPv4) and ICMPv6 "Packet Too Big" at A.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, LabInterface } from '../lab/lab.js';
import { run } from '../lab/run.js';
import { Peers, SERVER_PORT } from '../daemon/daemon-lab.js';
import { assertSideMatchesFile, byClientPort, captureBothSides, explainJson, fileFacts, scratchDir } from './explain-lab.js';

test('plain forwarding: nothing changed, one hop; one capture alone reports the same side', { timeout: 60_000 }, async (t) => {
  const lab = await Lab.create({ tag: 'xfwd' });
  t.after(() => lab.destroy());
  const peers = await Peers.start(lab);
  const dir = scratchDir(t);
  const capture = await captureBothSides(lab, dir, { iface: 'eth0', format: 'pcap' }, { iface: 'any', format: 'pcap' });
  const c4 = await peers.transfer(4, 8000);
  const c6 = await peers.transfer(6, 8000);
  const files = await capture.stop();
  const report = await explainJson(files.a, files.b);
  assert.equal(report.handshakes.length, 2);
  for (const [connection, family] of [
    [c4, 4],
    [c6, 6],
  ] as const) {
    const h = byClientPort(report, 'a', connection.localPort, family);
    assert.ok(h.a !== null && h.b !== null);
    assert.deepEqual(h.changes, []);
    assert.deepEqual(
      { ...h.a, syn: { ...h.a.syn, ttl: 0 }, synAck: { ...h.a.synAck, ttl: 0 } },
      { ...h.b, syn: { ...h.b.syn, ttl: 0 }, synAck: { ...h.b.synAck, ttl: 0 } },
      'the same but for the TTLs',
    );
    assert.equal(h.a.syn!.ttl - h.b.syn!.ttl, 1);
    assert.equal(h.b.synAck!.ttl - h.a.synAck!.ttl, 1);
    assertSideMatchesFile(h.a, await fileFacts(files.a, family, connection.localPort, SERVER_PORT), `IPv${family} A`);
    assert.match(h.explanation.join(' '), /Nothing the handshake carries changed between A and B.*B is 1 hop after A/);
  }
  const single = await explainJson(files.a);
  assert.equal(single.handshakes.length, 2);
  for (const h of single.handshakes) {
    assert.equal(h.b, null);
    assert.deepEqual(h.changes, []);
    assert.deepEqual(h.a, report.handshakes.find((p) => p.a?.clientPort === h.a?.clientPort)!.a);
  }
});

test(
  'a 1280-byte link: frag-needed (IPv4) and Packet Too Big (IPv6) at A, attributed to their connections, MSS that cannot fit',
  { timeout: 60_000 },
  async (t) => {
    const lab = await Lab.create({ tag: 'xptb' });
    t.after(() => lab.destroy());
    await lab.exec('router', 'ip', ['link', 'set', 'dev', LabInterface.routerToServer, 'mtu', '1280']);
    // The router keeps its default ICMP rate limits, which never hold back these two messages:
    // net/ipv4/icmp.c exempts frag-needed ("Don't limit PMTU discovery"), and Packet Too Big (type 2)
    // is outside the default net.ipv6.icmp.ratemask (0-1,3-127).
    const peers = await Peers.start(lab);
    const dir = scratchDir(t);
    const capture = await captureBothSides(lab, dir, { iface: 'any', format: 'pcapng' }, { iface: 'eth0', format: 'pcap' });
    const c4 = await peers.transfer(4, 20_000);
    const c6 = await peers.transfer(6, 20_000);
    const files = await capture.stop();
    const report = await explainJson(files.a, files.b);
    for (const [connection, family, mss, clamp, message] of [
      [c4, 4, 1460, 1240, 'ICMP "fragmentation needed"'],
      [c6, 6, 1440, 1220, 'ICMPv6 "Packet Too Big"'],
    ] as const) {
      const h = byClientPort(report, 'a', connection.localPort, family);
      assert.ok(h.a !== null && h.b !== null);
      assert.deepEqual(h.changes, []);
      // What the file holds: the MTUs of the too-big messages whose quoted TCP header is this connection.
      const filter =
        family === 4
          ? `icmp.type == 3 && icmp.code == 4 && tcp.srcport == ${connection.localPort}`
          : `icmpv6.type == 2 && tcp.srcport == ${connection.localPort}`;
      const { stdout } = await run('tshark', [
        '-r',
        files.a,
        '-n',
        '-Y',
        filter,
        '-T',
        'fields',
        '-e',
        family === 4 ? 'icmp.mtu' : 'icmpv6.mtu',
      ]);
      const mtus = [
        ...new Set(
          stdout
            .split('\n')
            .filter((l) => l !== '')
            .map(Number),
        ),
      ].map((mtu) => ({ mtu }));
      assert.deepEqual(h.a.tooBig, mtus, `IPv${family} too-big at A, as tshark reads the file`);
      assert.deepEqual(h.b.tooBig, [], 'the router sends them back to the client only');
      assert.equal(h.a.synAck?.mss, mss);
      assert.ok(h.b.largestSegmentToServer! <= clamp, `after PMTUD the client's segments fit the link: ${h.b.largestSegmentToServer}`);
      assertSideMatchesFile(h.a, await fileFacts(files.a, family, connection.localPort, SERVER_PORT), `IPv${family} A`);
      assertSideMatchesFile(h.b, await fileFacts(files.b, family, connection.localPort, SERVER_PORT), `IPv${family} B`);
      // One connection per family and destination: the too-big messages the client learned the path
      // MTU from all quote this connection.
      assert.deepEqual(mtus, [{ mtu: 1280 }]);
      const text = h.explanation.join(' ');
      assert.ok(
        text.includes(`At A an ${message} message quotes a segment of this connection toward the server and reports MTU 1280`),
        text,
      );
      assert.ok(
        text.includes(`The MSS the server advertised as seen at A, ${mss}, needs a path MTU of 1500 and cannot fit the 1280-byte link`),
        text,
      );
      assert.ok(text.includes(`clamping the MSS to ${clamp} before that link would avoid them`), text);
    }
  },
);
