// SIGKILL under real TCP connections: the client opens a connection every 20 ms to the server
// through the router, where the daemon clamps SYNs to 1380 from an NFQUEUE rule with --queue-bypass.
// Once 20 clamped SYNs have arrived the daemon is killed with SIGKILL; once 20 unclamped ones have arrived it is started again. New
// connections keep working while it is gone (the kernel bypasses the unbound queue, so their SYNs
// arrive unclamped, MSS 1460); a SYN that sat in the queue at the moment of the kill is dropped with
// the queue instance and the connection waits for the client's SYN retransmission (1 s) instead of
// failing. The figures (attempts, failures, slow connects) are printed; after the restart every new
// SYN is clamped again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, LabAddress } from '../lab/lab.js';
import { countServerSyns, events, sleep } from '../queue/queue-lab.js';
import { FIXTURES } from './daemon-lab.js';
import { applyRules, startDaemon } from '../lab/daemon.js';

const TCP = `${FIXTURES}tcp.js`;

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out: ${what}`);
    await sleep(100);
  }
}

test('daemon SIGKILLed under TCP connections: with --queue-bypass connections keep working unclamped; a restart clamps again', async (t) => {
  const lab = await Lab.create({ tag: 'rkill' });
  t.after(() => lab.destroy());
  await applyRules(lab, ['--queue', '33', '--set-mss', '1380', '--direction', 'syn', '--family', '4']);
  const counts = await countServerSyns(lab, [
    { family: 4, dport: 80, mss: 1380 },
    { family: 4, dport: 80, mss: 1460 },
  ]);
  const server = lab.spawn('server', process.execPath, [TCP, 'serve', '80']);
  await server.waitFor(/listening/);
  const args = ['--queue', '33', '--set-mss', '1380', '--direction', 'syn'];
  const daemon = await startDaemon(lab, args);

  const client = lab.spawn('client', process.execPath, [TCP, 'connect', LabAddress.server4, '80', '30', '20', '3000']);
  await until(async () => (await counts())[0]! > 20, 'connections are clamped while the daemon runs');
  const [, unclampedBefore] = await counts();
  assert.equal(unclampedBefore, 0);
  const killedAt = Date.now();
  daemon.process.child.kill('SIGKILL');
  const killed = await daemon.process.exited;
  assert.equal(killed.signal, 'SIGKILL');
  await until(async () => (await counts())[1]! > 20, 'connections keep going, unclamped, while the daemon is down');
  const [, unclampedDown] = await counts();
  const restartAt = Date.now();
  await startDaemon(lab, args);
  const restartedAt = Date.now();
  await sleep(1000);
  const done = await client.stop('SIGTERM', 5000);
  const attempts = events(done.stdout) as Array<{ at: number; ok: boolean; ms: number }>;
  const failed = attempts.filter((a) => !a.ok);
  const slow = attempts.filter((a) => a.ok && a.ms > 900);
  const duringDown = attempts.filter((a) => a.at > killedAt + 100 && a.at < restartAt - 100);
  console.log(JSON.stringify({
    sigkill: {
      attempts: attempts.length, failed: failed.length, slowOver900ms: slow.length,
      attemptsWhileDown: duringDown.length, failedWhileDown: duringDown.filter((a) => !a.ok).length,
      restartMs: restartedAt - restartAt, unclampedSyns: unclampedDown - unclampedBefore,
    },
  }));
  assert.ok(attempts.length > 100, `the client made its attempts (${attempts.length})`);
  assert.equal(failed.length, 0, 'no connection failed (3 s connect timeout)');
  assert.ok(duringDown.length > 5 && duringDown.every((a) => a.ok && a.ms < 900), 'connections opened while the daemon was down worked at once');

  const [clampedAfterRestart, unclampedAfterRestart] = await counts();
  const again = lab.spawn('client', process.execPath, [TCP, 'connect', LabAddress.server4, '80', '0.5', '20', '3000']);
  const againDone = await again.exited;
  const againAttempts = events(againDone.stdout) as Array<{ ok: boolean }>;
  const [clampedEnd, unclampedEnd] = await counts();
  assert.ok(againAttempts.length >= 10 && againAttempts.every((a) => a.ok));
  assert.equal(unclampedEnd, unclampedAfterRestart, 'after the restart no SYN passes unclamped');
  assert.equal(clampedEnd - clampedAfterRestart, againAttempts.length, 'every new SYN is clamped again');
});
