import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { MetricsServerError, parseListenAddress, startMetricsServer } from '../../src/metrics/server.js';

const plain = {
  metrics: async () => 'up_metric 1\n',
  contentType: 'text/plain; version=0.0.4; charset=utf-8',
};

test('parseListenAddress reads HOST:PORT, [IPv6]:PORT and :PORT', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:9465'), { host: '127.0.0.1', port: 9465 });
  assert.deepEqual(parseListenAddress('[::1]:9465'), { host: '::1', port: 9465 });
  assert.deepEqual(parseListenAddress(':9000'), { host: '127.0.0.1', port: 9000 });
  assert.deepEqual(parseListenAddress('localhost:0'), { host: 'localhost', port: 0 });
  for (const bad of ['9465', '::1:9465', '[127.0.0.1]:80', 'host:port', 'h:70000', '[::1]']) {
    assert.throws(
      () => parseListenAddress(bad),
      (e: unknown) => e instanceof MetricsServerError && e.code === 'ERR_METRICS_ADDRESS' && e.message.includes('HOST:PORT'),
      bad,
    );
  }
});

test('serves /metrics and /healthz, which follows isHealthy()', async (t) => {
  let healthy = false;
  const s = await startMetricsServer({ ...plain, listen: '127.0.0.1:0', isHealthy: () => healthy });
  t.after(() => s.close());
  assert.equal(s.address.host, '127.0.0.1');
  assert.ok(s.address.port > 0);
  const m = await fetch(`${s.url}/metrics`);
  assert.equal(m.status, 200);
  assert.equal(m.headers.get('content-type'), plain.contentType);
  assert.equal(await m.text(), 'up_metric 1\n');
  let h = await fetch(`${s.url}/healthz`);
  assert.equal(h.status, 503);
  await h.text();
  healthy = true;
  h = await fetch(`${s.url}/healthz`);
  assert.equal(h.status, 200);
  assert.equal(await h.text(), 'ok\n');
  const nf = await fetch(`${s.url}/other`);
  assert.equal(nf.status, 404);
  await nf.text();
  const post = await fetch(`${s.url}/metrics`, { method: 'POST' });
  assert.equal(post.status, 405);
  await post.text();
});

test('listens on IPv6 loopback', async (t) => {
  const s = await startMetricsServer({ ...plain, listen: '[::1]:0', isHealthy: () => true });
  t.after(() => s.close());
  assert.equal(s.address.host, '::1');
  assert.match(s.url, /^http:\/\/\[::1\]:\d+$/);
  const r = await fetch(`${s.url}/metrics`);
  assert.equal(await r.text(), 'up_metric 1\n');
});

test('a port in use fails with ERR_METRICS_LISTEN naming the address and the fix', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.after(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  await assert.rejects(startMetricsServer({ ...plain, listen: `127.0.0.1:${port}`, isHealthy: () => true }), (e: unknown) => {
    assert.ok(e instanceof MetricsServerError);
    assert.equal(e.code, 'ERR_METRICS_LISTEN');
    assert.ok(e.message.includes(`127.0.0.1:${port}`), e.message);
    assert.ok(e.message.includes('EADDRINUSE'), e.message);
    assert.ok(e.message.includes('--metrics-listen'), e.message);
    return true;
  });
});

test('a failing collection answers 500 and the server keeps serving', async (t) => {
  let fail = true;
  const s = await startMetricsServer({
    contentType: plain.contentType,
    metrics: async () => {
      if (fail) throw new Error('boom');
      return 'ok 1\n';
    },
    listen: '127.0.0.1:0',
    isHealthy: () => true,
  });
  t.after(() => s.close());
  const r = await fetch(`${s.url}/metrics`);
  assert.equal(r.status, 500);
  await r.text();
  fail = false;
  assert.equal(await (await fetch(`${s.url}/metrics`)).text(), 'ok 1\n');
});

test('close() stops listening even with a keep-alive connection open', async () => {
  const s = await startMetricsServer({ ...plain, listen: '127.0.0.1:0', isHealthy: () => true });
  await (await fetch(`${s.url}/metrics`)).text();
  await s.close();
  await assert.rejects(fetch(`${s.url}/metrics`));
});
