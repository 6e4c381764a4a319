// Waiting in the addon (NfQueueOptions.lingerMs): when the socket is empty the addon waits a little
// for the next packets instead of going back to the event loop after every batch. Under steady
// traffic most batches are then taken without a loop turn, yet timers still run on time, an idle
// queue costs no CPU, every SYN is handled once, and lingerMs 0 turns the waiting off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Lab } from '../lab/lab.js';
import { countServerSyns, queueSyns, sleep, startConsumer, stopConsumer, syngen } from './queue-lab.js';

const QUEUE = 14;
const PORT = 84;
/** 2 s of 20,000 SYN/s in bursts of 4: a batch is a few packets, a burst every 200 µs. */
const COUNT = 40_000;
const RATE = 20_000;
const BURST = 4;

/** User + system CPU ticks (1/100 s) of a process so far (/proc/PID/stat fields 14 and 15). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

test('waiting in the addon: most batches without an event-loop turn, timers on time, no CPU when idle, off with lingerMs 0', async (t) => {
  const lab = await Lab.create({ tag: 'qlinger' });
  t.after(() => lab.destroy());
  await queueSyns(lab, PORT, QUEUE);
  const rewritten = await countServerSyns(lab, [{ family: 4, dport: PORT, mss: 1200 }] as const);

  for (const lingerMs of [10, 0]) {
    const consumer = await startConsumer(lab, [
      '--queue',
      String(QUEUE),
      '--policy',
      `${PORT}=mss:1200`,
      '--no-turn-count',
      '--linger-ms',
      String(lingerMs),
    ]);
    const [before] = await rewritten();
    const sent = await syngen(lab, { family: 4, count: COUNT, dport: PORT, rate: RATE, batch: BURST, sportBase: lingerMs ? 10000 : 40000 });
    await sleep(300);
    const pid = consumer.process.pid!;
    const idleStart = cpuTicks(pid);
    await sleep(1000);
    const idleTicks = cpuTicks(pid) - idleStart;
    const [after] = await rewritten();
    const event = await stopConsumer(consumer);
    const stats = event['stats'];
    t.diagnostic(
      `lingerMs ${lingerMs}: ${stats.packets} packets in ${stats.batches} batches, ${stats.wakeups} wake-ups, ${stats.lingerWaits} waits, ` +
        `timer lag max ${Math.round(event['timerLagMaxMs'])} ms, idle CPU ${idleTicks} ticks/s, sent in ${sent.seconds.toFixed(2)} s`,
    );
    assert.equal(sent.sent, COUNT);
    assert.equal(after - before, COUNT, 'every SYN reached the server rewritten');
    assert.equal(stats.packets, COUNT, 'each SYN was handed to the handler once');
    // A 10 ms interval timer ran throughout: a wait never outlasts a due timer (nor lingerMs).
    assert.ok(event['timerLagMaxMs'] < 500, `a 10 ms timer was late by ${Math.round(event['timerLagMaxMs'])} ms`);
    // A blocked receive costs nothing: an idle consumer (only its 10 ms timer) stays near zero.
    assert.ok(idleTicks <= 5, `an idle consumer used ${idleTicks} CPU ticks in 1 s`);
    if (lingerMs > 0) {
      assert.ok(stats.lingerWaits > 0, 'receives waited in the addon');
      // Without waiting, nearly every burst is a wake-up of its own (see lingerMs 0 below).
      assert.ok(stats.wakeups * 2 < stats.batches, `${stats.wakeups} wake-ups for ${stats.batches} batches`);
    } else {
      assert.equal(stats.lingerWaits, 0, 'lingerMs 0 never waits');
      assert.ok(stats.wakeups * 3 >= stats.batches, `${stats.wakeups} wake-ups for ${stats.batches} batches`);
    }
  }
});
