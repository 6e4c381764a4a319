// Regression: a worker_thread holding a RouteMtu was terminated and the process died with SIGSEGV
// (exit 139). The synchronous env cleanup hook called uv_close with a callback inside the addon, and
// libuv ran it after the worker's teardown had unloaded the addon. Now an async cleanup hook keeps
// the environment (and the addon) until the poll handle's close callback has run.
//
// Each case runs the fixture as its own process in the lab router, whose main thread never loads the
// addon (else it would stay mapped and the bug could not show), and covers one order of close(),
// garbage collection and environment teardown: each must exit 0 and leave no socket open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Lab, LabInterface } from '../lab/lab.js';
import { loadNative } from '../../src/native/load.js';

const fixture = fileURLToPath(new URL('./fixtures/route-mtu-terminate.js', import.meta.url));

interface Report {
  mode: string;
  mtu: number;
  exitCode: number;
  generationMoved?: boolean;
  socketsClosedByGc?: boolean;
  socketsBefore: number;
  socketsAfter: number;
  addonInMain: boolean;
}

const cases = [
  { mode: 'open', what: 'terminate() with the watcher active and a notification on its way' },
  { mode: 'closing', what: 'close() twice, then terminate() while the close callback is pending' },
  { mode: 'collected', what: 'garbage collected while open, then terminate()' },
  { mode: 'closed-collected', what: 'close(), garbage collected, then terminate()' },
  { mode: 'ends', what: 'the worker ends by itself with the RouteMtu open' },
] as const;

test('a worker holding a RouteMtu is terminated or ends: the process exits 0, no socket left open', async (t) => {
  loadNative();
  const lab = await Lab.create({ tag: 'pmtut', checksumOffloadOff: false });
  t.after(() => lab.destroy());

  await Promise.all(
    cases.map(({ mode, what }) =>
      t.test(`${mode}: ${what}`, async () => {
        const p = lab.spawn('router', process.execPath, ['--expose-gc', fixture, mode, LabInterface.routerToServer]);
        const timer = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
        const done = await p.exited;
        clearTimeout(timer);
        assert.deepEqual({ code: done.code, signal: done.signal }, { code: 0, signal: null }, `exit 0, not a crash: ${done.stderr}`);
        const report = JSON.parse(done.stdout) as Report;
        assert.equal(report.addonInMain, false, 'the main thread never loaded the addon');
        assert.equal(report.mtu, 65536, 'the worker answered a lookup (loopback MTU)');
        assert.equal(report.exitCode, mode === 'ends' ? 0 : 1, 'worker exit code (1 after terminate())');
        if (mode === 'open') assert.equal(report.generationMoved, true, 'the watcher saw the link changes');
        if (mode === 'collected') assert.equal(report.socketsClosedByGc, true, 'the finalizer closed both sockets');
        assert.equal(report.socketsAfter, report.socketsBefore, 'no socket left open');
      }),
    ),
  );
});
