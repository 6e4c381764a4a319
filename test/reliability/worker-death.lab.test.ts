// One queue worker dies under real TCP connections: the real daemon with --queue-balance 38:39 (the
// worker-kill-daemon fixture adds only a SIGUSR2 that terminates queue 39's thread), the client
// connecting every 10 ms from 16 addresses. Which address lands on which queue is learned first, one
// connection at a time, from the kernel's per-queue counters (iptables hashes the addresses). Then:
// no connection fails; queue 38's addresses never arrive unclamped (its worker keeps clamping); queue
// 39's arrive unclamped while it has no reader (--queue-bypass); the supervisor starts a new worker
// within a second (its bind takes as long as the machine needs) and counts it in
// mssmangler_worker_restarts_total{queue="39"}; afterwards everything is clamped again on both queues.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, LabAddress, LabInterface } from '../lab/lab.js';
import { events, sleep } from '../queue/queue-lab.js';
import { FIXTURES, kernelQueue } from './daemon-lab.js';
import { applyRules, jsonLines, sample, scrape, STARTUP_TIMEOUT_MS } from '../lab/daemon.js';

const TCP = `${FIXTURES}tcp.js`;
const LIVE = 38;
const DYING = 39;
const SOURCES = Array.from({ length: 16 }, (_, i) => `198.51.100.${100 + i}`);

interface Attempt {
  at: number;
  ok: boolean;
  ms: number;
  from: string;
}

/** Per source address, SYNs the server received with MSS 1380 (clamped) and 1460 (as sent). */
async function countSynsBySource(lab: Lab): Promise<() => Promise<Map<string, { clamped: number; unclamped: number }>>> {
  for (const [i, address] of SOURCES.entries()) {
    for (const [kind, mss] of [
      ['c', 1380],
      ['u', 1460],
    ] as const) {
      await lab.exec('server', 'iptables', [
        '-A',
        'INPUT',
        '-s',
        address,
        '-p',
        'tcp',
        '--syn',
        '--dport',
        '80',
        '-m',
        'tcpmss',
        '--mss',
        String(mss),
        '-m',
        'comment',
        '--comment',
        `${kind}${i}`,
      ]);
    }
  }
  return async () => {
    const { stdout } = await lab.exec('server', 'iptables', ['-nvxL', 'INPUT']);
    const packets = (comment: string): number => {
      const line = stdout.split('\n').find((l) => l.includes(`/* ${comment} */`));
      return line ? Number(line.trim().split(/\s+/)[0]) : -1;
    };
    return new Map(SOURCES.map((address, i) => [address, { clamped: packets(`c${i}`), unclamped: packets(`u${i}`) }]));
  };
}

/** The queue each source address's SYNs land on: one connection each, then the kernel's id_sequence. */
async function queueOfSources(lab: Lab): Promise<Map<string, number>> {
  const queueOf = new Map<string, number>();
  for (const address of SOURCES) {
    const before = [(await kernelQueue(lab, LIVE))?.idSequence ?? 0, (await kernelQueue(lab, DYING))?.idSequence ?? 0];
    await lab.exec('client', 'curl', ['-s', '-m', '2', '--interface', address, `http://${LabAddress.server4}/`]).catch(() => undefined);
    const after = [(await kernelQueue(lab, LIVE))?.idSequence ?? 0, (await kernelQueue(lab, DYING))?.idSequence ?? 0];
    const grew = [after[0]! > before[0]!, after[1]! > before[1]!];
    assert.ok(grew[0] !== grew[1], `the SYN from ${address} went through exactly one queue: ${before} -> ${after}`);
    queueOf.set(address, grew[0] ? LIVE : DYING);
  }
  return queueOf;
}

