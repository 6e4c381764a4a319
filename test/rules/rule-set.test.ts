import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/parse.js';
import { formatProblem } from '../../src/config/problem.js';
import type { Config } from '../../src/config/config.js';
import { ActionMode, InsertMode } from '../../src/packet/action.js';
import { Direction } from '../../src/packet/direction.js';
import { IFINDEX_ANY, IFINDEX_MISSING, compileRules } from '../../src/rules/rule-set.js';
import { resolveInterfaces } from '../../src/rules/interfaces.js';
import { craft } from './packet.js';

function config(text: string): Config {
  const result = parseConfig(text, 'rules.yaml');
  if (!result.ok) assert.fail(result.problems.map(formatProblem).join('\n'));
  return result.config;
}

// Rule order matters (first match wins); the last rule catches everything left.
const rules = compileRules(
  config(`
rules:
  - name: v4-net
    match: { family: 4, source: "198.51.100.0/24", destinationPort: [443, "8000-8999"] }
    action: set
    mss: 1300
  - name: v6-odd-prefix
    match: { destination: "fd00:0:0:80::/57", direction: synack }
    action: set
    mss: 1200
  - name: marked
    match: { mark: "0x10/0xf0" }
    action: set
    mss: 1100
  - name: via-wg
    match: { outInterface: wg0, inInterface: eth0 }
    action: clamp-to-pmtu
  - name: v4-host-sport
    match: { source: "203.0.113.9", sourcePort: 1000-2000 }
    action: set
    mss: 1000
  - name: syn-v6
    match: { family: 6, direction: syn }
    action: set
    mss: 900
`),
);
// eth0 = 2, wg0 = 5.
resolveInterfaces(rules, (name) => ({ eth0: 2, wg0: 5 })[name] ?? null);

interface Case {
  readonly what: string;
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  readonly synAck?: boolean;
  readonly inIf?: number;
  readonly outIf?: number;
  readonly mark?: number;
  readonly expect: string | null;
}

const cases: readonly Case[] = [
  { what: 'v4 source in /24, port listed', src: '198.51.100.77', dst: '203.0.113.1', sport: 40000, dport: 443, expect: 'v4-net' },
  { what: 'v4 source in /24, port in range', src: '198.51.100.1', dst: '203.0.113.1', sport: 40000, dport: 8999, expect: 'v4-net' },
  { what: 'v4 source in /24, port outside', src: '198.51.100.1', dst: '203.0.113.1', sport: 40000, dport: 9000, expect: null },
  { what: 'v4 source outside /24', src: '198.51.101.1', dst: '203.0.113.1', sport: 40000, dport: 443, expect: null },
  {
    what: 'v6 /57: last bit of the partial byte inside',
    src: 'fd00::1',
    dst: 'fd00:0:0:ff::9',
    sport: 80,
    dport: 5000,
    synAck: true,
    expect: 'v6-odd-prefix',
  },
  { what: 'v6 /57: partial byte outside', src: 'fd00::1', dst: 'fd00:0:0:7f::9', sport: 80, dport: 5000, synAck: true, expect: null },
  {
    what: 'v6 /57 matches synack only; a SYN falls to syn-v6',
    src: 'fd00::1',
    dst: 'fd00:0:0:80::9',
    sport: 80,
    dport: 5000,
    expect: 'syn-v6',
  },
  { what: 'mark under mask', src: '192.0.2.1', dst: '192.0.2.2', sport: 1, dport: 2, mark: 0x1234_5617, expect: 'marked' },
  { what: 'mark with the high bit set', src: '192.0.2.1', dst: '192.0.2.2', sport: 1, dport: 2, mark: 0xffff_ff1f, expect: 'marked' },
  { what: 'mark not under mask', src: '192.0.2.1', dst: '192.0.2.2', sport: 1, dport: 2, mark: 0x20, expect: null },
  { what: 'both interfaces match', src: '192.0.2.1', dst: '192.0.2.2', sport: 1, dport: 2, inIf: 2, outIf: 5, expect: 'via-wg' },
  { what: 'out interface only', src: '192.0.2.1', dst: '192.0.2.2', sport: 1, dport: 2, inIf: 3, outIf: 5, expect: null },
  { what: 'no in interface (OUTPUT)', src: '192.0.2.1', dst: '192.0.2.2', sport: 1, dport: 2, inIf: 0, outIf: 5, expect: null },
  { what: 'one host, sport range', src: '203.0.113.9', dst: '192.0.2.2', sport: 1500, dport: 2, expect: 'v4-host-sport' },
  { what: 'one host, sport outside', src: '203.0.113.9', dst: '192.0.2.2', sport: 2001, dport: 2, expect: null },
  { what: 'neighbour of the host', src: '203.0.113.8', dst: '192.0.2.2', sport: 1500, dport: 2, expect: null },
  { what: 'v6 SYN catch-all', src: '2001:db8::1', dst: '2001:db8::2', sport: 1, dport: 2, expect: 'syn-v6' },
  { what: 'v6 SYN/ACK matches nothing', src: '2001:db8::1', dst: '2001:db8::2', sport: 1, dport: 2, synAck: true, expect: null },
];

