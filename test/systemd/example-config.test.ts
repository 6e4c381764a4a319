// The example configuration shipped next to the unit must stay valid as the schema evolves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CLI } from '../lab/daemon.js';

const EXAMPLE = fileURLToPath(new URL('../../../systemd/config.example.yaml', import.meta.url));

test('systemd/config.example.yaml passes mssmangler check-config', () => {
  const out = execFileSync(process.execPath, [CLI, 'check-config', EXAMPLE], { encoding: 'utf8' });
  assert.equal(out.trim(), 'configuration OK');
});
