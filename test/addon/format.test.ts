// The addon's C++ (addon/src) and its test driver (test/addon) are as clang-format lays them out with
// the repository's .clang-format: the check `npm run format:addon:check` runs, here so CI runs it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

function cppFiles(dir: string): string[] {
  return readdirSync(join(repo, dir))
    .filter((name) => name.endsWith('.cc') || name.endsWith('.h'))
    .map((name) => join(repo, dir, name));
}

test('addon C++ is clang-format clean (fix: npm run format:addon)', () => {
  const files = [...cppFiles('addon/src'), ...cppFiles('test/addon')];
  assert.ok(files.length >= 10, `expected the addon sources, found ${files.length}`);
  const r = spawnSync('clang-format', ['--dry-run', '--Werror', ...files], { cwd: repo, encoding: 'utf8' });
  assert.equal(r.error, undefined, `clang-format did not run (scripts/install-system-deps.sh installs it): ${r.error}`);
  assert.equal(r.status, 0, `not formatted; run npm run format:addon\n${r.stderr}`);
});
