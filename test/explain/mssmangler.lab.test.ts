// mssmangler itself as the box in the middle: a `set` rule for IPv6 and the `strip` fault for IPv4
// SYNs, then the `duplicate` fault. explain reports what the daemon did, in its own words.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from '../lab/lab.js';
import { Peers, SERVER_PORT } from '../daemon/daemon-lab.js';
import { startWithConfig } from '../fault/fault-lab.js';
import { assertSideMatchesFile, byClientPort, captureBothSides, explainJson, fileFacts, scratchDir } from './explain-lab.js';

async function withDaemon(t: TestContext, tag: string, config: string) {
  const lab = await Lab.create({ tag });
  t.after(() => lab.destroy());
  const dir = scratchDir(t);
  await startWithConfig(lab, dir, config);
  return { lab, dir, peers: await Peers.start(lab) };
}

test(
  'mssmangler set (IPv6) and strip fault (IPv4 SYNs): explain reports 1440 -> 1300 both ways, and the MSS overwritten with NOPs',
  { timeout: 60_000 },
  async (t) => {
    const { lab, dir, peers } = await withDaemon(
      t,
      'xmm',
      [
        'rules:',
        '  - name: strip4',
        '    match: { family: 4, direction: syn }',
        '    action: strip',
        '  - name: set6',
        '    match: { family: 6 }',
        '    action: set',
        '    mss: 1300',
        '',
      ].join('\n'),
    );
    const capture = await captureBothSides(lab, dir, { iface: 'eth0', format: 'pcap' }, { iface: 'eth0', format: 'pcap' });
    const c4 = await peers.transfer(4, 5000);
    const c6 = await peers.transfer(6, 5000);
    const files = await capture.stop();
    const report = await explainJson(files.a, files.b);

    const h4 = byClientPort(report, 'a', c4.localPort, 4);
    assert.ok(h4.a !== null && h4.b !== null);
    assert.deepEqual(h4.changes, ['syn-mss', 'syn-options']);
    assert.equal(h4.a.syn?.mss, 1460);
    assert.equal(h4.b.syn?.mss, null);
    assert.equal(h4.a.syn?.options, 'mss,sok,ts,nop,ws');
    assert.equal(h4.b.syn?.options, 'nop,nop,nop,nop,sok,ts,nop,ws');
    assert.equal(h4.b.synAck?.mss, 1460, 'the SYN/ACK is not touched (direction syn)');
    assertSideMatchesFile(h4.a, await fileFacts(files.a, 4, c4.localPort, SERVER_PORT), 'IPv4 A');
    assertSideMatchesFile(h4.b, await fileFacts(files.b, 4, c4.localPort, SERVER_PORT), 'IPv4 B');
    assert.match(
      h4.explanation.join(' '),
      /The client's SYN has MSS 1460 at A and no MSS option at B: a box between removed it \(overwritten with NOPs, as mssmangler's strip fault does\); the receiver assumes the default 536\./,
    );

    const h6 = byClientPort(report, 'a', c6.localPort, 6);
    assert.ok(h6.a !== null && h6.b !== null);
    assert.deepEqual(h6.changes, ['syn-mss', 'synack-mss']);
    assert.deepEqual([h6.a.syn?.mss, h6.b.syn?.mss, h6.b.synAck?.mss, h6.a.synAck?.mss], [1440, 1300, 1440, 1300]);
    assertSideMatchesFile(h6.a, await fileFacts(files.a, 6, c6.localPort, SERVER_PORT), 'IPv6 A');
    assertSideMatchesFile(h6.b, await fileFacts(files.b, 6, c6.localPort, SERVER_PORT), 'IPv6 B');
    assert.match(
      h6.explanation.join(' '),
      /The client's SYN left A with MSS 1440 and reached B with 1300: a box between lowered it by 140 bytes\./,
    );
  },
);

test('mssmangler duplicate fault: a second MSS option added between A and B', { timeout: 60_000 }, async (t) => {
  const { lab, dir, peers } = await withDaemon(
    t,
    'xmmdup',
    ['rules:', '  - name: dup', '    match: { family: 4, direction: syn }', '    action: duplicate', '    mss: 1200', ''].join('\n'),
  );
  const capture = await captureBothSides(lab, dir, { iface: 'eth0', format: 'pcap' }, { iface: 'eth0', format: 'pcap' });
  const c4 = await peers.transfer(4, 5000);
  const files = await capture.stop();
  const report = await explainJson(files.a, files.b);
  const h = byClientPort(report, 'a', c4.localPort, 4);
  assert.ok(h.a !== null && h.b !== null);
  assert.deepEqual(h.changes, ['syn-mss', 'syn-options']);
  assert.equal(h.b.syn?.mss, 1200, 'the last MSS option counts');
  assert.match(h.b.syn!.options, /^mss,mss,/);
  assert.match(
    h.explanation.join(' '),
    /Options added to the SYN between A and B: mss \(a second MSS option, as mssmangler's duplicate fault adds; a Linux receiver uses the last\)/,
  );
});
