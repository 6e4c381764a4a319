// A real Prometheus server scrapes the running daemon (issue 4, lab test 3): Prometheus runs inside
// the router namespace, where the daemon's /metrics listens on 127.0.0.1:9465, and its query API
// returns the packets the daemon rewrote for real connections through the router.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Lab } from '../lab/lab.js';
import { prometheusArgs, queryUrl, type QueryAnswer, type VectorResult } from '../metrics/prometheus-server.js';
import { Peers } from './daemon-lab.js';
import { applyRules, startDaemon } from '../lab/daemon.js';

/** Prometheus's own port inside the router namespace (the namespace is the test's alone). */
const PROMETHEUS_LISTEN = '127.0.0.1:9090';

test('Prometheus in the router scrapes the daemon; its API returns the modified SYN and SYN/ACK count', { timeout: 40_000 }, async (t) => {
  const lab = await Lab.create({ tag: 'prom' });
  t.after(() => lab.destroy());
  const dir = mkdtempSync(join(tmpdir(), 'mm-prom-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  await applyRules(lab, ['--queue', '0', '--set-mss', '1380']);
  await startDaemon(lab, ['--queue', '0', '--set-mss', '1380', '--metrics-listen', '127.0.0.1:9465']);
  const prometheus = lab.spawn('router', 'prometheus', prometheusArgs(dir, '127.0.0.1:9465', PROMETHEUS_LISTEN));
  const peers = await Peers.start(lab);

  const connections = 3;
  for (let i = 0; i < connections; i++) {
    await peers.transfer(4);
    await peers.transfer(6);
  }
  const expected = String(2 * 2 * connections); // a SYN and a SYN/ACK per connection, both families

  const script =
    `fetch(${JSON.stringify(queryUrl(PROMETHEUS_LISTEN, 'mssmangler_packets_total{rule="cli",outcome="modified"}'))})` +
    '.then((r) => r.text()).then((t) => process.stdout.write(t)).catch(() => process.stdout.write("{}"))';
  const deadline = Date.now() + 25_000;
  let found: VectorResult[] = [];
  while (Date.now() < deadline && prometheus.running) {
    const { stdout } = await lab.exec('router', process.execPath, ['-e', script]);
    const answer = JSON.parse(stdout) as Partial<QueryAnswer>;
    found = answer.data?.result ?? [];
    if (found.length > 0 && found[0]!.value[1] === expected) break;
    await sleep(250);
  }
  assert.equal(found.length, 1, `Prometheus returned the series (got ${JSON.stringify(found)}); log:\n${prometheus.stderr.slice(-3000)}`);
  const [series] = found;
  assert.equal(series!.value[1], expected);
  assert.equal(series!.metric['job'], 'mssmangler');
  assert.equal(series!.metric['rule'], 'cli');
  assert.equal(series!.metric['action'], 'set');
  assert.equal(series!.metric['instance'], '127.0.0.1:9465');
});
