// The addon's netlink readers and writers under AddressSanitizer and UndefinedBehaviorSanitizer: g++
// builds test/addon/netlink-wire-check.cc (the addon's own headers, no Node) with
// -fsanitize=address,undefined -fno-sanitize-recover=all, and the driver runs byte fixtures both ways,
// truncations at every length, impossible lengths and random mutations. Any sanitizer report ends the
// driver with a non-zero status. No root: only a compiler and a temp directory.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const MUTATIONS = 300_000;

// Cases per group. The derived ones change with the fixtures in test/addon/netlink-fixtures.h:
// writer-capacity is the sum of (length + 1) over the 7 built messages; truncated is twice the sum of
// (length + 1) over the 9 kernel datagrams; impossible-lengths is 4 per nlmsg_len value (26 values)
// per datagram plus 2 per nla_len value (18 values) per attribute header.
const EXPECTED_CASES: Record<string, number> = {
  'parse-fixtures': 12,
  'build-fixtures': 9,
  'writer-capacity': 335,
  truncated: 1698,
  'impossible-lengths': 2340,
  mutations: MUTATIONS,
};

const SANITIZE = ['-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer'];

function buildDriver(dir: string): { binary: string; ms: number } {
  const binary = join(dir, 'netlink-wire-check');
  const started = performance.now();
  const cc = spawnSync(
    'g++',
    [
      '-std=gnu++17',
      '-O1',
      '-g',
      ...SANITIZE,
      '-Wall',
      '-Wextra',
      '-Werror',
      '-I',
      join(repo, 'addon', 'src'),
      '-I',
      join(repo, 'test', 'addon'),
      join(repo, 'test', 'addon', 'netlink-wire-check.cc'),
      '-o',
      binary,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(cc.status, 0, `g++ failed:\n${cc.stderr}`);
  return { binary, ms: performance.now() - started };
}

function run(binary: string, args: string[]) {
  return spawnSync(binary, args, {
    encoding: 'utf8',
    timeout: 120_000,
    // Leak checking on (the default), reports with a stack, and no symbolizer search outside the image.
    env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1', UBSAN_OPTIONS: 'print_stacktrace=1' },
  });
}

test('the netlink readers and writers pass every case under ASan and UBSan', { timeout: 300_000 }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mssmangler-sanitizer-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { binary, ms } = buildDriver(dir);
  t.diagnostic(`sanitizer build of the driver: ${Math.round(ms)} ms`);

  // The build reports at all: one read past a heap block ends the canary run.
  const canary = run(binary, ['--canary']);
  assert.notEqual(canary.status, 0, 'the canary read past a block and was not stopped');
  assert.match(canary.stderr, /AddressSanitizer: heap-buffer-overflow/);

  const started = performance.now();
  const r = run(binary, [String(MUTATIONS)]);
  t.diagnostic(`driver run: ${Math.round(performance.now() - started)} ms`);
  assert.equal(r.status, 0, `driver failed (status ${r.status}, signal ${r.signal}):\n${r.stderr}\n${r.stdout}`);
  assert.doesNotMatch(r.stderr, /Sanitizer|runtime error/);

  const cases = new Map<string, number>();
  for (const m of r.stdout.matchAll(/^cases (\S+) (\d+)$/gm)) cases.set(m[1]!, Number(m[2]));
  assert.deepEqual(Object.fromEntries(cases), EXPECTED_CASES);
  const total = Object.values(EXPECTED_CASES).reduce((a, b) => a + b, 0);
  assert.match(r.stdout, new RegExp(`^total ${total}$`, 'm'));
});
