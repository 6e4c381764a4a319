// The test-lab case from shared/context/tcpmss-never-increase-limitation.txt (issue 4, lab test 2):
// IPv6, the server's link has MTU 1280 (the server's eth0 and the router's `tos`), so the server's
// SYN/ACK says MSS 1220. With allowIncrease the daemon raises it to 1440 (what xt_TCPMSS refuses:
// "never increase MSS"); the client believes it and sends 1500-byte packets towards the server, the
// router cannot forward them over its 1280 link and answers with ICMPv6 Packet Too Big, and the
// client's TCP shrinks its segments and completes the transfer. Without allowIncrease the SYN/ACK
// keeps 1220 and the counter says why (already-at-or-below).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, LabInterface } from '../lab/lab.js';
import { run } from '../lab/run.js';
import { Peers, captureBothEnds, flowKey, packetTooBig } from './daemon-lab.js';
import { applyRules, sample, scrape, startDaemon } from '../lab/daemon.js';

const TRANSFER_BYTES = 200 * 1024;

async function setUp(t: TestContext, tag: string, ruleArgs: string[]): Promise<{ lab: Lab; peers: Peers }> {
  const lab = await Lab.create({ tag });
  t.after(() => lab.destroy());
  await run('ip', ['-n', lab.server, 'link', 'set', LabInterface.server, 'mtu', '1280']);
  await run('ip', ['-n', lab.router, 'link', 'set', LabInterface.routerToServer, 'mtu', '1280']);
  await applyRules(lab, ['--queue', '0', '--family', '6', ...ruleArgs]);
  await startDaemon(lab, ['--queue', '0', ...ruleArgs]);
  return { lab, peers: await Peers.start(lab) };
}

test(
  'allowIncrease raises the SYN/ACK MSS 1220 -> 1440; the router sends Packet Too Big and 200 KB still arrive',
  { timeout: 30_000 },
  async (t) => {
    const { lab, peers } = await setUp(t, 'incr', ['--set-mss', '1440', '--allow-increase', '--direction', 'synack']);
    const capture = await captureBothEnds(lab, 'tcp or icmp6');
    const result = await peers.transfer(6, TRANSFER_BYTES);
    const { client, server } = await capture.stop();

    const port = flowKey(result);
    assert.equal(server.synAck.get(port), 1220, 'the server (link MTU 1280) offers 1220');
    assert.equal(client.synAck.get(port), 1440, 'the client receives the raised 1440');
    assert.equal(client.syn.get(port), 1440, "the SYN is not selected (direction synack): it keeps the client's 1440");
    assert.equal(server.syn.get(port), 1440);

    const ptb = packetTooBig(client.packets);
    assert.ok(ptb.length >= 1, 'the router answered the too-large segments with ICMPv6 Packet Too Big');
    assert.ok(
      ptb.every((p) => p.mtu === 1280),
      `PTB announces MTU 1280: ${JSON.stringify(ptb)}`,
    );
    // The client sent full 1440-byte segments (1500-byte packets) before it learned the path MTU.
    const clientSentBig = client.packets.some((p) => p.ip[0]! >> 4 === 6 && p.ip.length === 1500);
    assert.ok(clientSentBig, 'the client sent 1500-byte packets');
    assert.ok(
      server.packets.every((p) => p.ip.length <= 1280),
      'nothing larger than 1280 reached the server',
    );
    assert.equal(result.received, TRANSFER_BYTES, 'the server counted every byte');
    t.diagnostic(`PTB messages: ${ptb.length}, transfer ${result.received} bytes in ${result.ms} ms`);

    const text = await scrape(lab);
    assert.equal(sample(text, 'mssmangler_packets_total', { rule: 'cli', outcome: 'modified' }), 1);
    assert.equal(sample(text, 'mssmangler_mss_before_bytes_sum', { rule: 'cli' }), 1220);
    assert.equal(sample(text, 'mssmangler_mss_after_bytes_sum', { rule: 'cli' }), 1440);
  },
);

test('without allowIncrease the SYN/ACK keeps 1220 and counts as already-at-or-below', { timeout: 30_000 }, async (t) => {
  const { lab, peers } = await setUp(t, 'noincr', ['--set-mss', '1440', '--direction', 'synack']);
  const capture = await captureBothEnds(lab, 'tcp or icmp6');
  const result = await peers.transfer(6, TRANSFER_BYTES);
  const { client, server } = await capture.stop();

  const port = flowKey(result);
  assert.equal(server.synAck.get(port), 1220);
  assert.equal(client.synAck.get(port), 1220, 'nothing raised');
  assert.deepEqual(packetTooBig(client.packets), [], 'segments fit the 1280 link: no Packet Too Big');

  const text = await scrape(lab);
  assert.equal(sample(text, 'mssmangler_packets_total', { rule: 'cli', outcome: 'already-at-or-below' }), 1);
  assert.equal(sample(text, 'mssmangler_packets_total', { rule: 'cli', outcome: 'modified' }), 0);
  assert.equal(sample(text, 'mssmangler_mss_before_bytes_sum', { rule: 'cli' }), 1220, 'the histograms see the MSS left alone');
  assert.equal(sample(text, 'mssmangler_mss_after_bytes_sum', { rule: 'cli' }), 1220);
});