for (const c of cases) {
  test(`matcher: ${c.what}`, () => {
    // Offset 37 inside a larger buffer: the matcher must use absolute offsets, never assume 0.
    const { bytes, info } = craft(c.src, c.dst, c.sport, c.dport, c.synAck ?? false, 37);
    const index = rules.match(bytes, info, c.inIf ?? 0, c.outIf ?? 0, c.mark ?? 0);
    assert.equal(index === -1 ? null : rules.names[index], c.expect);
  });
}

test('matcher: first match wins', () => {
  const set = compileRules(
    config('rules:\n  - name: one\n    action: set\n    mss: 1300\n  - name: two\n    action: set\n    mss: 1200\n'),
  );
  const { bytes, info } = craft('192.0.2.1', '192.0.2.2', 1, 2);
  assert.equal(set.match(bytes, info, 0, 0, 0), 0);
});

test('matcher: a packet that is not a handshake segment matches nothing', () => {
  const set = compileRules(config('rules:\n  - name: one\n    action: set\n    mss: 1300\n'));
  const { bytes, info } = craft('192.0.2.1', '192.0.2.2', 1, 2);
  info.direction = Direction.None;
  assert.equal(set.match(bytes, info, 0, 0, 0), -1);
});

test('interfaces: a missing interface leaves its rule matching nothing until it appears', () => {
  const set = compileRules(config('rules:\n  - name: wg\n    match: { outInterface: wg9 }\n    action: set\n    mss: 1300\n'));
  const { bytes, info } = craft('192.0.2.1', '192.0.2.2', 1, 2);
  const links = new Map<string, number>();
  let r = resolveInterfaces(set, (n) => links.get(n) ?? null);
  assert.deepEqual(r.missing, ['wg9']);
  assert.equal(set.outIfIndex[0], IFINDEX_MISSING);
  assert.equal(set.inIfIndex[0], IFINDEX_ANY);
  assert.equal(set.match(bytes, info, 0, 0, 0), -1, 'outdev 0 must not match a missing interface');
  assert.equal(set.match(bytes, info, 0, 7, 0), -1);
  links.set('wg9', 7);
  r = resolveInterfaces(set, (n) => links.get(n) ?? null);
  assert.deepEqual(r, { missing: [], changed: true });
  assert.equal(set.match(bytes, info, 0, 7, 0), 0);
  r = resolveInterfaces(set, (n) => links.get(n) ?? null);
  assert.equal(r.changed, false);
  links.set('wg9', 8);
  assert.equal(resolveInterfaces(set, (n) => links.get(n) ?? null).changed, true);
  assert.equal(set.match(bytes, info, 0, 7, 0), -1, 'the old index no longer matches');
});

test('interfaces: the default lookup reads sysfs (lo is ifindex 1)', () => {
  const set = compileRules(
    config('rules:\n  - name: lo\n    match: { inInterface: lo, outInterface: nosuchif0 }\n    action: set\n    mss: 1300\n'),
  );
  const r = resolveInterfaces(set);
  assert.equal(set.inIfIndex[0], 1);
  assert.deepEqual(r.missing, ['nosuchif0']);
});

test('compile: rules become the packet core actions', () => {
  const set = compileRules(
    config(`dryRun: false
rules:
  - name: a
    match: { direction: syn }
    action: set
    mss: 1380
    allowIncrease: true
    insert: 1220
    dryRun: true
  - name: b
    action: clamp-to-pmtu
    insert: false
  - name: c
    match: { direction: synack }
    action: set
    mss: 1400
`),
  );
  assert.deepEqual(set.actions[0], {
    mode: ActionMode.Set,
    mss: 1380,
    allowIncrease: true,
    directions: Direction.Syn,
    insertMode: InsertMode.Value,
    insertMss: 1220,
  });
  assert.deepEqual(set.actions[1], {
    mode: ActionMode.ClampToPmtu,
    mss: 0,
    allowIncrease: false,
    directions: Direction.Both,
    insertMode: InsertMode.Off,
    insertMss: 0,
  });
  assert.equal(set.actions[2]!.insertMode, InsertMode.Kernel);
  assert.equal(set.actions[2]!.directions, Direction.SynAck);
  assert.deepEqual([...set.dryRun], [1, 0, 0]);
  assert.ok(Object.isFrozen(set.actions[0]));
  const global = compileRules(config('dryRun: true\nrules:\n  - name: a\n    action: set\n    mss: 1380\n'));
  assert.deepEqual([...global.dryRun], [1], 'the global dry run covers every rule');
});

test('matcher: a million matches allocate nothing measurable', () => {
  const { bytes, info } = craft('fd00::1', 'fd00:0:0:ff::9', 80, 5000, true, 3);
  let sum = 0;
  for (let i = 0; i < 10_000; i++) sum += rules.match(bytes, info, 0, 0, 0);
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 1_000_000; i++) sum += rules.match(bytes, info, 0, 0, 0);
  const grown = process.memoryUsage().heapUsed - before;
  assert.equal(sum, 1_010_000);
  // An allocation per call would be tens of megabytes; allow GC noise.
  assert.ok(grown < 4 * 1024 * 1024, `heap grew ${grown} bytes`);
});
