// Selection with several queue workers means what it means with one queue: two Selectors over the
// same SelectionMemory (two workers of one configuration) pick every Nth match across both, stop at
// one shared cap, draw one random sequence between them, and choose per flow alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/parse.js';
import { Selector, selectionMemory } from '../../src/rules/selector.js';
import { PacketInfo } from '../../src/packet/packet-info.js';
import { parsePacket } from '../../src/packet/parse.js';
import { craftIpv4Tcp, linuxSynOptions } from '../packet/craft.js';

function rules(select: string) {
  const r = parseConfig(`rules:\n  - name: r\n    action: strip\n    select: ${select}\n`, 't.yaml');
  assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
  return r.config.rules;
}

const packet = craftIpv4Tcp({ srcPort: 1234, dstPort: 80, options: linuxSynOptions(1460) });
const info = new PacketInfo();
parsePacket(packet, 0, packet.length, info);

/** Which of n matches are selected, alternating between two selectors (or all on one). */
function picks(select: string, n: number, two: boolean): boolean[] {
  const rs = rules(select);
  const memory = selectionMemory(rs);
  const a = new Selector(rs, 0, memory);
  const b = two ? new Selector(rs, 0, memory) : a;
  return Array.from({ length: n }, (_, i) => (i % 2 === 0 ? a : b).select(0, packet, info, 0));
}

test('shared selection: every, maxPackets and the random sequence behave as on one queue', () => {
  for (const select of [
    '{ every: 3 }',
    '{ maxPackets: 5 }',
    '{ probability: 0.3, seed: 7 }',
    '{ every: 2, probability: 0.5, seed: 1, maxPackets: 9 }',
  ]) {
    const one = picks(select, 200, false);
    assert.deepEqual(picks(select, 200, true), one, select);
    assert.ok(one.some((x) => x) && one.some((x) => !x), `${select} selects some, not all`);
  }
  assert.equal(picks('{ maxPackets: 5 }', 50, true).filter((x) => x).length, 5, 'one cap across both');
});

test('shared selection: per-flow choices depend only on the flow', () => {
  const rs = rules('{ probability: 0.5, seed: 3, perFlow: true }');
  const a = new Selector(rs, 0, selectionMemory(rs));
  const b = new Selector(rs, 0, selectionMemory(rs));
  for (let port = 1000; port < 1100; port++) {
    const p = craftIpv4Tcp({ srcPort: port, dstPort: 80, options: linuxSynOptions(1460) });
    const i = new PacketInfo();
    parsePacket(p, 0, p.length, i);
    assert.equal(a.select(0, p, i, 0), b.select(0, p, i, 0));
  }
});
