// `npm run demo` keeps working: run the built demo and read its table and metric lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { requireRoot } from '../lab/lab.js';

const DEMO = fileURLToPath(new URL('../../demo/demo.js', import.meta.url));

test('the demo shows 1460/1440 rewritten to 1380 both ways, the counters, and cleans up', { timeout: 60_000 }, async () => {
  requireRoot();
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(process.execPath, [DEMO], { timeout: 55_000 }, (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }));
  });
  assert.equal(code, 0, `demo failed: ${stderr}\n${stdout}`);
  assert.match(stdout, /IPv4\s+1460\s+->\s+1380\s+1460\s+->\s+1380/);
  assert.match(stdout, /IPv6\s+1440\s+->\s+1380\s+1440\s+->\s+1380/);
  assert.match(stdout, /mssmangler_packets_total\{rule="cli",action="set",outcome="modified"\} 4/);
  assert.match(stdout, /Cleaned up/);
});
