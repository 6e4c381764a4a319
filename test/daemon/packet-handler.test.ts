// PacketHandler on a fake batch: a buffer and a descriptor table laid out as the addon lays them out
// (src/native/contract.ts), with packets from test/packet/craft.ts. No queue, no kernel: what the handler
// writes into the rows and the bytes, and what it counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/parse.js';
import { PacketHandler, type PathMtuSource } from '../../src/daemon/packet-handler.js';
import { createLogger } from '../../src/log/logger.js';
import { PacketCounters, PmtuFallback } from '../../src/metrics/packet-counters.js';
import { Outcome } from '../../src/packet/index.js';
import { PacketFlag, Row, STRIDE } from '../../src/native/contract.js';
import type { QueueBatch } from '../../src/queue/queue.js';
import { compileRules } from '../../src/rules/rule-set.js';
import { LineCapture, settle } from '../log/capture.js';
import { craftIpv4Tcp, craftIpv6Tcp, linuxSynOptions } from '../packet/craft.js';
import { readSyn } from '../queue/syn.js';
import { layBatch } from '../support/fake-queue.js';

const CONFIG = `
rules:
  - name: set-1380
    match: { destinationPort: 80 }
    action: set
    mss: 1380
  - name: dry
    match: { destinationPort: 81 }
    action: set
    mss: 1300
    dryRun: true
  - name: clamp
    match: { destinationPort: 82 }
    action: clamp-to-pmtu
`;
const RULE = { set: 0, dry: 1, clamp: 2 } as const;

/** A PathMtuSource that knows nothing: every lookup fails, as with no route at all. */
class UnknownPathMtu implements PathMtuSource {
  lookups = 0;
  readonly linkFallbacks = 0;
  readonly budgetFallbacks = 0;
  batches = 0;
  beginBatch(): void {
    this.batches++;
  }
  lookup(): number {
    this.lookups++;
    return 0;
  }
}

interface Packet {
  bytes: Uint8Array;
  flags?: number;
  /** The kernel's length, if the copy is shorter (a truncated row). */
  origLength?: number;
}

function setUp(configText = CONFIG) {
  const parsed = parseConfig(configText, 'test.yaml');
  assert.ok(parsed.ok, JSON.stringify(parsed));
  const config = parsed.config;
  const counters = new PacketCounters(config.rules.map((r) => ({ name: r.name, action: r.action })));
  const pmtu = new UnknownPathMtu();
  const log = new LineCapture();
  const logger = createLogger({ level: 'debug', format: 'json', stream: log });
  const handler = new PacketHandler(
    compileRules(config),
    counters,
    pmtu,
    { ipv4: config.pmtu.floorIpv4, ipv6: config.pmtu.floorIpv6 },
    logger,
  );
  const bytes = new Uint8Array(1 << 16);
  const table = new Uint32Array(STRIDE * 16);

  /** Lays the packets out as the addon does and runs one batch; returns each packet's start offset. */
  const runBatch = (packets: Packet[]): number[] => {
    const count = layBatch(bytes, table, packets);
    const batch: QueueBatch = { bytes, table, count };
    handler.handle(batch);
    return Array.from({ length: count }, (_, i) => table[i * STRIDE + Row.offset]!);
  };
  const row = (i: number, field: number): number => table[i * STRIDE + field]!;
  /** The MSS option of the packet now in the buffer, after checking its TCP checksum. */
  const mssAt = (start: number, length: number): number => {
    const view = readSyn(bytes.subarray(start, start + length));
    assert.ok(view && view.mss >= 0, 'a TCP segment with an MSS option');
    assert.ok(view.checksumOk, 'TCP checksum valid after the rewrite');
    return view.mss;
  };
  return { counters, pmtu, log, runBatch, row, mssAt, bytes };
}

const syn4 = (dstPort: number, mss = 1460) => craftIpv4Tcp({ dstPort, options: linuxSynOptions(mss) });
const syn6 = (dstPort: number, mss = 1440) => craftIpv6Tcp({ dstPort, options: linuxSynOptions(mss) });

test('a matching set rule rewrites the bytes in place and sets newLength', async () => {
  const { counters, log, runBatch, row, mssAt } = setUp();
  const packet = syn4(80);
  const [start] = runBatch([{ bytes: packet }]);
  assert.equal(row(0, Row.newLength), packet.length, 'newLength = the (unchanged) packet length: modified');
  assert.equal(row(0, Row.verdict), 1, 'verdict stays accept');
  assert.equal(mssAt(start!, packet.length), 1380);
  assert.equal(counters.outcomeCount(RULE.set, Outcome.Modified), 1);
  assert.equal(counters.mssBeforeSum[RULE.set], 1460);
  assert.equal(counters.mssAfterSum[RULE.set], 1380);
  await settle();
  const line = log.json().find((l) => l['msg'] === 'mss rewritten');
  assert.ok(line, 'debug log line for the change');
  assert.equal(line['rule'], 'set-1380');
  assert.equal(line['oldMss'], 1460);
  assert.equal(line['newMss'], 1380);
  assert.equal(line['flow'], '198.51.100.1.40000 > 203.0.113.1.80');
});

