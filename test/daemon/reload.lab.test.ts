// SIGHUP under traffic (issue 4, lab test 4): a steady stream of connections (one every 25 ms,
// alternating IPv4 and IPv6, each sending a little data) runs while the configuration file is
// rewritten and the daemon told to reload: first a good file (set 1300), then a bad one (mss 70000).
// Connections opened after "reloaded" show 1300 at the server; the bad file is rejected, logged and
// counted, and 1300 stays in force; no connection fails, and the rule's counter (same name, same
// action, so it continues across the reload) counts every SYN and SYN/ACK.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Lab } from '../lab/lab.js';
import { Peers, captureBothEnds, flowKey, type ConnectionResult } from './daemon-lab.js';
import { applyRules, sample, scrape, startDaemon } from '../lab/daemon.js';

const INTERVAL_MS = 25;
const BYTES = 2000;

function configText(mss: number): string {
  return ['queue: 0', 'log: { level: info, format: json }', 'rules:', '  - name: vpn', '    action: set', `    mss: ${mss}`, ''].join('\n');
}

type Phase = 'before' | 'reloading' | 'good' | 'rejecting' | 'bad';

test('SIGHUP with a good then a bad config under a stream of connections', { timeout: 40_000 }, async (t) => {
  const lab = await Lab.create({ tag: 'hup' });
  t.after(() => lab.destroy());
  const dir = mkdtempSync(join(tmpdir(), 'mm-hup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'mssmangler.yaml');
  // Written whole and renamed into place: the daemon never reads a half-written file.
  const writeConfig = (text: string): void => {
    writeFileSync(`${file}.new`, text, { mode: 0o644 });
    renameSync(`${file}.new`, file);
  };
  writeConfig(configText(1380));

  await applyRules(lab, ['--config', file]);
  const daemon = await startDaemon(lab, ['--config', file]);
  const peers = await Peers.start(lab);
  const capture = await captureBothEnds(lab, 'tcp[tcpflags] & tcp-syn != 0 or ip6');

  let phase: Phase = 'before';
  const started: Array<{ phase: Phase; result: Promise<ConnectionResult & { doneAt: number }> }> = [];
  let streaming = true;
  const stream = (async () => {
    for (let i = 0; streaming; i++) {
      const result = peers.connect(i % 2 === 0 ? 4 : 6, BYTES).then((r) => ({ ...r, doneAt: Date.now() }));
      started.push({ phase, result });
      await sleep(INTERVAL_MS);
    }
  })();

  await sleep(300);
  writeConfig(configText(1300));
  phase = 'reloading';
  const hupAt = Date.now();
  await sleep(0); // connections finishing in this turn finished before the signal
  daemon.process.child.kill('SIGHUP');
  await daemon.waitForLog('reloaded');
  const reloadMs = Date.now() - hupAt;
  phase = 'good';
  await sleep(300);

  writeConfig(configText(70000));
  phase = 'rejecting';
  daemon.process.child.kill('SIGHUP');
  const rejected = await daemon.waitForLog(/^reload rejected/);
  phase = 'bad';
  await sleep(300);
  streaming = false;
  await stream;

  const results = await Promise.all(started.map(async (s) => ({ phase: s.phase, ...(await s.result) })));
  const { server } = await capture.stop();

  const failed = results.filter((r) => !r.ok);
  assert.deepEqual(failed, [], 'no connection failed');
  // A connection asked for before the SIGHUP may still be handshaking when the new rules arrive
  // (under load its SYN can wait): only one that had finished before the signal must show 1380.
  // One asked for after the "reloaded" line has its SYN sent after the swap: 1300, also after the
  // rejected reload.
  const expected = (r: (typeof results)[number]): number[] =>
    r.phase === 'before' && r.doneAt < hupAt ? [1380] : r.phase === 'before' || r.phase === 'reloading' ? [1380, 1300] : [1300];
  const counts: Record<string, number> = {};
  for (const r of results) {
    const mss = server.syn.get(flowKey(r));
    assert.ok(mss !== undefined, `the server capture has the SYN of ${flowKey(r)}`);
    assert.ok(
      expected(r).includes(mss),
      `connection ${r.id} (${r.phase}, done ${r.doneAt - hupAt} ms after SIGHUP) reached the server with MSS ${mss}`,
    );
    counts[`${r.phase} ${mss}`] = (counts[`${r.phase} ${mss}`] ?? 0) + 1;
  }
  assert.ok(
    results.some((r) => r.phase === 'before' && r.doneAt < hupAt),
    'connections finished before the first SIGHUP',
  );
  for (const phase of ['good', 'bad'] as const) {
    assert.ok(
      results.some((r) => r.phase === phase),
      `connections were made in phase ${phase}`,
    );
  }
  assert.match(JSON.stringify(rejected), /70000/, 'the rejection names the bad value');
  t.diagnostic(`${results.length} connections, reload took ${reloadMs} ms; phase/MSS counts ${JSON.stringify(counts)}`);

  const text = await scrape(lab);
  assert.equal(sample(text, 'mssmangler_config_reloads_total', { result: 'success' }), 1);
  assert.equal(sample(text, 'mssmangler_config_reloads_total', { result: 'failure' }), 1);
  assert.equal(sample(text, 'mssmangler_config_last_reload_successful'), 0);
  assert.equal(
    sample(text, 'mssmangler_packets_total', { rule: 'vpn', outcome: 'modified' }),
    2 * results.length,
    'every SYN and SYN/ACK rewritten, counted across the reload',
  );

  // SIGTERM: a graceful stop, exit code 0.
  const finished = await daemon.process.stop('SIGTERM');
  assert.deepEqual({ code: finished.code, signal: finished.signal }, { code: 0, signal: null }, finished.stderr);
  assert.ok(
    daemon.logLines().some((l) => l['msg'] === 'stopped'),
    'the daemon logged "stopped"',
  );
});
