// The TypeScript side of RouteMtu: values are checked before they cross into C++ (which checks only
// types), so a bad offset or interface index answers 0 instead of reaching the kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteMtu } from '../../src/pmtu/route-mtu.js';
import type { RouteMtuNative, RouteMtuNativeOptions, RouteMtuNativeStats } from '../../src/native/contract.js';
import { ZERO_ROUTE_MTU_STATS } from '../support/fake-queue.js';

function fakeNative() {
  const calls: string[] = [];
  let state: Uint32Array | undefined;
  let options: RouteMtuNativeOptions | undefined;
  class Native implements RouteMtuNative {
    isOpen = true;
    constructor(s: Uint32Array, o?: RouteMtuNativeOptions) {
      state = s;
      options = o;
    }
    route(family: 4 | 6, _bytes: Uint8Array, dstOffset: number, srcOffset: number, iif: number, oif: number, mark: number): number {
      calls.push(`route ${family} ${dstOffset} ${srcOffset} ${iif} ${oif} ${mark}`);
      return 1500;
    }
    linkMtu(ifindex: number): number {
      calls.push(`link ${ifindex}`);
      return 1400;
    }
    close(): void {
      this.isOpen = false;
    }
    stats(): RouteMtuNativeStats {
      return { ...ZERO_ROUTE_MTU_STATS };
    }
  }
  return { Native, calls, state: () => state, options: () => options };
}

test('RouteMtu hands its generation word and timeout to the native side', () => {
  const f = fakeNative();
  const r = new RouteMtu({ native: f.Native, timeoutMs: 50 });
  assert.equal(f.state(), r.state);
  assert.deepEqual(f.options(), { timeoutMs: 50 });
  r.state[0] = 7;
  assert.equal(r.generation, 7);
  r.close();
  assert.equal(r.isOpen, false);
});

test('RouteMtu answers 0 without crossing for addresses outside the bytes or bad indexes', () => {
  const f = fakeNative();
  const r = new RouteMtu({ native: f.Native });
  const b = new Uint8Array(20);
  assert.equal(r.route(4, b, 16, -1, 0, 3, 0), 1500);
  assert.equal(r.route(4, b, 17, -1, 0, 3, 0), 0);
  assert.equal(r.route(6, b, 4, -1, 0, 0, 0), 1500);
  assert.equal(r.route(6, b, 5, -1, 0, 0, 0), 0);
  assert.equal(r.route(6, b, -1, -1, 0, 0, 0), 0);
  assert.equal(r.route(6, b, 0.5, -1, 0, 0, 0), 0);
  assert.equal(r.route(5 as 4, b, 0, -1, 0, 0, 0), 0);
  assert.equal(r.route(4, b, 0, 12, 2, 3, 0xffffffff), 1500, 'source, input interface and mark cross');
  assert.equal(r.route(4, b, 0, 17, 2, 3, 0), 0, 'a source outside the bytes');
  assert.equal(r.route(4, b, 0, -2, 2, 3, 0), 0);
  assert.equal(r.route(4, b, 0, 4, -1, 3, 0), 0, 'a bad input interface');
  assert.equal(r.route(4, b, 0, 4, 2, 3, -1), 0, 'a bad mark');
  assert.equal(r.linkMtu(0), 0);
  assert.equal(r.linkMtu(-2), 0);
  assert.equal(r.linkMtu(2), 1400);
  assert.deepEqual(f.calls, ['route 4 16 -1 0 3 0', 'route 6 4 -1 0 0 0', `route 4 0 12 2 3 ${0xffffffff}`, 'link 2']);
});

test('RouteMtu rejects an impossible timeout', () => {
  const f = fakeNative();
  assert.throws(() => new RouteMtu({ native: f.Native, timeoutMs: 0 }), /timeoutMs/);
  assert.throws(() => new RouteMtu({ native: f.Native, timeoutMs: 1.5 }), /timeoutMs/);
});
