import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeSection } from '../../bench/report.js';

function withFile(body: (file: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'mm-report-'));
  try {
    body(join(dir, 'RESULTS.md'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('replaces only the NFQUEUE path section and keeps the others', () => {
  withFile((file) => {
    writeFileSync(
      file,
      '# Results\n\n## Packet core\n\ncore figures\n\n## NFQUEUE path\n\nold figures\n\n### IPv4\n\nold table\n\n## Later\n\nkept\n',
    );
    writeSection(file, '## NFQUEUE path\n\nnew figures\n');
    assert.equal(
      readFileSync(file, 'utf8'),
      '# Results\n\n## Packet core\n\ncore figures\n\n## NFQUEUE path\n\nnew figures\n\n## Later\n\nkept\n',
    );
  });
});

test('appends the section to a file without one, and creates a missing file', () => {
  withFile((file) => {
    writeSection(file, '## NFQUEUE path\n\nfirst\n');
    assert.equal(readFileSync(file, 'utf8'), '# mssmangler benchmark results\n\n## NFQUEUE path\n\nfirst\n');
    writeFileSync(file, '# Results\n\n## Packet core\n\ncore figures\n');
    writeSection(file, '## NFQUEUE path\n\nsecond\n');
    assert.equal(readFileSync(file, 'utf8'), '# Results\n\n## Packet core\n\ncore figures\n\n## NFQUEUE path\n\nsecond\n');
  });
});
