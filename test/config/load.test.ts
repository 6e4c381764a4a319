import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { insecureReason, loadConfig } from '../../src/config/load.js';
import { formatProblem } from '../../src/config/problem.js';

const good = 'rules:\n  - name: a\n    action: set\n    mss: 1380\n';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mssmangler-load-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('load: a good file loads, flags apply over it', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'c.yaml');
    await writeFile(file, good, { mode: 0o644 });
    const result = await loadConfig({ file, flags: { queue: 5 } });
    assert.ok(result.ok);
    if (result.ok) {
      assert.equal(result.config.queue, 5);
      assert.equal(result.config.file, file);
    }
  });
});

test('load: a missing file is one problem naming the file and the fix', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'missing.yaml');
    const result = await loadConfig({ file, flags: {} });
    assert.equal(result.ok, false);
    if (!result.ok)
      assert.deepEqual(result.problems.map(formatProblem), [
        `${file}: does not exist; check the path, or create it (see README "## Configuration")`,
      ]);
  });
});

test('load: a directory is refused', async () => {
  await withDir(async (dir) => {
    const result = await loadConfig({ file: dir, flags: {} });
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(formatProblem(result.problems[0]!), /is a directory; give the path of a YAML file/);
  });
});

test('load: as root, a world-writable file is refused with the chmod that fixes it', async () => {
  if (process.getuid?.() !== 0) {
    // The rule only applies to root; check the pure function instead of skipping.
    assert.equal(insecureReason(0o666, 0, 0, 1000), null);
    return;
  }
  await withDir(async (dir) => {
    const file = join(dir, 'c.yaml');
    await writeFile(file, good);
    await chmod(file, 0o666);
    const result = await loadConfig({ file, flags: {} });
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(formatProblem(result.problems[0]!), /is writable by every user \(mode 666\); run chmod o-w on it/);
  });
});

test('load: insecureReason covers owner, group and other', () => {
  assert.equal(insecureReason(0o644, 0, 0, 0), null);
  assert.equal(insecureReason(0o664, 0, 0, 0), null, 'group root may write');
  assert.match(insecureReason(0o664, 0, 100, 0) ?? '', /writable by group 100.*chmod g-w/);
  assert.match(insecureReason(0o644, 1000, 0, 0) ?? '', /owned by uid 1000.*chown root/);
  assert.match(insecureReason(0o646, 0, 0, 0) ?? '', /chmod o-w/);
  assert.equal(insecureReason(0o666, 1000, 1000, 1000), null, 'not root: not our business');
});
