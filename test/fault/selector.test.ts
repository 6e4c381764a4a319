// Selection (config `select:`): the same seed gives the same choices, every Nth match, per-flow
// decisions that a retransmission and the reverse direction share, the cap and the time window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/parse.js';
import { compileRules } from '../../src/rules/rule-set.js';
import { flowHash } from '../../src/rules/selector.js';
import { craft } from '../rules/packet.js';

function ruleSet(select: string, now = 0) {
  const r = parseConfig(`rules:\n  - name: f\n    action: strip\n    select: ${select}\n`, 't.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return compileRules(r.config, now);
}

function choices(select: string, n: number, flows = false): boolean[] {
  const rules = ruleSet(select);
  const out: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const p = craft('198.51.100.2', '203.0.113.2', flows ? 1024 + i : 40000, 80);
    out.push(rules.selector.select(0, p.bytes, p.info, 0));
  }
  return out;
}

test('probability: the same seed gives the same choices, another seed others, about p of them', () => {
  const a = choices('{ probability: 0.3, seed: 7 }', 2000);
  const b = choices('{ probability: 0.3, seed: 7 }', 2000);
  const c = choices('{ probability: 0.3, seed: 8 }', 2000);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const share = a.filter(Boolean).length / a.length;
  assert.ok(share > 0.26 && share < 0.34, `share ${share}`);
  assert.ok(choices('{ probability: 1 }', 100).every(Boolean), 'p = 1 selects all');
});

test('a reload (a new RuleSet) starts the random sequence again', () => {
  assert.deepEqual(choices('{ probability: 0.5, seed: 99 }', 50), choices('{ probability: 0.5, seed: 99 }', 50));
});

test('every: 2 selects the 2nd, 4th, ... match; every: 3 the 3rd, 6th, ...', () => {
  assert.deepEqual(choices('{ every: 2 }', 6), [false, true, false, true, false, true]);
  assert.deepEqual(choices('{ every: 3 }', 6), [false, false, true, false, false, true]);
});

test('maxPackets caps the packets acted on', () => {
  assert.deepEqual(choices('{ maxPackets: 3 }', 5), [true, true, true, false, false]);
  assert.deepEqual(choices('{ every: 2, maxPackets: 2 }', 8), [false, true, false, true, false, false, false, false]);
});

test('perFlow: a retransmitted SYN and the SYN/ACK of the same flow get the same decision', () => {
  const rules = ruleSet('{ probability: 0.5, seed: 5, perFlow: true }');
  let selected = 0;
  for (let port = 30000; port < 30400; port++) {
    const syn = craft('fd00:c::2', 'fd00:5::2', port, 8080);
    const first = rules.selector.select(0, syn.bytes, syn.info, 0);
    for (let retry = 0; retry < 3; retry++) assert.equal(rules.selector.select(0, syn.bytes, syn.info, 0), first, 'retransmission');
    const synAck = craft('fd00:5::2', 'fd00:c::2', 8080, port, true, 13);
    assert.equal(rules.selector.select(0, synAck.bytes, synAck.info, 0), first, 'reverse direction');
    assert.equal(flowHash(syn.bytes, syn.info, 5), flowHash(synAck.bytes, synAck.info, 5));
    if (first) selected++;
  }
  assert.ok(selected > 150 && selected < 250, `${selected} of 400 flows`);
  const other = craft('fd00:c::2', 'fd00:5::2', 30000, 8080);
  assert.notEqual(flowHash(other.bytes, other.info, 5), flowHash(other.bytes, other.info, 6), 'the seed changes the hash');
});

test('the time window counts from start or reload: after and for', () => {
  const rules = ruleSet('{ after: 2, for: 3 }', 1000);
  const p = craft('198.51.100.2', '203.0.113.2', 40000, 80);
  assert.equal(rules.selector.timed, true);
  const at = (ms: number) => rules.selector.select(0, p.bytes, p.info, 1000 + ms);
  assert.deepEqual([at(0), at(1999), at(2000), at(4999), at(5000), at(60000)], [false, false, true, true, false, false]);
  assert.equal(ruleSet('{ every: 1 }').selector.timed, false, 'no window: the handler never reads the clock');
});