test('a dry-run rule counts what would change but leaves the bytes and newLength alone', () => {
  const { counters, runBatch, row, bytes } = setUp();
  const packet = syn6(81);
  const [start] = runBatch([{ bytes: packet }]);
  assert.deepEqual(bytes.subarray(start!, start! + packet.length), packet, 'bytes untouched');
  assert.equal(row(0, Row.newLength), 0, 'newLength 0: sent unchanged');
  assert.equal(counters.outcomeCount(RULE.dry, Outcome.Modified), 1, 'counted as the change it would make');
  assert.equal(counters.mssBeforeSum[RULE.dry], 1440);
  assert.equal(counters.mssAfterSum[RULE.dry], 1300);
});

test('no matching rule: accepted unchanged, counted as no-rule-matched under (none)', () => {
  const { counters, runBatch, row, bytes } = setUp();
  const packet = syn4(83);
  const [start] = runBatch([{ bytes: packet }]);
  assert.deepEqual(bytes.subarray(start!, start! + packet.length), packet);
  assert.equal(row(0, Row.newLength), 0);
  assert.equal(counters.outcomeCount(counters.noRule, Outcome.NoRuleMatched), 1);
  assert.equal(counters.rowLabel(counters.noRule).name, '(none)');
  for (const r of Object.values(RULE)) assert.equal(counters.outcomeCount(r, Outcome.Modified), 0);
});

test('an MSS already below the target is left alone, counted, and observed unchanged in both histograms', () => {
  const { counters, runBatch, row, bytes } = setUp();
  const packet = syn4(80, 1200);
  const [start] = runBatch([{ bytes: packet }]);
  assert.deepEqual(bytes.subarray(start!, start! + packet.length), packet);
  assert.equal(row(0, Row.newLength), 0);
  assert.equal(counters.outcomeCount(RULE.set, Outcome.AlreadyAtOrBelow), 1);
  assert.equal(counters.mssBeforeSum[RULE.set], 1200, 'MSS as received');
  assert.equal(counters.mssAfterSum[RULE.set], 1200, 'MSS as sent');
});

test('a truncated row is never modified, even when a rule would match', () => {
  const { counters, runBatch, row, bytes } = setUp();
  const packet = syn4(80);
  const [start] = runBatch([{ bytes: packet, flags: PacketFlag.truncated, origLength: packet.length + 100 }]);
  assert.deepEqual(bytes.subarray(start!, start! + packet.length), packet);
  assert.equal(row(0, Row.newLength), 0);
  assert.equal(counters.outcomeCount(counters.noRule, Outcome.Truncated), 1);
  assert.equal(counters.outcomeCount(RULE.set, Outcome.Modified), 0);
});

test('clamp-to-pmtu with no known path MTU uses the floor (536 IPv4, 1220 IPv6) and counts the fallback', () => {
  const { counters, pmtu, runBatch, row, mssAt } = setUp();
  const p4 = syn4(82);
  const p6 = syn6(82);
  const [s4, s6] = runBatch([{ bytes: p4 }, { bytes: p6 }]);
  assert.equal(pmtu.lookups, 2);
  assert.equal(mssAt(s4!, p4.length), 536);
  assert.equal(mssAt(s6!, p6.length), 1220);
  assert.equal(row(0, Row.newLength), p4.length);
  assert.equal(row(1, Row.newLength), p6.length);
  assert.equal(counters.outcomeCount(RULE.clamp, Outcome.Modified), 2);
  assert.equal(counters.pmtuLookups, 2);
  assert.equal(counters.pmtuLookupFailures, 2);
  assert.equal(counters.pmtuFallbacks[PmtuFallback.Floor], 2);
  assert.equal(counters.pmtuFallbacks[PmtuFallback.InterfaceMtu], 0);
});

test('an unparseable packet is accepted unchanged and counted under rule (none); the batch goes on', () => {
  const { counters, runBatch, row, mssAt } = setUp();
  const garbage = Uint8Array.from([0x45, 0, 0, 60, 1, 2, 3]); // IPv4 header cut at 7 bytes
  const good = syn4(80);
  const [, start] = runBatch([{ bytes: garbage }, { bytes: good }]);
  assert.equal(row(0, Row.newLength), 0);
  assert.equal(counters.outcomeCount(counters.noRule, Outcome.MalformedIp), 1);
  assert.equal(counters.rowLabel(counters.noRule).name, '(none)');
  assert.equal(mssAt(start!, good.length), 1380, 'the next packet of the batch is still rewritten');
  assert.equal(counters.batchSum, 2);
});

test('a batch starts the route cache (its clock read) only when some rule clamps to the path MTU', () => {
  const withClamp = setUp();
  withClamp.runBatch([{ bytes: syn4(80) }]);
  withClamp.runBatch([{ bytes: syn4(80) }, { bytes: syn6(80) }]);
  assert.equal(withClamp.pmtu.batches, 2, 'one beginBatch per batch');
  const setOnly = setUp(CONFIG.slice(0, CONFIG.indexOf('  - name: dry')));
  setOnly.runBatch([{ bytes: syn4(80) }]);
  assert.equal(setOnly.pmtu.batches, 0, 'no clamp-to-pmtu rule: the cache is never asked');
  assert.equal(setOnly.counters.outcomeCount(RULE.set, Outcome.Modified), 1);
});
