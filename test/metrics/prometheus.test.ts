// A real Prometheus server (Debian package prometheus) scrapes the metrics server, and its query API
// returns the counters: proof that the exposition is what a scraper accepts, not only what promtool lints.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Outcome } from '../../src/packet/outcome.js';
import { DaemonMetrics } from '../../src/metrics/daemon-metrics.js';
import { PacketCounters } from '../../src/metrics/packet-counters.js';
import { startMetricsServer } from '../../src/metrics/server.js';
import { prometheusArgs, queryUrl, type QueryAnswer, type VectorResult } from './prometheus-server.js';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

test('Prometheus scrapes /metrics and its API returns mssmangler_packets_total', { timeout: 30_000 }, async (t) => {
  const counters = new PacketCounters([{ name: 'vpn-clamp', action: 'set' }]);
  for (let i = 0; i < 42; i++) {
    counters.countOutcome(0, Outcome.Modified);
    counters.observeMss(0, 1460, 1380);
  }
  const metrics = new DaemonMetrics(counters);
  const server = await startMetricsServer({
    listen: '127.0.0.1:0',
    metrics: () => metrics.exposition(),
    contentType: metrics.contentType,
    isHealthy: () => true,
  });
  t.after(() => server.close());

  const dir = mkdtempSync(join(tmpdir(), 'mssmangler-prometheus-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const promPort = await freePort();
  const listen = `127.0.0.1:${promPort}`;
  const prom = spawn('prometheus', prometheusArgs(dir, `127.0.0.1:${server.address.port}`, listen), {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let promLog = '';
  prom.stderr.on('data', (d: Buffer) => {
    promLog = (promLog + d.toString()).slice(-4000);
  });
  const exited = new Promise((resolve) => prom.once('exit', resolve));
  t.after(async () => {
    if (prom.exitCode === null && prom.pid !== undefined) process.kill(prom.pid, 'SIGKILL');
    await exited;
  });

  const query = queryUrl(listen, 'mssmangler_packets_total{outcome="modified"}');
  const deadline = Date.now() + 20_000;
  let found: VectorResult[] = [];
  let scrapedTwice = false;
  let bumped = false;
  while (Date.now() < deadline && prom.exitCode === null) {
    try {
      const body = (await (await fetch(query)).json()) as QueryAnswer;
      found = body.data.result.filter((r) => r.metric['rule'] === 'vpn-clamp');
      if (found.length > 0 && found[0]!.value[1] === '43') {
        scrapedTwice = true;
        break;
      }
      // A second scrape must see a later value: the counter is read at scrape time, not cached.
      if (!bumped && found.length > 0 && found[0]!.value[1] === '42') {
        counters.countOutcome(0, Outcome.Modified);
        bumped = true;
      }
    } catch {
      // Prometheus not listening yet.
    }
    await sleep(250);
  }
  assert.ok(scrapedTwice, `Prometheus never returned the counter (last result ${JSON.stringify(found)}); log:\n${promLog}`);
  assert.equal(found[0]!.metric['job'], 'mssmangler');
  assert.equal(found[0]!.metric['action'], 'set');
});
