// sd_notify for real: the addon sends to a unix datagram socket bound by a python3 receiver, at a file
// system path and in the abstract namespace, as systemd's NOTIFY_SOCKET would be.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../src/log/logger.js';
import { SystemdNotifier, monotonicUsec, type SdNotifyBinding } from '../../src/lifecycle/notify.js';
import { LineCapture, settle } from '../log/capture.js';
import { DatagramReceiver } from './datagram-receiver.js';
import { loadBuiltSdNotify } from './sd-notify-addon.js';

let seq = 0;

async function receiver(t: { after: (fn: () => void) => void }, abstract = false) {
  const dir = mkdtempSync(join(tmpdir(), 'mssmangler-notify-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const address = abstract ? `@mssmangler-test-${process.pid}-${seq++}` : join(dir, 'notify.sock');
  const r = await DatagramReceiver.start(address);
  t.after(() => r.stop());
  return { r, address };
}

test('READY, STATUS, RELOADING with MONOTONIC_USEC, and STOPPING arrive at a path socket', async (t) => {
  const { r, address } = await receiver(t);
  const n = new SystemdNotifier({ env: { NOTIFY_SOCKET: address }, binding: loadBuiltSdNotify() });
  assert.equal(n.enabled, true);
  assert.ok(n.ready('bound to queue 0, 2 rules'));
  const before = Number(monotonicUsec());
  assert.ok(n.reloading());
  assert.ok(n.ready('reloaded: 3 rules'));
  assert.ok(n.status('two\nlines'));
  assert.ok(n.stopping());
  const got = await r.waitFor(5);
  assert.equal(got[0]!.msg, 'READY=1\nSTATUS=bound to queue 0, 2 rules');
  const [reload, mono] = got[1]!.msg.split('\n');
  assert.equal(reload, 'RELOADING=1');
  const usec = Number(/^MONOTONIC_USEC=(\d+)$/.exec(mono!)![1]);
  // The same clock as the receiver's CLOCK_MONOTONIC, taken between our two readings and its arrival.
  assert.ok(usec >= before && usec <= got[1]!.at, `MONOTONIC_USEC ${usec} not in [${before}, ${got[1]!.at}]`);
  assert.equal(got[2]!.msg, 'READY=1\nSTATUS=reloaded: 3 rules');
  assert.equal(got[3]!.msg, 'STATUS=two lines', 'a newline cannot inject another assignment');
  assert.equal(got[4]!.msg, 'STOPPING=1');
});

test('the abstract namespace (@name) works', async (t) => {
  const { r, address } = await receiver(t, true);
  const n = new SystemdNotifier({ env: { NOTIFY_SOCKET: address }, binding: loadBuiltSdNotify() });
  assert.ok(n.ready());
  assert.equal((await r.waitFor(1))[0]!.msg, 'READY=1');
});

test('the watchdog pings WATCHDOG=1 at half of WATCHDOG_USEC, and skips while not alive', async (t) => {
  const { r, address } = await receiver(t);
  const n = new SystemdNotifier({
    env: { NOTIFY_SOCKET: address, WATCHDOG_USEC: '200000', WATCHDOG_PID: String(process.pid) },
    binding: loadBuiltSdNotify(),
  });
  assert.equal(n.watchdogIntervalMs, 100);
  let alive = true;
  const stop = n.startWatchdog(() => alive);
  t.after(stop);
  const got = await r.waitFor(3, 2000);
  assert.ok(got.every((d) => d.msg === 'WATCHDOG=1'));
  const gaps = got.slice(1).map((d, i) => (d.at - got[i]!.at) / 1000);
  assert.ok(
    gaps.every((g) => g > 60 && g < 1000),
    `ping gaps ${gaps.join(', ')} ms`,
  );
  alive = false;
  await sleep(150);
  const count = r.received.length;
  await sleep(350);
  assert.equal(r.received.length, count, 'no ping while isAlive() is false');
  stop();
});

test('no watchdog when WATCHDOG_PID names another process or WATCHDOG_USEC is absent', () => {
  const fake: SdNotifyBinding = { sdNotify: () => {} };
  assert.equal(
    new SystemdNotifier({ env: { NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '1000000', WATCHDOG_PID: '1' }, binding: fake, pid: 2 })
      .watchdogIntervalMs,
    undefined,
  );
  assert.equal(new SystemdNotifier({ env: { NOTIFY_SOCKET: '/x' }, binding: fake }).watchdogIntervalMs, undefined);
  assert.equal(new SystemdNotifier({ env: { NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '30000000' }, binding: fake }).watchdogIntervalMs, 15000);
});

test('without NOTIFY_SOCKET every call is a no-op and the addon is never called', () => {
  let calls = 0;
  const counting: SdNotifyBinding = { sdNotify: () => void calls++ };
  const n = new SystemdNotifier({ env: { WATCHDOG_USEC: '100000' }, binding: counting });
  assert.equal(n.enabled, false);
  assert.equal(n.ready('x'), false);
  assert.equal(n.reloading(), false);
  assert.equal(n.stopping(), false);
  assert.equal(n.watchdogIntervalMs, undefined);
  n.startWatchdog()();
  assert.equal(calls, 0);
});

test('a failed send returns false, never throws, and is logged once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mssmangler-notify-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = new LineCapture();
  const logger = createLogger({ stream: out, format: 'json' });
  const n = new SystemdNotifier({ env: { NOTIFY_SOCKET: join(dir, 'nobody-listens.sock') }, binding: loadBuiltSdNotify(), logger });
  assert.equal(n.ready(), false);
  assert.equal(n.stopping(), false);
  await settle();
  assert.equal(out.lines.length, 1);
  const line = out.json()[0]!;
  assert.equal(line['level'], 'warn');
  assert.equal((line['err'] as { code: string }).code, 'ERR_SD_NOTIFY');
});

test('the addon rejects bad arguments and over-long addresses with errors, not crashes', () => {
  const b = loadBuiltSdNotify();
  assert.throws(() => (b.sdNotify as unknown as (x: number) => void)(1), TypeError);
  assert.throws(() => b.sdNotify('relative/path', 'READY=1'), TypeError);
  assert.throws(() => b.sdNotify(`/${'x'.repeat(200)}`, 'READY=1'), /ERR_SD_NOTIFY|File name too long/);
  assert.throws(
    () => b.sdNotify(`@${'x'.repeat(200)}`, 'READY=1'),
    (e: unknown) => (e as { code?: string }).code === 'ERR_SD_NOTIFY',
  );
});
