// Fault actions and `select:` in the configuration: what parses, and every mistake reported at its
// path with the fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/parse.js';
import { formatProblem } from '../../src/config/problem.js';
import { compileAction } from '../../src/rules/rule-set.js';
import { ActionMode } from '../../src/packet/action.js';

function rules(body: string): string {
  return `rules:\n  - name: f\n${body}`;
}

function parse(body: string) {
  return parseConfig(rules(body), 'test.yaml');
}

test('fault actions parse and compile to their modes (oversize = set with allowIncrease)', () => {
  const cases: Array<[string, number, number, boolean]> = [
    ['    action: oversize\n    mss: 1440\n', ActionMode.Set, 1440, true],
    ['    action: strip\n', ActionMode.Strip, 0, false],
    ['    action: zero\n', ActionMode.Zero, 0, false],
    ['    action: duplicate\n    mss: 9000\n', ActionMode.Duplicate, 9000, false],
  ];
  for (const [body, mode, mss, allowIncrease] of cases) {
    const r = parse(body);
    assert.ok(r.ok, r.ok ? '' : r.problems.map(formatProblem).join('\n'));
    const action = compileAction(r.config.rules[0]!);
    assert.equal(action.mode, mode, body);
    assert.equal(action.mss, mss);
    assert.equal(action.allowIncrease, allowIncrease);
  }
});

test('select: every field parses; defaults are seed 0, every 1, no cap, no window', () => {
  const r = parse(
    '    action: strip\n    select: { probability: 0.25, seed: 42, perFlow: true, every: 3, maxPackets: 10, after: 1.5, for: 60 }\n',
  );
  assert.ok(r.ok, r.ok ? '' : r.problems.map(formatProblem).join('\n'));
  assert.deepEqual(r.config.rules[0]!.select, {
    probability: 0.25,
    seed: 42,
    perFlow: true,
    every: 3,
    maxPackets: 10,
    after: 1.5,
    for: 60,
  });
  const d = parse('    action: zero\n    select: { every: 2 }\n');
  assert.ok(d.ok);
  assert.deepEqual(d.config.rules[0]!.select, {
    probability: null,
    seed: 0,
    perFlow: false,
    every: 2,
    maxPackets: null,
    after: 0,
    for: null,
  });
  const none = parse('    action: zero\n');
  assert.ok(none.ok);
  assert.equal(none.config.rules[0]!.select, null);
});

const bad: Array<[string, string, string, RegExp]> = [
  ['oversize without mss', '    action: oversize\n', 'rules[0]', /action oversize needs "mss: N"/],
  ['duplicate without mss', '    action: duplicate\n', 'rules[0]', /second MSS option/],
  ['strip with mss', '    action: strip\n    mss: 1000\n', 'rules[0].mss', /strip takes no MSS; remove mss/],
  [
    'oversize with allowIncrease false',
    '    action: oversize\n    mss: 1440\n    allowIncrease: false\n',
    'rules[0].allowIncrease',
    /oversize always raises/,
  ],
  ['zero with allowIncrease', '    action: zero\n    allowIncrease: true\n', 'rules[0].allowIncrease', /remove allowIncrease/],
  [
    'duplicate with insert',
    '    action: duplicate\n    mss: 1000\n    insert: false\n',
    'rules[0].insert',
    /never inserts one; remove insert/,
  ],
  ['unknown action', '    action: strp\n', 'rules[0].action', /did you mean "strip"/],
  ['probability 0', '    action: strip\n    select: { probability: 0 }\n', 'rules[0].select.probability', /above 0 and at most 1/],
  ['probability 1.5', '    action: strip\n    select: { probability: 1.5 }\n', 'rules[0].select.probability', /above 0 and at most 1/],
  ['probability as text', '    action: strip\n    select: { probability: "50%" }\n', 'rules[0].select.probability', /not a probability/],
  [
    'seed without probability',
    '    action: strip\n    select: { seed: 3, every: 2 }\n',
    'rules[0].select.seed',
    /only matters with probability/,
  ],
  ['negative seed', '    action: strip\n    select: { probability: 0.5, seed: -1 }\n', 'rules[0].select.seed', /0\.\.4294967295/],
  ['perFlow without probability', '    action: strip\n    select: { perFlow: true }\n', 'rules[0].select.perFlow', /add "probability: P"/],
  ['every 0', '    action: strip\n    select: { every: 0 }\n', 'rules[0].select.every', /1\.\.4294967295/],
  ['every 1.5', '    action: strip\n    select: { every: 1.5 }\n', 'rules[0].select.every', /use an integer/],
  ['maxPackets 0', '    action: strip\n    select: { maxPackets: 0 }\n', 'rules[0].select.maxPackets', /out of range/],
  ['negative after', '    action: strip\n    select: { after: -1 }\n', 'rules[0].select.after', /seconds/],
  ['for 0', '    action: strip\n    select: { for: 0 }\n', 'rules[0].select.for', /above 0/],
  ['unknown select key', '    action: strip\n    select: { evry: 2 }\n', 'rules[0].select.evry', /did you mean "every"/],
  ['empty select', '    action: strip\n    select: {}\n', 'rules[0].select', /is empty/],
  ['select not a mapping', '    action: strip\n    select: 2\n', 'rules[0].select', /write a mapping/],
];

for (const [what, body, path, fix] of bad) {
  test(`config rejects ${what}, at ${path}, with the fix`, () => {
    const r = parse(body);
    assert.ok(!r.ok, 'rejected');
    const problem = r.problems.find((p) => p.path === path);
    assert.ok(problem, `a problem at ${path}: ${r.problems.map(formatProblem).join('; ')}`);
    assert.match(problem.message, fix);
    assert.ok(problem.line !== null, 'with its line');
  });
}

test('every YAML example in docs/fault-injection.md is a valid configuration', async () => {
  const { readFileSync } = await import('node:fs');
  const guide = readFileSync('docs/fault-injection.md', 'utf8');
  const blocks = [...guide.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length >= 2, `${blocks.length} yaml blocks`);
  for (const block of blocks) {
    const r = parseConfig(block, 'docs/fault-injection.md');
    assert.ok(r.ok, r.ok ? '' : r.problems.map(formatProblem).join('\n'));
  }
});
