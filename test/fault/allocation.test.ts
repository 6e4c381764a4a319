// The fault paths allocate nothing: the core's strip, zero and duplicate, and the handler with
// selection (probability per flow, every, a window) on fault rules, with the info log off (the fault
// line itself allocates by design, one per injected fault).
import { test } from 'node:test';
import { fixedPathMtu } from '../support/fixed-path-mtu.js';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parseConfig } from '../../src/config/parse.js';
import { compileRules } from '../../src/rules/rule-set.js';
import { PacketHandler } from '../../src/daemon/packet-handler.js';
import { PacketCounters } from '../../src/metrics/packet-counters.js';
import { createLogger } from '../../src/log/logger.js';
import { Outcome } from '../../src/packet/outcome.js';
import { Row, STRIDE } from '../../src/native/contract.js';
import { layBatch } from '../support/fake-queue.js';
import { LineCapture } from '../log/capture.js';
import { collectionsDuring } from '../support/collections.js';
import { SYN_ACK, craftIpv4Tcp, craftIpv6Tcp, linuxSynOptions } from '../packet/craft.js';

const CONFIG = `log: { level: warn }
rules:
  - name: strip6
    match: { family: 6, direction: synack }
    action: strip
    select: { probability: 0.5, seed: 3, perFlow: true, after: 0, for: 3600 }
  - name: dup6
    match: { family: 6, direction: syn }
    action: duplicate
    mss: 1000
    select: { every: 2 }
  - name: zero4
    match: { family: 4 }
    action: zero
    select: { probability: 0.5, seed: 9 }
`;

test('handler with fault rules and selection: no garbage collection over a million packets', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const r = parseConfig(CONFIG, 't.yaml');
  assert.ok(r.ok);
  const rules = compileRules(r.config);
  const counters = new PacketCounters(r.config.rules.map((x) => ({ name: x.name, action: x.action })));
  const log = createLogger({ level: 'warn', format: 'json', stream: new LineCapture() });
  const handler = new PacketHandler(rules, counters, fixedPathMtu(1500), { ipv4: 536, ipv6: 1220 }, log);

  // A batch of 32 packets of three kinds and varying ports, laid out as the addon does.
  const packets: Uint8Array[] = [];
  for (let i = 0; i < 32; i++) {
    const kind = i % 3;
    packets.push(
      kind === 0
        ? craftIpv6Tcp({ flags: SYN_ACK, srcPort: 8080, dstPort: 30000 + i, options: linuxSynOptions(1440) })
        : kind === 1
          ? craftIpv6Tcp({ srcPort: 30000 + i, dstPort: 8080, options: linuxSynOptions(1440) })
          : craftIpv4Tcp({ srcPort: 30000 + i, dstPort: 443, options: linuxSynOptions(1460) }),
    );
  }
  const bytes = new Uint8Array(1 << 16);
  const table = new Uint32Array(STRIDE * packets.length);
  const count = layBatch(
    bytes,
    table,
    packets.map((p) => ({ bytes: p })),
  );
  const batch = { bytes, table, count };
  // The handler rewrites in place: restore the laid-out bytes (a copy, made once) before every batch.
  const pristine = bytes.slice();
  const run = (n: number): void => {
    for (let k = 0; k < n; k++) {
      bytes.set(pristine);
      for (let i = 0; i < count; i++) table[i * STRIDE + Row.newLength] = 0;
      handler.handle(batch);
    }
  };
  // Optimising compilation runs on a background thread; on a loaded box the optimised code may land
  // late (under a load average of 20-30 three tries were sometimes not enough), and the interpreter
  // boxes numbers. Warm up long, then allow eight tries: the steady state must be allocation-free in at
  // least one whole run of a million packets, which an allocation per packet or per batch never is.
  run(20_000);
  const tries: number[] = [];
  for (let attempt = 0; attempt < 8 && tries.at(-1) !== 0; attempt++) {
    gc();
    tries.push(await collectionsDuring(() => run(32_000)));
  }
  assert.equal(tries.at(-1), 0, `collections per try ${tries.join(', ')}: the fault path allocated`);
  let faults = 0;
  for (let rule = 0; rule < 3; rule++) {
    faults +=
      counters.outcomeCount(rule, Outcome.Stripped) +
      counters.outcomeCount(rule, Outcome.Duplicated) +
      counters.outcomeCount(rule, Outcome.Zeroed);
    assert.ok(counters.outcomeCount(rule, Outcome.NotSelected) > 0, `rule ${rule} passed some over`);
  }
  assert.ok(faults > 100_000, `${faults} faults injected`);
});
