// Bad input to `mssmangler run` that the CLI and config tests (test/cli, test/config) do not cover,
// through the real CLI in a lab router namespace: each failure is one line on stderr naming the problem
// and the fix, with the exit code README "## Exit codes" documents (2 config, 3 privilege, 4 resource
// held); a rule naming an interface that does not exist is only a warning and the daemon runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab } from '../lab/lab.js';
import type { Finished } from '../lab/process-group.js';
import { kernelQueue } from './daemon-lab.js';
import { CLI, startDaemon } from '../lab/daemon.js';

let lab: Lab;
let dir: string;

before(async () => {
  lab = await Lab.create({ tag: 'rbad' });
  dir = await mkdtemp(join(tmpdir(), 'mm-bad-'));
  await chmod(dir, 0o755);
});
after(async () => {
  await lab?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs `mssmangler run ARGS` in the router (through `wrapper`, e.g. setpriv) to its exit (10 s at most). */
async function runFails(args: readonly string[], wrapper: readonly string[] = []): Promise<Finished> {
  const argv = [...wrapper, process.execPath, CLI, 'run', ...args];
  const proc = lab.spawn('router', argv[0]!, argv.slice(1));
  const timer = setTimeout(() => proc.stop('SIGKILL'), 10000);
  const done = await proc.exited;
  clearTimeout(timer);
  return done;
}

function oneLine(done: Finished): string {
  const lines = done.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr: ${done.stderr}`);
  return lines[0]!;
}

test('bad input: metrics port in use -> exit 4, one line naming the address and --metrics-listen', async () => {
  const first = await startDaemon(lab, ['--queue', '50', '--set-mss', '1380', '--metrics-listen', '127.0.0.1:9470']);
  try {
    const done = await runFails(['--queue', '51', '--set-mss', '1380', '--metrics-listen', '127.0.0.1:9470']);
    assert.equal(done.code, 4);
    const line = oneLine(done);
    assert.match(line, /^mssmangler: cannot listen for metrics on 127\.0\.0\.1:9470: EADDRINUSE/);
    assert.match(line, /--metrics-listen HOST:PORT/);
  } finally {
    await first.process.stop();
  }
});

test('bad input: queue held by another process -> exit 4, one line naming the holder (its netlink port id)', async () => {
  const first = await startDaemon(lab, ['--queue', '52', '--set-mss', '1380', '--metrics-listen', '127.0.0.1:9471']);
  try {
    const holder = await kernelQueue(lab, 52);
    assert.ok(holder);
    const done = await runFails(['--queue', '52', '--set-mss', '1380', '--metrics-listen', '127.0.0.1:9472']);
    assert.equal(done.code, 4);
    const line = oneLine(done);
    assert.match(line, /queue 52: the queue is already bound by another netlink socket/);
    assert.match(line, /use another queue number/);
    assert.ok(line.includes(`held by netlink port ${holder.peerPortId}`), `names the holder's port ${holder.peerPortId}: ${line}`);
    assert.equal(holder.peerPortId, first.process.pid, "the port id is the holder's pid");
  } finally {
    await first.process.stop();
  }
});

test('bad input: CAP_NET_ADMIN missing -> exit 3, one line naming the capability and the fix', async () => {
  const done = await runFails(
    ['--queue', '53', '--set-mss', '1380', '--metrics-listen', '127.0.0.1:9473'],
    ['setpriv', '--bounding-set=-all', '--inh-caps=-all'],
  );
  assert.equal(done.code, 3);
  const line = oneLine(done);
  assert.match(line, /CAP_NET_ADMIN is missing; run as root or grant CAP_NET_ADMIN/);
});

test('bad input: a config file writable by others, run as root -> exit 2, one line with the chmod', async () => {
  const file = join(dir, 'writable.yaml');
  await writeFile(file, 'rules:\n  - name: a\n    action: set\n    mss: 1380\n');
  await chmod(file, 0o666);
  const done = await runFails(['--config', file]);
  assert.equal(done.code, 2);
  assert.equal(oneLine(done), `${file}: is writable by every user (mode 666); run chmod o-w on it`);
});

test('bad input: an unreadable config file -> exit 2, one line naming the file and the fix', async () => {
  const file = join(dir, 'private.yaml');
  await writeFile(file, 'rules:\n  - name: a\n    action: set\n    mss: 1380\n');
  await chmod(file, 0o600);
  const done = await runFails(['--config', file], ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups']);
  assert.equal(done.code, 2);
  assert.equal(oneLine(done), `${file}: cannot be read (permission denied); make it readable by the daemon's user`);
});

test('bad input: an interface that does not exist is a warning naming it; the daemon runs', async () => {
  const file = join(dir, 'iface.yaml');
  await writeFile(
    file,
    'metrics: { listen: "127.0.0.1:9474" }\nqueue: 54\nrules:\n  - name: a\n    match: { outInterface: nosuch0 }\n    action: set\n    mss: 1380\n',
  );
  await chmod(file, 0o644);
  const daemon = await startDaemon(lab, ['--config', file]);
  const warning = daemon.process.stdout.split('\n').find((l) => l.includes('interfaces not present'));
  assert.ok(warning, daemon.process.stdout);
  assert.deepEqual(JSON.parse(warning)['missing'], ['nosuch0']);
  assert.equal(JSON.parse(warning)['level'], 'warn');
  assert.ok(daemon.process.running);
  const done = await daemon.process.stop();
  assert.equal(done.code, 0);
});
