// The kernel's SYNPROXY target in the router (the SYN proxy of ../shared/context/mss-notes.txt): it
// answers the client's SYN with a SYN cookie, then opens its own connection to the server with the MSS
// the cookie kept, and translates sequence numbers. The client advertises 1400 (a route advmss), which
// a cookie can only keep as 1300. explain says: the SYN/ACK at A is not the server's (its ISN differs
// from B's, its TTL is from a nearer hop), and the server's MSS is a SYN-cookie value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, LabAddress, LabInterface } from '../lab/lab.js';
import { Peers, SERVER_PORT } from '../daemon/daemon-lab.js';
import { assertSideMatchesFile, byClientPort, captureBothSides, explainJson, explainText, fileFacts, scratchDir } from './explain-lab.js';

test('SYNPROXY: proxy SYN/ACK found by ISN and TTL, cookie-quantized MSS 1400 -> 1300 at the server', { timeout: 60_000 }, async (t) => {
  const lab = await Lab.create({ tag: 'xsyn' });
  t.after(() => lab.destroy());
  await lab.exec('client', 'ip', ['route', 'replace', 'default', 'via', LabAddress.routerClientSide4, 'advmss', '1400']);
  // The setup of iptables-extensions(8) SYNPROXY, in FORWARD.
  await lab.sysctl(lab.router, 'net.netfilter.nf_conntrack_tcp_loose', '0');
  const port = String(SERVER_PORT);
  await lab.exec('router', 'iptables', [
    '-t',
    'raw',
    '-A',
    'PREROUTING',
    '-i',
    LabInterface.routerToClient,
    '-p',
    'tcp',
    '--dport',
    port,
    '--syn',
    '-j',
    'CT',
    '--notrack',
  ]);
  await lab.exec('router', 'iptables', [
    '-A',
    'FORWARD',
    '-i',
    LabInterface.routerToClient,
    '-p',
    'tcp',
    '--dport',
    port,
    '-m',
    'conntrack',
    '--ctstate',
    'INVALID,UNTRACKED',
    '-j',
    'SYNPROXY',
    '--sack-perm',
    '--timestamp',
    '--wscale',
    '7',
    '--mss',
    '1460',
  ]);
  await lab.exec('router', 'iptables', ['-A', 'FORWARD', '-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'DROP']);
  const peers = await Peers.start(lab);
  const dir = scratchDir(t);
  const capture = await captureBothSides(lab, dir, { iface: 'eth0', format: 'pcapng' }, { iface: 'eth0', format: 'pcap' });
  const c4 = await peers.transfer(4, 20_000);
  const files = await capture.stop();
  const report = await explainJson(files.a, files.b);
  const h = byClientPort(report, 'a', c4.localPort, 4);
  assert.ok(h.a !== null && h.b !== null, `matched through the proxy: ${JSON.stringify(report, null, 1)}`);
  assert.equal(h.a.syn?.mss, 1400);
  assert.equal(h.b.syn?.mss, 1300, 'the server gets what the cookie kept');
  assert.equal(h.a.syn?.seq, h.b.syn?.seq, 'SYNPROXY keeps the client ISN');
  assert.notEqual(h.a.synAck?.seq, h.b.synAck?.seq, "the SYN/ACK at A is the proxy's");
  assert.equal(h.a.synAck?.mss, 1460, "the proxy's --mss");
  assert.equal(h.a.synAck?.ttl, 64, 'sent by the router itself');
  assert.equal(h.b.syn?.ttl, 64, "the server's SYN is sent by the router too");
  assert.ok(h.changes.includes('syn-mss') && h.changes.includes('synack-seq'), h.changes.join());
  assert.ok(!h.changes.includes('syn-seq'));
  assertSideMatchesFile(h.a, await fileFacts(files.a, 4, c4.localPort, SERVER_PORT), 'A');
  assertSideMatchesFile(h.b, await fileFacts(files.b, 4, c4.localPort, SERVER_PORT), 'B');
  const text = h.explanation.join('\n');
  assert.match(text, /1300 is exactly what a Linux SYN cookie keeps of 1400/);
  assert.match(
    text,
    /The SYN\/ACK at A \(sequence \d+\) is not the server's \(\d+ at B\), and its TTL at A \(64\) says it came 1 hop nearer than the server's data \(63\): a SYN proxy answered the client itself/,
  );
  assert.match(text, /At B the SYN arrived with TTL 64 but the client's data with 63/);
  t.diagnostic(await explainText(files.a, files.b));
});
