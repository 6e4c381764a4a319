// A handler "new length" shorter than the packet's IP header: the kernel would refuse the mangle
// (nfqnl_mangle: below the transport header offset is -EINVAL) and nfqnl_recv_verdict then DROPS the
// packet without telling us. The addon must treat it as a bad verdict: accept unchanged, count it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from '../lab/lab.js';
import { parseQueueStats } from '../../src/queue/queue-stats.js';
import { countServerSyns, queueSyns, sleep, startConsumer, stopConsumer, syngen } from './queue-lab.js';

test('a new length below the IP header (8 bytes) is a bad verdict: the packet arrives unchanged (IPv4 and IPv6)', async (t) => {
  const lab = await Lab.create({ tag: 'qshort' });
  t.after(() => lab.destroy());
  await queueSyns(lab, 83, 21);
  const counted = await countServerSyns(lab, [
    { family: 4, dport: 83, mss: 1460 },
    { family: 6, dport: 83, mss: 1460 },
  ]);
  const consumer = await startConsumer(lab, ['--queue', '21', '--policy', '83=short']);
  assert.equal(consumer.first['event'], 'ready');

  await syngen(lab, { family: 4, count: 3, dport: 83, mss: 1460 });
  await syngen(lab, { family: 6, count: 3, dport: 83, mss: 1460 });
  await sleep(300);
  const { stdout } = await lab.exec('router', 'cat', ['/proc/net/netfilter/nfnetlink_queue']);
  const kernel = parseQueueStats(stdout).find((s) => s.queue === 21);
  const stats = (await stopConsumer(consumer))['stats'];
  assert.deepEqual(await counted(), [3, 3], 'every SYN reached the server unchanged');
  assert.equal(stats.packets, 6);
  assert.equal(stats.badVerdicts, 6, 'each too-short length was counted');
  assert.equal(stats.modified, 0);
  assert.equal(kernel?.waiting, 0);
});
