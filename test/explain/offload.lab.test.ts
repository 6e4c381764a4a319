// Segmentation offload left on (the lab turns it off elsewhere): the client's stack hands its veth
// segments of several MSS at once, and tcpdump on the client sees them before anything cuts them.
// explain reports segments larger than the server's MSS in the client's capture and names the cause.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from '../lab/lab.js';
import { Peers, SERVER_PORT } from '../daemon/daemon-lab.js';
import { byClientPort, captureBothSides, explainJson, fileFacts, scratchDir } from './explain-lab.js';

test('TSO/GSO on: segments larger than the MSS at A are called segmentation offload, not a violation', { timeout: 60_000 }, async (t) => {
  const lab = await Lab.create({ tag: 'xtso', checksumOffloadOff: false });
  t.after(() => lab.destroy());
  const peers = await Peers.start(lab);
  const dir = scratchDir(t);
  const capture = await captureBothSides(lab, dir, { iface: 'eth0', format: 'pcap' }, { iface: 'eth0', format: 'pcap' });
  const c4 = await peers.transfer(4, 200_000);
  const files = await capture.stop();
  const report = await explainJson(files.a, files.b);
  const h = byClientPort(report, 'a', c4.localPort, 4);
  assert.ok(h.a !== null && h.b !== null);
  const facts = await fileFacts(files.a, 4, c4.localPort, SERVER_PORT);
  assert.equal(h.a.largestSegmentToServer, facts.largestToServer, 'what tshark sees in the file');
  assert.ok(
    h.a.largestSegmentToServer! > h.a.synAck!.mss!,
    `a segment of ${h.a.largestSegmentToServer} bytes, above the MSS ${h.a.synAck!.mss}`,
  );
  assert.ok(
    h.explanation.some((s) =>
      s.startsWith(
        `At A the client sent segments of up to ${h.a!.largestSegmentToServer} bytes, more than the server's MSS of ${h.a!.synAck!.mss} as the client received it: in the client's own capture that is segmentation offload`,
      ),
    ),
    h.explanation.join('\n'),
  );
});
