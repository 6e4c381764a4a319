// The import boundaries of eslint.config.js (docs/contributing.md), checked against the real config: each
// case lints one import line as if it were a file at that path, so a pattern that stops matching fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { ESLint } from 'eslint';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function restricted(file: string, line: string): Promise<boolean> {
  const [result] = await eslint.lintText(`${line}\nexport const probe = x;\n`, { filePath: join(root, file) });
  assert.ok(result, `${file}: no lint result`);
  const other = result.messages.filter((m) => m.ruleId !== 'no-restricted-imports');
  assert.deepEqual(other, [], `${file}: only the boundary rule should report on "${line}"`);
  return result.messages.length > 0;
}

const cases: ReadonlyArray<[file: string, line: string, restricted: boolean]> = [
  ['src/packet/probe.ts', "import { x } from './tcp.js';", false],
  ['src/packet/probe.ts', "import { x } from '../config/prefix.js';", true],
  ['src/packet/probe.ts', "import { x } from 'node:fs';", true],
  ['src/packet/probe.ts', "import { x } from 'yaml';", true],
  ['src/config/probe.ts', "import { x } from 'yaml';", false],
  ['src/config/probe.ts', "import { x } from '../packet/tcp.js';", true],
  ['src/queue/probe.ts', "import { x } from '../native/contract.js';", false],
  ['src/queue/probe.ts', "import { x } from '../metrics/packet-counters.js';", true],
  ['src/queue/probe.ts', "import type { x } from '../metrics/daemon-metrics.js';", true],
  ['src/queue/probe.ts', "export { x } from '../metrics/daemon-metrics.js';", true],
  ['src/native/probe.ts', "import { x } from '../rules/engine.js';", true],
  ['src/rules/probe.ts', "import { x } from '../packet/tcp.js';", false],
  ['src/rules/probe.ts', "import { x } from '../metrics/packet-counters.js';", true],
  ['src/explain/probe.ts', "import { x } from '../capture/index.js';", false],
  ['src/explain/probe.ts', "import { x } from '../daemon/daemon.js';", true],
  ['src/capture/probe.ts', "import { x } from '../queue/queue.js';", true],
  ['src/metrics/probe.ts', "import { x } from '../daemon/daemon.js';", true],
  ['src/metrics/probe.ts', "import { x } from '../cli/main.js';", true],
  ['src/metrics/probe.ts', "import { x } from '../../test/support/collections.js';", true],
  ['src/daemon/probe.ts', "import { x } from '../../bench/run.js';", true],
  ['src/cli/probe.ts', "import { x } from '../daemon/daemon.js';", false],
  ['test/daemon/probe.test.ts', "import { x } from '../../src/daemon/daemon.js';", false],
];

test('import boundaries: each directory may import exactly what docs/contributing.md says', async () => {
  for (const [file, line, expected] of cases) {
    assert.equal(await restricted(file, line), expected, `${file}: ${line} should be ${expected ? 'refused' : 'allowed'}`);
  }
});
