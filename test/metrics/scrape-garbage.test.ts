// What a scrape leaves behind for V8's old generation. Garbage that dies young costs a scavenge;
// garbage allocated old stays until the next full collection, which V8 starts only after the old
// generation has grown by megabytes, so a daemon scraped every few seconds grew its RSS for tens of
// minutes before one came (docs/reliability.md, "Soak"). On Node 20 each `{ ...labels, le }` in the
// exposition was allocated old: about 20 kB per scrape for two rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('./fixtures/scrape-garbage.js', import.meta.url));

test('three hundred scrapes leave under 300 kB in the old generation', () => {
  const grown = Number(execFileSync(process.execPath, [FIXTURE, '300'], { encoding: 'utf8' }).trim());
  assert.ok(Number.isFinite(grown));
  // With the spread: 5,790-6,025 kB; without: 12-50 kB.
  assert.ok(grown < 300 * 1024, `the old generation grew by ${(grown / 1024).toFixed(0)} kB over 300 scrapes`);
});
