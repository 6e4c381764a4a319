import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatText, writeSection, type BenchResult, type PathResult } from '../../bench/report.js';
import { parseOptions } from '../../bench/options.js';
import type { PathName } from '../../bench/paths.js';
import type { LatencySample } from '../../bench/latency.js';
import type { SaturationSample } from '../../bench/saturation.js';

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

/** A queue path's result with every sample at the given CPU per packet and added latency. */
function pathResult(path: PathName, cpuPerMpkt: number, pacedCpuPerMpkt: number, p50Us: number, p99Us: number): PathResult {
  const sample = (cpu: number): SaturationSample => ({
    sent: 1_000_000,
    seconds: 3,
    delivered: 1_000_000,
    unmangled: 0,
    pps: 333_333,
    loss: 0,
    processed: 1_000_000,
    queueDropped: 0,
    userDropped: 0,
    cpuPerMpkt: cpu,
    mainThreadPerMpkt: cpu,
    threads: new Map(),
    userPerMpkt: 0.1,
    consumerShare: 0.9,
    generatorCoreBusy: 1,
    consumerCoreBusy: 0.9,
  });
  const latency: LatencySample = {
    offeredPps: 60_000,
    sent: 120_000,
    received: 120_000,
    loss: 0,
    matched: 120_000,
    p50Us,
    p99Us,
    wrongMss: 0,
    badChecksums: 0,
  };
  return { path, samples: [sample(cpuPerMpkt)], paced: [sample(pacedCpuPerMpkt)], latency: [latency] };
}

test('the target lines set the addon I/O floor beside the daemon, as ratios to the C consumer', () => {
  const result: BenchResult = {
    machine: { date: '2026-12-06T00:00:00Z', cpus: 2, cpuModel: 'test', kernel: 'test', node: 'test' },
    loadAverage: 1,
    options: parseOptions([]),
    families: [
      {
        family: 4,
        loadPps: 60_000,
        paths: [
          pathResult('plain', NaN, NaN, 1, 2),
          pathResult('c', 2, 3, 11, 22),
          pathResult('floor', 2.2, 3.45, 12, 26),
          pathResult('daemon', 2.4, 3.6, 13, 28),
        ],
      },
    ],
    notes: [],
    profiles: [],
  };
  const lines = formatText(result)
    .split('\n')
    .filter((l) => l.startsWith('  target: '));
  assert.ok(
    lines.some((l) => l.includes('CPU per packet at saturation ≤ 1.1 × C consumer: 1.20× → MISSED')),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((l) => l.includes('paced ≤ 1.1 × C consumer: 1.20× → MISSED')),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((l) => l.includes("added latency p50 at 60,000 SYN/s ≤ 1.1 × C consumer's (median of 1): 1.20× → MISSED")),
    lines.join('\n'),
  );
  assert.equal(
    lines.at(-1),
    "  target: for comparison, the addon's I/O floor (no packet work) against the C consumer: CPU per packet 1.10× at saturation, 1.15× paced; added latency p50 1.10×, p99 1.20×",
  );
  // Without a floor path the daemon's lines stand alone.
  result.families[0]!.paths.splice(2, 1);
  assert.ok(!formatText(result).includes('floor'));
});
