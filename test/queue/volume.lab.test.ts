// 100,000 SYNs through one queue: every one is handed to the handler once, rewritten, and arrives at
// the server; none is lost, none passes unmodified, none is left waiting in the kernel queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from '../lab/lab.js';
import { queueSyns, sleep, startConsumer, stopConsumer, syngen } from './queue-lab.js';

const COUNT = 100_000;
const BUDGET = 1024; // maxPacketsPerWake (the default)
/** Rows of the consumer's descriptor table (NfQueue's default): the largest batch. */
const BATCH_ROWS = 256;

/** Packet counter of the server's INPUT rule with the given comment. */
async function counter(lab: Lab, comment: string): Promise<number> {
  const { stdout } = await lab.exec('server', 'iptables', ['-nvxL', 'INPUT']);
  const line = stdout.split('\n').find((l) => l.includes(`/* ${comment} */`));
  if (!line) throw new Error(`no rule ${comment}: ${stdout}`);
  return Number(line.trim().split(/\s+/)[0]);
}

test(`${COUNT} SYNs through one queue: none lost, none unmodified, none pending`, async (t) => {
  const lab = await Lab.create({ tag: 'qvol' });
  t.after(() => lab.destroy());
  await queueSyns(lab, 83, 12);
  for (const [comment, match] of [
    ['all', []],
    ['mss1200', ['-m', 'tcpmss', '--mss', '1200']],
  ] as const) {
    await lab.exec('server', 'iptables', [
      '-A',
      'INPUT',
      '-p',
      'tcp',
      '--syn',
      '--dport',
      '83',
      ...match,
      '-m',
      'comment',
      '--comment',
      comment,
    ]);
  }
  // The queue and socket can hold every SYN: this machine is shared with other test files, and the
  // test is about losing nothing, not about speed (npm run bench measures that). Fail-open stays on,
  // so a packet that did not go through the queue would show in the kernel's id sequence.
  const consumer = await startConsumer(lab, [
    '--queue',
    '12',
    '--policy',
    '83=mss:1200',
    '--max-len',
    String(COUNT),
    '--rcv-buf',
    String(256 << 20),
    '--max-packets-per-wake',
    String(process.env['VOLUME_TEST_BUDGET'] ?? BUDGET),
  ]);
  assert.equal(consumer.first['event'], 'ready');

  // Paced below what the veth backlog absorbs, so a loss would be the queue's.
  const sent = await syngen(lab, { family: 4, count: COUNT, dport: 83, rate: 100_000 });
  assert.equal(sent.sent, COUNT);
  let all = 0;
  for (let i = 0; i < 50 && all < COUNT; i++) {
    await sleep(100);
    all = await counter(lab, 'all');
  }
  const stats = await stopConsumer(consumer);
  assert.equal(all, COUNT, 'every SYN reached the server');
  assert.equal(await counter(lab, 'mss1200'), COUNT, 'every SYN that arrived was rewritten');
  assert.equal(stats['stats'].packets, COUNT, 'each SYN was handed to the handler once');
  assert.equal(stats['stats'].modified, COUNT);
  assert.equal(stats['stats'].idGaps, 0);
  assert.equal(stats['stats'].sendErrors, 0);
  assert.equal(stats['stats'].verdictErrors, 0);
  assert.equal(stats['kernel'].waiting, 0, 'nothing left waiting');
  assert.equal(stats['kernel'].idSequence, COUNT, 'every SYN went through the queue (none failed open)');
  assert.equal(stats['kernel'].droppedQueueFull + stats['kernel'].droppedByUser, 0);
  // The handler was busy for the whole burst: the per-wake budget must still let the event loop turn.
  // Counted, not timed: the budget is checked before each batch, so one turn hands over fewer than
  // BUDGET packets plus one batch, plus one more batch of messages already received.
  // Without a budget (maxPacketsPerWake 1e8) one turn took 391 batches here:
  // VOLUME_TEST_BUDGET=100000000 shows it.
  assert.ok(
    stats['packetsPerTurnMax'] >= 1 && stats['packetsPerTurnMax'] < BUDGET + 2 * BATCH_ROWS,
    `${stats['packetsPerTurnMax']} packets in one event-loop turn`,
  );
  // Wall time depends on the CPU this shared 2-core machine leaves the consumer: the longest turn
  // (4 batches, with the budget in batches) took 28-90 ms on a quiet machine and up to 323 ms loaded (the whole suite, or two
  // CPU-bound processes), and the timer lag follows it (27-89 ms quiet, 178-313 ms loaded). A tighter
  // time bound would flake; this one is a backstop (no budget: 3.9 s).
  assert.ok(stats['timerLagMaxMs'] < 500, `a 10 ms timer was late by ${Math.round(stats['timerLagMaxMs'])} ms`);
  t.diagnostic(
    `timer lag max ${Math.round(stats['timerLagMaxMs'])} ms, batches per turn max ${stats['batchesPerTurnMax']}, packets per turn max ${stats['packetsPerTurnMax']}, turn max ${Math.round(stats['turnMsMax'])} ms, batches ${stats['stats'].batches}, largest ${stats['stats'].batchMax}, sendmsg ${stats['stats'].verdictSends}, sent in ${sent.seconds.toFixed(2)} s`,
  );
});
