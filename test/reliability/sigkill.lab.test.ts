// SIGKILL under real TCP connections: the client opens a connection every 20 ms to the server
// through the router, where the daemon clamps SYNs to 1380 from an NFQUEUE rule with --queue-bypass.
// Once 20 clamped SYNs have arrived the daemon is killed with SIGKILL; once 20 unclamped ones have arrived it is started again. New
// connections keep working while it is gone (the kernel bypasses the unbound queue, so their SYNs
// arrive unclamped, MSS 1460); a SYN that sat in the queue at the moment of the kill is dropped with
// the queue instance and the connection waits for the client's SYN retransmission (1 s) instead of
// failing. The figures (attempts, failures, slow connects) are printed; after the restart every new
// SYN is clamped again.
// Run twice: one queue, and two queues (--queue-balance, one worker thread per queue) with the client
// connecting from many addresses, since iptables balances on a hash of the addresses; there the
// restarted daemon must clamp again on both queues.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, LabAddress, LabInterface } from '../lab/lab.js';
import { countServerSyns, events, sleep } from '../queue/queue-lab.js';
import { FIXTURES } from './daemon-lab.js';
import { applyRules, sample, scrape, startDaemon } from '../lab/daemon.js';

const TCP = `${FIXTURES}tcp.js`;

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out: ${what}`);
    await sleep(100);
  }
}

interface Setup {
  readonly tag: string;
  /** --queue N or --queue-balance FIRST:LAST, for the rule and the daemon alike. */
  readonly queueArgs: readonly string[];
  readonly queues: readonly number[];
  /** Client source addresses the connections cycle through (none: the client's own). */
  readonly sources: readonly string[];
}

interface Attempt {
  at: number;
  ok: boolean;
  ms: number;
}

async function sigkillUnderConnections(t: test.TestContext, setup: Setup): Promise<void> {
  const lab = await Lab.create({ tag: setup.tag });
  t.after(() => lab.destroy());
  for (const address of setup.sources) await lab.exec('client', 'ip', ['addr', 'add', `${address}/24`, 'dev', LabInterface.client]);
  await applyRules(lab, [...setup.queueArgs, '--set-mss', '1380', '--direction', 'syn', '--family', '4']);
  const counts = await countServerSyns(lab, [
    { family: 4, dport: 80, mss: 1380 },
    { family: 4, dport: 80, mss: 1460 },
  ]);
  const server = lab.spawn('server', process.execPath, [TCP, 'serve', '80']);
  await server.waitFor(/listening/);
  const args = [...setup.queueArgs, '--set-mss', '1380', '--direction', 'syn', '--metrics-listen', '127.0.0.1:9465'];
  const daemon = await startDaemon(lab, args);
  const from = setup.sources.length > 0 ? [setup.sources.join(',')] : [];
  // Per queue, SYNs the running daemon received (its counters start at 0 with each process).
  const perQueue = async (): Promise<number[]> => {
    const text = await scrape(lab);
    return setup.queues.map((queue) => sample(text, 'mssmangler_queue_received_packets_total', { queue: String(queue) }));
  };

  const client = lab.spawn('client', process.execPath, [TCP, 'connect', LabAddress.server4, '80', '30', '20', '3000', ...from]);
  await until(async () => (await counts())[0] > 20, 'connections are clamped while the daemon runs');
  const [, unclampedBefore] = await counts();
  assert.equal(unclampedBefore, 0);
  const before = await perQueue();
  assert.ok(
    before.every((n) => n > 0),
    `every queue carried SYNs before the kill: ${before.join(', ')}`,
  );
  const killedAt = Date.now();
  daemon.process.child.kill('SIGKILL');
  const killed = await daemon.process.exited;
  assert.equal(killed.signal, 'SIGKILL');
  await until(async () => (await counts())[1] > 20, 'connections keep going, unclamped, while the daemon is down');
  const [, unclampedDown] = await counts();
  const restartAt = Date.now();
  await startDaemon(lab, args);
  const restartedAt = Date.now();
  await sleep(1000);
  const done = await client.stop('SIGTERM', 5000);
  const attempts = events(done.stdout) as Attempt[];
  const failed = attempts.filter((a) => !a.ok);
  const slow = attempts.filter((a) => a.ok && a.ms > 900);
  const duringDown = attempts.filter((a) => a.at > killedAt + 100 && a.at < restartAt - 100);
  console.log(
    JSON.stringify({
      sigkill: {
        queues: setup.queues.length,
        sources: Math.max(1, setup.sources.length),
        attempts: attempts.length,
        failed: failed.length,
        slowOver900ms: slow.length,
        attemptsWhileDown: duringDown.length,
        failedWhileDown: duringDown.filter((a) => !a.ok).length,
        restartMs: restartedAt - restartAt,
        unclampedSyns: unclampedDown - unclampedBefore,
      },
    }),
  );
  assert.ok(attempts.length > 100, `the client made its attempts (${attempts.length})`);
  assert.equal(failed.length, 0, 'no connection failed (3 s connect timeout)');
  assert.ok(
    duringDown.length > 5 && duringDown.every((a) => a.ok && a.ms < 900),
    'connections opened while the daemon was down worked at once',
  );

  const [clampedAfterRestart, unclampedAfterRestart] = await counts();
  const receivedAfterRestart = await perQueue();
  const again = lab.spawn('client', process.execPath, [TCP, 'connect', LabAddress.server4, '80', '0.5', '20', '3000', ...from]);
  const againDone = await again.exited;
  const againAttempts = events(againDone.stdout) as Attempt[];
  const [clampedEnd, unclampedEnd] = await counts();
  const receivedEnd = await perQueue();
  assert.ok(againAttempts.length >= 10 && againAttempts.every((a) => a.ok));
  assert.equal(unclampedEnd, unclampedAfterRestart, 'after the restart no SYN passes unclamped');
  assert.equal(clampedEnd - clampedAfterRestart, againAttempts.length, 'every new SYN is clamped again');
  const grew = receivedEnd.map((n, i) => n - receivedAfterRestart[i]!);
  assert.ok(
    grew.every((n) => n > 0),
    `the restarted daemon handled SYNs on every queue: ${grew.join(', ')}`,
  );
}

test('daemon SIGKILLed under TCP connections: with --queue-bypass connections keep working unclamped; a restart clamps again', async (t) => {
  await sigkillUnderConnections(t, { tag: 'rkill', queueArgs: ['--queue', '33'], queues: [33], sources: [] });
});

test('two queues (--queue-balance 36:37), connections from 32 addresses: SIGKILL bypasses both, the restarted daemon clamps on both', async (t) => {
  const sources = Array.from({ length: 32 }, (_, i) => `198.51.100.${100 + i}`);
  await sigkillUnderConnections(t, { tag: 'rkill2', queueArgs: ['--queue-balance', '36:37'], queues: [36, 37], sources });
});
