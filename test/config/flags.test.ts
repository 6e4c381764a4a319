import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildConfig } from '../../src/config/parse.js';
import { formatProblem } from '../../src/config/problem.js';
import type { Config } from '../../src/config/config.js';
import type { ConfigFlags } from '../../src/config/flags.js';

const file = {
  name: 'f.yaml',
  text: `queue: 2
failOpen: true
log: { level: warn, format: text }
rules:
  - name: a
    match: { family: 4, direction: syn }
    action: set
    mss: 1400
  - name: b
    action: clamp-to-pmtu
`,
};

function build(f: { text: string; name: string } | null, flags: ConfigFlags): Config {
  const result = buildConfig(f, flags);
  if (!result.ok) assert.fail(result.problems.map(formatProblem).join('\n'));
  return result.config;
}

test('flags: top-level flags override the file, the rest of the file stays', () => {
  const c = build(file, { queue: 9, failOpen: false, logLevel: 'debug', metricsListen: '127.0.0.1:9999', dryRun: true, queueMaxLen: 10 });
  assert.equal(c.queue, 9);
  assert.equal(c.failOpen, false);
  assert.equal(c.dryRun, true);
  assert.equal(c.queueMaxLen, 10);
  assert.deepEqual(c.log, { level: 'debug', format: 'text' });
  assert.deepEqual(c.metrics, { host: '127.0.0.1', port: 9999 });
  assert.deepEqual(
    c.rules.map((r) => [r.name, r.action, r.mss]),
    [
      ['a', 'set', 1400],
      ['b', 'clamp-to-pmtu', 0],
    ],
  );
});

test('flags: rule flags apply to every rule of the file', () => {
  const c = build(file, { setMss: 1300, allowIncrease: true, direction: 'synack' });
  for (const r of c.rules) {
    assert.equal(r.action, 'set');
    assert.equal(r.mss, 1300);
    assert.equal(r.allowIncrease, true);
    assert.equal(r.match.direction, 'synack');
  }
  assert.equal(c.rules[0]!.match.family, 4, 'match fields the flags do not name stay');
  const clamp = build(file, { clampMssToPmtu: true });
  assert.deepEqual(
    clamp.rules.map((r) => [r.action, r.mss]),
    [
      ['clamp-to-pmtu', 0],
      ['clamp-to-pmtu', 0],
    ],
  );
});

test('flags: flags alone make one rule named cli, direction both', () => {
  const c = build(null, { setMss: 1380 });
  assert.equal(c.file, null);
  assert.equal(c.rules.length, 1);
  const r = c.rules[0]!;
  assert.equal(r.name, 'cli');
  assert.equal(r.action, 'set');
  assert.equal(r.mss, 1380);
  assert.equal(r.match.direction, 'both');
  assert.equal(r.match.family, 'both');
  assert.equal(r.allowIncrease, false);
  assert.ok(Object.isFrozen(c.rules[0]));
  assert.equal(build(null, { clampMssToPmtu: true, direction: 'syn' }).rules[0]!.match.direction, 'syn');
});

test('flags: a file without rules takes the rule from flags', () => {
  const c = build({ name: 'g.yaml', text: 'queue: 4\n' }, { setMss: 1200 });
  assert.equal(c.queue, 4);
  assert.deepEqual(
    c.rules.map((r) => [r.name, r.mss]),
    [['cli', 1200]],
  );
});

test('flags: metrics off', () => {
  assert.equal(build(null, { setMss: 1380, metricsListen: 'off' }).metrics, null);
});

test('flags: a problem caused by a flag names the flag, not a file line', () => {
  const result = buildConfig(file, { setMss: 65500 });
  assert.equal(result.ok, false);
  if (result.ok) return;
  // Rule a is family 4 (65515 allowed); rule b matches both families, so 65495 is its bound.
  assert.deepEqual(result.problems.map(formatProblem), [
    '--set-mss: 65500 is above 65495, the largest IPv6 MSS (the rule matches both families; IPv4 allows 65515 with family: 4); use 48..65495',
  ]);
  const level = buildConfig(null, { setMss: 1380, logLevel: 'loud' });
  assert.equal(level.ok, false);
  if (!level.ok)
    assert.match(formatProblem(level.problems[0]!), /^--log-level: "loud" is not allowed; use one of error, warn, info, debug$/);
});

test('flags: no file and no rule flags is one problem that says what to give', () => {
  const result = buildConfig(null, { queue: 1 });
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.problems.length, 1);
  assert.match(formatProblem(result.problems[0]!), /give --set-mss N or --clamp-mss-to-pmtu, or --config FILE/);
});

test("flags: --manage-firewall sets firewall.manage and keeps the file's checkInterval; --no-manage-firewall turns it off", () => {
  const withFirewall = { name: 'f.yaml', text: `firewall: { manage: false, checkInterval: 2 }\n${file.text}` };
  assert.deepEqual(build(withFirewall, { manageFirewall: true }).firewall, { manage: true, checkIntervalMs: 2000 });
  assert.deepEqual(build(file, { manageFirewall: true }).firewall, { manage: true, checkIntervalMs: 5000 });
  const on = { name: 'f.yaml', text: `firewall: { manage: true }\n${file.text}` };
  assert.deepEqual(build(on, { manageFirewall: false }).firewall, { manage: false, checkIntervalMs: 5000 });
  assert.deepEqual(build(on, {}).firewall, { manage: true, checkIntervalMs: 5000 });
  // A broken firewall: in the file is still the file's problem, with its line.
  const broken = buildConfig({ name: 'f.yaml', text: `firewall: 3\n${file.text}` }, { manageFirewall: true });
  assert.ok(!broken.ok);
  if (!broken.ok) assert.match(formatProblem(broken.problems[0]!), /^f\.yaml:1: firewall: is 3; write a mapping/);
});
