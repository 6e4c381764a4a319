// docs/metrics.md is the operator's list of metrics: every name the daemon exports must be in it, so a
// new metric fails here until it is documented.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

test('docs/metrics.md documents every mssmangler_ metric under src/', () => {
  const names = new Set<string>();
  for (const entry of readdirSync(join(process.cwd(), 'src'), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    for (const m of readFileSync(join(entry.parentPath, entry.name), 'utf8').matchAll(/'(mssmangler_[a-z_]+)'/g)) names.add(m[1]!);
  }
  assert.ok(names.has('mssmangler_packets_total'), `names read from src/: ${[...names].join(' ')}`);
  const doc = readFileSync(join(process.cwd(), 'docs', 'metrics.md'), 'utf8');
  const missing = [...names].filter((name) => !doc.includes(`\`${name}\``));
  assert.deepEqual(missing, [], 'metrics missing from docs/metrics.md');
});