test(
  'a queue worker thread dies under connections: the other queue keeps clamping, the dead one bypasses, a new worker within a second, counted',
  { timeout: 90_000 },
  async (t) => {
    const lab = await Lab.create({ tag: 'wdie' });
    t.after(() => lab.destroy());
    for (const address of SOURCES) await lab.exec('client', 'ip', ['addr', 'add', `${address}/24`, 'dev', LabInterface.client]);
    await applyRules(lab, ['--queue-balance', `${LIVE}:${DYING}`, '--set-mss', '1380', '--direction', 'syn', '--family', '4']);
    const counts = await countSynsBySource(lab);
    const server = lab.spawn('server', process.execPath, [TCP, 'serve', '80']);
    await server.waitFor(/listening/);
    const daemon = lab.spawn('router', process.execPath, [`${FIXTURES}worker-kill-daemon.js`, `${LIVE}:${DYING}`, String(DYING)]);
    await daemon.waitFor(/"msg":"started"/, STARTUP_TIMEOUT_MS);

    const queueOf = await queueOfSources(lab);
    const on = (queue: number): string[] => SOURCES.filter((a) => queueOf.get(a) === queue);
    assert.ok(
      on(LIVE).length > 0 && on(DYING).length > 0,
      `the addresses spread over both queues: ${on(LIVE).length} + ${on(DYING).length}`,
    );
    const sum = (m: Map<string, { clamped: number; unclamped: number }>, queue: number, k: 'clamped' | 'unclamped'): number =>
      on(queue).reduce((n, a) => n + m.get(a)![k], 0);

    const client = lab.spawn('client', process.execPath, [TCP, 'connect', LabAddress.server4, '80', '30', '10', '3000', SOURCES.join(',')]);
    const start = await counts();
    await (async () => {
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(100)) {
        const now = await counts();
        if (sum(now, LIVE, 'clamped') - sum(start, LIVE, 'clamped') > 10 && sum(now, DYING, 'clamped') - sum(start, DYING, 'clamped') > 10)
          return;
      }
      assert.fail('connections are clamped on both queues before the worker dies');
    })();
    const atKill = await counts();
    assert.equal(sum(atKill, LIVE, 'unclamped') + sum(atKill, DYING, 'unclamped'), 0, 'nothing unclamped while both workers run');

    const killedAt = Date.now();
    daemon.child.kill('SIGUSR2');
    await daemon.waitFor(/"msg":"queue worker restarted"/, 5000);
    const restartSeenMs = Date.now() - killedAt;
    const atRestart = await counts();
    await sleep(1000);
    const done = await client.stop('SIGTERM', 5000);

    const log = jsonLines(daemon.stdout);
    const died = log.find((l) => l['msg'] === 'queue worker died; restarting it');
    const restarted = log.find((l) => l['msg'] === 'queue worker restarted');
    assert.equal(died?.['queue'], DYING, 'the supervisor saw queue 39 die');
    assert.equal(restarted?.['queue'], DYING);
    const diedAt = Date.parse(String(died['time']));
    // The supervisor's promise: a new worker within a second. Its bind follows as fast as the machine allows.
    const relaunched = log.filter((l) => l['msg'] === 'test: worker launched' && l['queue'] === DYING).at(-1);
    const relaunchMs = Date.parse(String(relaunched?.['time'])) - diedAt;
    const restartMs = Date.parse(String(restarted['time'])) - diedAt;
    const attempts = events(done.stdout) as Attempt[];
    const failed = attempts.filter((a) => !a.ok);
    const end = await counts();
    const figures = {
      relaunchMs,
      restartMs,
      restartSeenMs,
      attempts: attempts.length,
      failed: failed.length,
      unclampedDying: sum(end, DYING, 'unclamped'),
      unclampedLive: sum(end, LIVE, 'unclamped'),
      clampedLiveDuringOutage: sum(atRestart, LIVE, 'clamped') - sum(atKill, LIVE, 'clamped'),
      sources: { [LIVE]: on(LIVE).length, [DYING]: on(DYING).length },
    };
    console.log(JSON.stringify({ workerDeath: figures }));
    assert.ok(attempts.length > 50, `the client made its attempts (${attempts.length})`);
    assert.equal(failed.length, 0, 'no connection failed (3 s connect timeout)');
    assert.ok(relaunchMs >= 0 && relaunchMs < 1000, `a new worker started ${relaunchMs} ms after it died`);
    assert.ok(restartMs >= relaunchMs, `bound again ${restartMs} ms after it died`);
    assert.equal(figures.unclampedLive, 0, 'queue 38 kept clamping: none of its SYNs passed unclamped');
    assert.ok(figures.clampedLiveDuringOutage > 0, 'queue 38 clamped SYNs while queue 39 had no reader');
    assert.ok(figures.unclampedDying > 0, "queue 39's SYNs passed unclamped (--queue-bypass) while it had no reader");

    const metrics = await scrape(lab);
    assert.equal(sample(metrics, 'mssmangler_worker_restarts_total', { queue: String(DYING) }), 1);
    assert.equal(sample(metrics, 'mssmangler_worker_restarts_total', { queue: String(LIVE) }), 0);

    // After the restart: every new SYN clamped again, on both queues.
    const again = lab.spawn('client', process.execPath, [TCP, 'connect', LabAddress.server4, '80', '0.5', '10', '3000', SOURCES.join(',')]);
    const againAttempts = events((await again.exited).stdout) as Attempt[];
    const final = await counts();
    assert.ok(againAttempts.length >= 10 && againAttempts.every((a) => a.ok));
    for (const queue of [LIVE, DYING]) {
      assert.equal(sum(final, queue, 'unclamped'), sum(end, queue, 'unclamped'), `queue ${queue}: nothing unclamped after the restart`);
      const fromQueue = againAttempts.filter((a) => queueOf.get(a.from) === queue).length;
      assert.equal(sum(final, queue, 'clamped') - sum(end, queue, 'clamped'), fromQueue, `queue ${queue}: every new SYN clamped`);
    }
  },
);
