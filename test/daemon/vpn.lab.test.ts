// The VPN case (issue 4, lab test 1): the client's links have MTU 1500, so its SYNs carry MSS 1460
// (IPv4) and 1440 (IPv6); the daemon in the router rewrites them and the server's capture shows the
// result: the set value, or the path MTU minus 40/60 with clamp-to-pmtu. A route MTU changed while
// the daemon runs is followed (its PMTU cache listens to route notifications): no restart.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, LabInterface } from '../lab/lab.js';
import { run } from '../lab/run.js';
import { Peers, captureBothEnds, flowKey, type Handshakes } from './daemon-lab.js';
import { applyRules, sample, scrape, startDaemon } from '../lab/daemon.js';

async function setUp(t: TestContext, tag: string, ruleArgs: string[], runArgs: string[] = []): Promise<{ lab: Lab; peers: Peers }> {
  const lab = await Lab.create({ tag });
  t.after(() => lab.destroy());
  await applyRules(lab, ['--queue', '0', ...ruleArgs]);
  await startDaemon(lab, ['--queue', '0', ...ruleArgs, ...runArgs]);
  return { lab, peers: await Peers.start(lab) };
}

/** One IPv4 and one IPv6 connection, captured at both ends; returns the MSS each end saw per family. */
async function connectBoth(
  lab: Lab,
  peers: Peers,
): Promise<Record<4 | 6, { clientSent: number; serverSaw: number; serverSent: number; clientSaw: number }>> {
  const capture = await captureBothEnds(lab, 'tcp');
  const c4 = await peers.transfer(4);
  const c6 = await peers.transfer(6);
  const { client, server } = await capture.stop();
  const of = (key: string) => ({
    clientSent: mss(client, 'syn', key),
    serverSaw: mss(server, 'syn', key),
    serverSent: mss(server, 'synAck', key),
    clientSaw: mss(client, 'synAck', key),
  });
  return { 4: of(flowKey(c4)), 6: of(flowKey(c6)) };
}

function mss(h: Handshakes, kind: 'syn' | 'synAck', key: string): number {
  const value = h[kind].get(key);
  assert.ok(value !== undefined, `no ${kind} for client ${key} in the capture`);
  return value;
}

test(
  'set 1380: the client sends 1460/1440, the server receives 1380 both ways; counters and histograms say so',
  { timeout: 30_000 },
  async (t) => {
    const { lab, peers } = await setUp(t, 'vpnset', ['--set-mss', '1380']);
    const seen = await connectBoth(lab, peers);
    t.diagnostic(`MSS seen: ${JSON.stringify(seen)}`);
    assert.deepEqual(seen[4], { clientSent: 1460, serverSaw: 1380, serverSent: 1460, clientSaw: 1380 });
    assert.deepEqual(seen[6], { clientSent: 1440, serverSaw: 1380, serverSent: 1440, clientSaw: 1380 });

    const text = await scrape(lab);
    const rule = { rule: 'cli', action: 'set' };
    assert.equal(sample(text, 'mssmangler_packets_total', { ...rule, outcome: 'modified' }), 4, 'two SYNs and two SYN/ACKs rewritten');
    assert.equal(sample(text, 'mssmangler_mss_before_bytes_count', rule), 4);
    assert.equal(sample(text, 'mssmangler_mss_before_bytes_sum', rule), 1460 + 1460 + 1440 + 1440);
    // Buckets are cumulative: 1440 and 1460 are both above 1380 and at or below 1460.
    assert.equal(sample(text, 'mssmangler_mss_before_bytes_bucket', { ...rule, le: '1380' }), 0);
    assert.equal(sample(text, 'mssmangler_mss_before_bytes_bucket', { ...rule, le: '1440' }), 2);
    assert.equal(sample(text, 'mssmangler_mss_before_bytes_bucket', { ...rule, le: '1460' }), 4);
    assert.equal(sample(text, 'mssmangler_mss_after_bytes_sum', rule), 4 * 1380);
    assert.equal(sample(text, 'mssmangler_mss_after_bytes_bucket', { ...rule, le: '1360' }), 0);
    assert.equal(sample(text, 'mssmangler_mss_after_bytes_bucket', { ...rule, le: '1380' }), 4);
  },
);

test('clamp-to-pmtu follows the route MTU (1400, then 1300) without a restart', { timeout: 30_000 }, async (t) => {
  const { lab, peers } = await setUp(t, 'vpnpmtu', ['--clamp-mss-to-pmtu']);
  const routeMtu = async (mtu: number): Promise<void> => {
    await run('ip', ['-n', lab.router, 'route', 'replace', '203.0.113.0/24', 'dev', LabInterface.routerToServer, 'mtu', String(mtu)]);
    // Metric 256 replaces the connected route itself (an IPv6 route added without a metric gets 1024
    // and loses to the connected one).
    await run('ip', [
      '-n',
      lab.router,
      '-6',
      'route',
      'replace',
      'fd00:5::/64',
      'dev',
      LabInterface.routerToServer,
      'metric',
      '256',
      'mtu',
      String(mtu),
    ]);
  };

  // Link MTUs are 1500 everywhere: clamping to 1460/1440 changes nothing.
  const plain = await connectBoth(lab, peers);
  assert.equal(plain[4].serverSaw, 1460);
  assert.equal(plain[6].serverSaw, 1440);

  await routeMtu(1400);
  const at1400 = await connectBoth(lab, peers);
  t.diagnostic(`route mtu 1400: ${JSON.stringify(at1400)}`);
  assert.deepEqual(at1400[4], { clientSent: 1460, serverSaw: 1360, serverSent: 1460, clientSaw: 1360 });
  assert.deepEqual(at1400[6], { clientSent: 1440, serverSaw: 1340, serverSent: 1440, clientSaw: 1340 });

  await routeMtu(1300);
  const at1300 = await connectBoth(lab, peers);
  t.diagnostic(`route mtu 1300: ${JSON.stringify(at1300)}`);
  assert.deepEqual(at1300[4], { clientSent: 1460, serverSaw: 1260, serverSent: 1460, clientSaw: 1260 });
  assert.deepEqual(at1300[6], { clientSent: 1440, serverSaw: 1240, serverSent: 1440, clientSaw: 1240 });

  const text = await scrape(lab);
  const rule = { rule: 'cli', action: 'clamp-to-pmtu' };
  assert.equal(sample(text, 'mssmangler_packets_total', { ...rule, outcome: 'modified' }), 8);
  assert.equal(sample(text, 'mssmangler_packets_total', { ...rule, outcome: 'already-at-or-below' }), 4);
  // The first four (1460/1440 against 1500-byte links) were left alone and are observed as they were.
  assert.equal(sample(text, 'mssmangler_mss_after_bytes_count', rule), 12);
  assert.equal(sample(text, 'mssmangler_mss_after_bytes_sum', rule), 2 * (1460 + 1440 + 1360 + 1340 + 1260 + 1240));
  assert.equal(sample(text, 'mssmangler_mss_after_bytes_bucket', { ...rule, le: '1240' }), 2);
  assert.equal(sample(text, 'mssmangler_mss_after_bytes_bucket', { ...rule, le: '1360' }), 8);
  assert.equal(sample(text, 'mssmangler_mss_after_bytes_bucket', { ...rule, le: '1460' }), 12);
});
