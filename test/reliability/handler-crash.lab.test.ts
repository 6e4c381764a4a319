// A crash inside the packet handler, through the real addon in a namespace: the daemon's handler
// (fixtures/crash-consumer.ts: real PacketHandler, rules, counters and metrics, onError wired as in
// src/daemon/daemon.ts) rewrites a SYN to port 84 in place and then throws. The kernel must get the
// batch back unchanged (the server sees MSS 1460, not the 1380 written into the buffer), the error is
// logged and counted in mssmangler_handler_errors_total, and the process goes on clamping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from '../lab/lab.js';
import { countServerSyns, events, queueSyns, sleep, syngen } from '../queue/queue-lab.js';
import { FIXTURES } from './daemon-lab.js';

test('handler crash: the batch is accepted unchanged (in-place rewrite discarded), logged, counted; the daemon lives on', async (t) => {
  const lab = await Lab.create({ tag: 'rcrash' });
  t.after(() => lab.destroy());
  await queueSyns(lab, '83:84', 34);
  const counted = await countServerSyns(lab, [
    { family: 4, dport: 84, mss: 1460 },
    { family: 4, dport: 84, mss: 1380 },
    { family: 4, dport: 83, mss: 1380 },
  ]);
  const consumer = lab.spawn('router', process.execPath, [`${FIXTURES}crash-consumer.js`, '34', '84']);
  await consumer.waitFor(/"event":"ready"/, 10000);

  await syngen(lab, { family: 4, count: 1, dport: 83 });
  await sleep(200);
  for (let i = 0; i < 3; i++) {
    await syngen(lab, { family: 4, count: 1, dport: 84, sportBase: 30000 + i });
    await sleep(200);
  }
  await syngen(lab, { family: 4, count: 5, dport: 83, sportBase: 40000 });
  await sleep(300);
  assert.ok(consumer.running, 'the process survived the throws');
  const done = await consumer.stop('SIGTERM', 5000);
  assert.equal(done.code, 0, done.stderr);
  const lines = events(done.stdout);
  const logged = lines.filter((e) => e['msg'] === 'packet handler threw; the batch was accepted unchanged');
  const stats = lines.find((e) => e['event'] === 'stats')!;
  assert.equal(logged.length, 3, 'each throw is logged');
  assert.match(String(logged[0]!['error']), /injected fault for dport 84/);
  assert.equal(stats['handlerErrors'], 3, 'mssmangler_handler_errors_total counts each thrown batch');
  assert.equal(stats['callbackErrors'], 3);
  assert.deepEqual(await counted(), [3, 0, 6], 'the SYNs to 84 left unchanged; every SYN to 83, before and after, clamped');
});
