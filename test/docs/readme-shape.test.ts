// The README is an operator's page (issue 9): short, with the sections an operator looks for, and every
// link into the repository resolves (the long reports live in docs/ and must stay reachable).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

const ROOT = process.cwd();

test('README.md is at most 300 lines and has the operator sections', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  assert.ok(readme.split('\n').length <= 300, `${readme.split('\n').length} lines`);
  for (const section of [
    'Install',
    'Quick start',
    'Configuration',
    'Metrics',
    'systemd',
    'Docker',
    'Troubleshooting',
    'mssmangler explain',
    'Exit codes',
  ]) {
    assert.match(readme, new RegExp(`^## ${section}`, 'm'), `## ${section}`);
  }
});

test('every relative link in README.md and docs/ names a file of the repository', () => {
  const files = [
    'README.md',
    ...readdirSync(join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  const broken: string[] = [];
  for (const file of files) {
    for (const m of readFileSync(join(ROOT, file), 'utf8').matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/.test(target)) continue;
      const path = normalize(join(dirname(file), target));
      if (!existsSync(join(ROOT, path))) broken.push(`${file} -> ${target}`);
    }
  }
  assert.deepEqual(broken, []);
});
