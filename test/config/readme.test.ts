import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/parse.js';
import { formatProblem } from '../../src/config/problem.js';

test('the README "## Configuration" example is a valid configuration', () => {
  const readme = readFileSync(join(process.cwd(), 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Configuration'));
  const example = /```yaml\n([\s\S]*?)```/.exec(section);
  assert.ok(example, 'the section has a yaml block');
  const result = parseConfig(example[1]!, 'README.md');
  assert.ok(result.ok, result.ok ? '' : result.problems.map(formatProblem).join('\n'));
  if (result.ok) assert.equal(result.config.rules[0]!.name, 'vpn-clamp');
});

test('every YAML example in docs/configuration.md is a valid configuration', () => {
  const guide = readFileSync(join(process.cwd(), 'docs', 'configuration.md'), 'utf8');
  const blocks = [...guide.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length >= 1, 'the guide has a yaml block');
  for (const block of blocks) {
    const result = parseConfig(block, 'docs/configuration.md');
    assert.ok(result.ok, result.ok ? '' : result.problems.map(formatProblem).join('\n'));
  }
});
