// The batch handler with fault rules: selected packets are changed and logged at info with the flow,
// the option bytes before and after and the rule; unselected ones pass unchanged as not-selected;
// metric rows carry the mode as the action label.
import { test } from 'node:test';
import { fixedPathMtu } from '../support/fixed-path-mtu.js';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/parse.js';
import { compileRules } from '../../src/rules/rule-set.js';
import { PacketHandler } from '../../src/daemon/packet-handler.js';
import { PacketCounters } from '../../src/metrics/packet-counters.js';
import { DaemonMetrics } from '../../src/metrics/daemon-metrics.js';
import { createLogger } from '../../src/log/logger.js';
import { Outcome } from '../../src/packet/outcome.js';
import { Row, STRIDE, TAILROOM } from '../../src/native/contract.js';
import { layBatch } from '../support/fake-queue.js';
import { LineCapture, settle } from '../log/capture.js';
import { craftIpv6Tcp, hex, linuxSynOptions, SYN_ACK } from '../packet/craft.js';

const CONFIG = `rules:
  - name: lab-strip
    match: { family: 6, direction: synack }
    action: strip
    select: { every: 2 }
  - name: lab-dup
    match: { family: 6, direction: syn }
    action: duplicate
    mss: 1200
`;

function setup(text = CONFIG) {
  const r = parseConfig(text, 't.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  const rules = compileRules(r.config);
  const counters = new PacketCounters(r.config.rules.map((x) => ({ name: x.name, action: x.action })));
  const stream = new LineCapture();
  const log = createLogger({ level: 'info', format: 'json', stream });
  const pmtu = fixedPathMtu(1500);
  const handler = new PacketHandler(rules, counters, pmtu, { ipv4: 536, ipv6: 1220 }, log);
  return { handler, counters, stream };
}

/** One packet in a batch buffer with the queue's tailroom, as the addon hands it over. */
function batchOf(packet: Uint8Array) {
  const bytes = new Uint8Array(packet.length + TAILROOM);
  const table = new Uint32Array(STRIDE);
  return { bytes, table, count: layBatch(bytes, table, [{ bytes: packet }]) };
}

test('strip with every: 2: the first SYN/ACK passes as not-selected, the second is stripped and logged at info', async () => {
  const { handler, counters, stream } = setup();
  const packet = craftIpv6Tcp({ flags: SYN_ACK, options: linuxSynOptions(1440) });
  const first = batchOf(packet);
  handler.handle(first);
  assert.equal(first.table[Row.newLength], 0, 'unchanged');
  assert.deepEqual(first.bytes.subarray(0, packet.length), packet);
  assert.equal(counters.outcomeCount(0, Outcome.NotSelected), 1);

  const second = batchOf(packet);
  handler.handle(second);
  assert.equal(second.table[Row.newLength], packet.length, 'same length: NOPs, not removal');
  assert.equal(counters.outcomeCount(0, Outcome.Stripped), 1);
  await settle();
  const lines = stream.json().filter((l) => l.msg === 'fault injected');
  assert.equal(lines.length, 1);
  const line = lines[0]!;
  assert.equal(line.level, 'info');
  assert.equal(line.rule, 'lab-strip');
  assert.equal(line.mode, 'strip');
  assert.equal(line.outcome, 'stripped');
  assert.match(String(line.flow), /^fd00:.*\.\d+ > fd00:.*\.\d+$/);
  assert.equal(line.optionsBefore, hex(linuxSynOptions(1440)));
  assert.equal(line.optionsAfter, '01010101' + hex(linuxSynOptions(1440)).slice(8));
  assert.equal(line.oldMss, 1440);
});

test('duplicate grows the SYN by 4 and logs both option areas; the metrics label the mode', async () => {
  const { handler, counters, stream } = setup();
  const packet = craftIpv6Tcp({ options: linuxSynOptions(1440) });
  const b = batchOf(packet);
  handler.handle(b);
  assert.equal(b.table[Row.newLength], packet.length + 4);
  assert.equal(counters.outcomeCount(1, Outcome.Duplicated), 1);
  await settle();
  const line = stream.json().find((l) => l.msg === 'fault injected')!;
  assert.equal(line.rule, 'lab-dup');
  assert.equal(line.optionsAfter, '020405a0' + '020404b0' + hex(linuxSynOptions(1440)).slice(8));
  assert.equal(line.newMss, 1200);
  const text = await new DaemonMetrics(counters, { queue: 0 }).exposition();
  assert.match(text, /rule="lab-dup",action="duplicate",outcome="duplicated"\} 1/);
  assert.match(text, /rule="lab-strip",action="strip"/);
});

test('oversize is a fault: logged at info; a dry run logs the would-be bytes and sends the packet unchanged', async () => {
  const { handler, counters, stream } = setup(`rules:
  - name: big
    action: oversize
    mss: 1440
    dryRun: true
`);
  const packet = craftIpv6Tcp({ flags: SYN_ACK, options: linuxSynOptions(1220) });
  const b = batchOf(packet);
  handler.handle(b);
  assert.equal(b.table[Row.newLength], 0);
  assert.deepEqual(b.bytes.subarray(0, packet.length), packet);
  assert.equal(counters.outcomeCount(0, Outcome.Modified), 1);
  await settle();
  const line = stream.json().find((l) => l.msg === 'fault injected')!;
  assert.equal(line.mode, 'oversize');
  assert.equal(line.dryRun, true);
  assert.equal(line.oldMss, 1220);
  assert.equal(line.newMss, 1440);
  assert.equal(String(line.optionsAfter).slice(0, 8), '020405a0');
});
