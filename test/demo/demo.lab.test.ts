// `npm run demo` is the README's first command: run the built script as a newcomer would and hold it
// to what the README shows (every MSS rewritten, the counter, clean exit, nothing left behind).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const demoScript = join(process.cwd(), 'dist/scripts/demo.js');

interface DemoRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runDemo(args: readonly string[]): Promise<DemoRun> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [demoScript, ...args], { timeout: 90_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

function namespacesOf(stdout: string): string[] {
  const m = /^lab: namespaces (\S+), (\S+), (\S+)$/m.exec(stdout);
  assert.ok(m, `the demo names its namespaces:\n${stdout}`);
  return [m[1]!, m[2]!, m[3]!];
}

function assertCleanedUp(stdout: string): void {
  const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const ns of namespacesOf(stdout)) assert.ok(!left.includes(ns), `namespace ${ns} removed`);
}

function assertTable(stdout: string, rows: ReadonlyArray<[string, string, number, number]>): void {
  for (const [family, segment, sent, received] of rows) {
    const [sender, receiver] = segment === 'SYN' ? ['client', 'server'] : ['server', 'client'];
    const line = new RegExp(
      `^ +${family} +${segment.replace('/', '\\/')} +${sender} sent ${sent} +-> ${receiver} received ${received} +rewritten, checksum ok$`,
      'm',
    );
    assert.match(stdout, line);
  }
}

test('npm run demo: every SYN and SYN/ACK leaves the router at MSS 1380, over IPv4 and IPv6', async () => {
  const run = await runDemo([]);
  assert.equal(run.code, 0, `demo failed:\n${run.stdout}\n${run.stderr}`);
  assertTable(run.stdout, [
    ['IPv4', 'SYN', 1460, 1380],
    ['IPv4', 'SYN/ACK', 1460, 1380],
    ['IPv6', 'SYN', 1440, 1380],
    ['IPv6', 'SYN/ACK', 1440, 1380],
  ]);
  assert.match(run.stdout, /^ +mssmangler_packets_total\{rule="cli",action="set",outcome="modified"\} 4$/m);
  assert.match(run.stdout, /^ +mssmangler_mss_after_bytes_sum\{rule="cli",action="set"\} 5520$/m);
  assert.match(run.stdout, /^ +iptables: 2 rule\(s\) removed$/m);
  assert.match(run.stdout, /^router: daemon stopped \(exit 0\)$/m);
  assert.match(run.stdout, /^demo OK: 4 of 4 handshake segments rewritten as expected/m);
  assertCleanedUp(run.stdout);

  // The README's sample output is the real thing: its table lines are exactly what the demo prints.
  const readme = readFileSync(join(process.cwd(), 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Quick start');
  const quickStart = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const sampleRows = quickStart.split('\n').filter((l) => /^ +IPv[46] +SYN/.test(l));
  assert.equal(sampleRows.length, 4, 'the README Quick start shows the four table rows');
  for (const row of sampleRows) assert.ok(run.stdout.split('\n').includes(row), `README row printed by the demo: ${row}`);
});

test('npm run demo -- --clamp 1400: clamp-to-pmtu gives route MTU - 40 (IPv4) and - 60 (IPv6)', async () => {
  const run = await runDemo(['--clamp', '1400']);
  assert.equal(run.code, 0, `demo failed:\n${run.stdout}\n${run.stderr}`);
  assertTable(run.stdout, [
    ['IPv4', 'SYN', 1460, 1360],
    ['IPv4', 'SYN/ACK', 1460, 1360],
    ['IPv6', 'SYN', 1440, 1340],
    ['IPv6', 'SYN/ACK', 1440, 1340],
  ]);
  assert.match(run.stdout, /^ +mssmangler_packets_total\{rule="cli",action="clamp-to-pmtu",outcome="modified"\} 4$/m);
  assertCleanedUp(run.stdout);
});

test('npm run demo with a bad flag fails with a message and builds nothing', async () => {
  const run = await runDemo(['--clamp', '900']);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /^demo: --clamp 900: use a route MTU from 1280/m);
  assert.doesNotMatch(run.stdout, /lab: namespaces/);
});
