// The alerting rules shipped in contrib/prometheus: promtool accepts them, its unit tests
// (mssmangler.rules.test.yml) fire each alert on the failure it names and not on the healthy series
// beside it, and every mssmangler_ metric a rule reads is one the daemon exports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const DIR = join(process.cwd(), 'contrib', 'prometheus');
const RULES = join(DIR, 'mssmangler.rules.yml');

/** Metrics that issues 8 (firewall guard) and 11 (queue workers) add; each must be exported once they land. */
function promtool(args: string[]): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { cwd: DIR, encoding: 'utf8' });
  assert.equal(r.error, undefined, 'promtool runs (package prometheus, scripts/install-system-deps.sh)');
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

test('promtool check rules accepts contrib/prometheus/mssmangler.rules.yml', () => {
  const r = promtool(['check', 'rules', 'mssmangler.rules.yml']);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /SUCCESS: \d+ rules found/);
});

test('promtool test rules: every alert fires on its failure and stays quiet otherwise', () => {
  const r = promtool(['test', 'rules', 'mssmangler.rules.test.yml']);
  assert.equal(r.status, 0, r.output);
  // Every alert has at least one case in the unit tests.
  const alerts = [...readFileSync(RULES, 'utf8').matchAll(/- alert: (\w+)/g)].map((m) => m[1]!);
  const tests = readFileSync(join(DIR, 'mssmangler.rules.test.yml'), 'utf8');
  const untested = alerts.filter((a) => !tests.includes(`alertname: ${a}\n`));
  assert.deepEqual(untested, []);
});

/** Every metric name a string literal under src/ gives (src/metrics/ holds them today). */
function exportedMetrics(): Set<string> {
  const names = new Set<string>();
  for (const entry of readdirSync(join(process.cwd(), 'src'), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    for (const m of readFileSync(join(entry.parentPath, entry.name), 'utf8').matchAll(/'(mssmangler_[a-z_]+)'/g)) names.add(m[1]!);
  }
  return names;
}

test('the rules read only metrics the daemon exports', () => {
  const exported = exportedMetrics();
  assert.ok(exported.has('mssmangler_queue_bypassed_packets_total'), 'names read from src/');
  const used = new Set([...readFileSync(RULES, 'utf8').matchAll(/\b(mssmangler_[a-z_]+)/g)].map((m) => m[1]!));
  const unknown = [...used].filter((name) => !exported.has(name));
  assert.deepEqual(unknown, [], 'metrics in the rules that src/ does not export');
});
