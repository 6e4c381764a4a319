// scripts/install-system-deps.sh as npm's hooks call it, for a user other than root on a machine without
// the tools: with --if-root it names what is missing and lets the unit tests run (exit 0), without it it
// fails; --build asks only for what the addon's build needs. The machine without tools is a PATH that
// holds nothing but `id`; as root the script runs as nobody, so it can never reach apt-get.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = join(process.cwd(), 'scripts', 'install-system-deps.sh');

function runWithoutTools(args: string[]): { status: number | null; stderr: string } {
  const bin = mkdtempSync(join(tmpdir(), 'deps-path-'));
  try {
    chmodSync(bin, 0o755);
    symlinkSync('/usr/bin/id', join(bin, 'id'));
    const asNobody = process.getuid?.() === 0 ? ['/usr/bin/setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'] : [];
    const [command, ...rest] = [...asNobody, '/bin/bash', SCRIPT, ...args];
    const r = spawnSync(command!, rest, { encoding: 'utf8', env: { PATH: bin } });
    return { status: r.status, stderr: r.stderr };
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
}

test('--if-root as an unprivileged user: names every missing tool and exits 0', () => {
  const r = runWithoutTools(['--if-root']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stderr,
    /^install-system-deps: missing iptables nftables tcpdump tshark wireshark-common prometheus .*iproute2 mandoc python3 .*g\+\+ make .*; run as root to install them$/m,
  );
  assert.match(r.stderr, /going on without them/);
});

test('without --if-root an unprivileged user gets exit 1 and the same list', () => {
  const r = runWithoutTools([]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /missing iptables nftables .*g\+\+ make/);
});

test('--build asks only for what npm ci needs to build the addon', () => {
  const r = runWithoutTools(['--build', '--if-root']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^install-system-deps: missing python3 g\+\+ make; run as root/m);
});

test('an unknown option is refused with the ones that exist', () => {
  const r = runWithoutTools(['--quiet']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown option --quiet; use --build and\/or --if-root/);
});
