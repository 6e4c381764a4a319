// PathMtuCache against a double of the rtnetlink source: what it answers, when it asks, what it counts.
import { test } from 'node:test';
import { collectionsDuring } from '../support/collections.js';
import assert from 'node:assert/strict';
import { PathMtuCache } from '../../src/pmtu/path-mtu-cache.js';
import type { RouteMtuSource } from '../../src/pmtu/route-mtu.js';

// Route MTUs by "address/oif" (text), link MTUs by ifindex; every call is recorded.
class FakeRoutes implements RouteMtuSource {
  readonly state = new Uint32Array(1);
  readonly routes = new Map<string, number>();
  readonly links = new Map<number, number>();
  routeCalls: string[] = [];
  linkCalls: number[] = [];

  route(family: 4 | 6, bytes: Uint8Array, offset: number, oif: number): number {
    const key = `${addressText(family, bytes, offset)}/${oif}`;
    this.routeCalls.push(key);
    return this.routes.get(key) ?? this.routes.get(`${addressText(family, bytes, offset)}/*`) ?? 0;
  }

  linkMtu(ifindex: number): number {
    this.linkCalls.push(ifindex);
    return this.links.get(ifindex) ?? 0;
  }

  bump(): void {
    this.state[0]!++;
  }
}

function addressText(family: 4 | 6, bytes: Uint8Array, offset: number): string {
  const n = family === 4 ? 4 : 16;
  return Array.from(bytes.subarray(offset, offset + n), (b) => b.toString(16).padStart(2, '0')).join('');
}

// A "packet": source at 0, destination at 16 (room for IPv6), like the offsets PacketInfo gives.
const Src = 0;
const Dst = 16;
function packet(src: number[], dst: number[]): Uint8Array {
  const b = new Uint8Array(40);
  b.set(src, Src);
  b.set(dst, Dst);
  return b;
}
const hex = (a: number[]) => a.map((x) => x.toString(16).padStart(2, '0')).join('');

const client4 = [198, 51, 100, 2];
const server4 = [203, 0, 113, 2];
const client6 = [0xfd, 0, 0, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
const server6 = [0xfd, 0, 0, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
const Tos = 3;

function setup(options: ConstructorParameters<typeof PathMtuCache>[1] = {}) {
  const fake = new FakeRoutes();
  let clock = 1000;
  const cache = new PathMtuCache(fake, { now: () => clock, ...options });
  return { fake, cache, advance: (ms: number) => (clock += ms) };
}

test('the answer is the smaller of the route towards the destination and the route back to the source', () => {
  const { fake, cache } = setup();
  fake.routes.set(`${hex(server4)}/${Tos}`, 1400);
  fake.routes.set(`${hex(client4)}/0`, 1500);
  const p = packet(client4, server4);
  assert.equal(cache.lookup(4, p, Dst, Src, Tos), 1400);
  fake.routes.set(`${hex(client4)}/0`, 1350);
  cache.clear();
  assert.equal(cache.lookup(4, p, Dst, Src, Tos), 1350, 'a lower MTU back to the source lowers the answer');
  assert.deepEqual(fake.routeCalls, [`${hex(server4)}/${Tos}`, `${hex(client4)}/0`, `${hex(server4)}/${Tos}`, `${hex(client4)}/0`],
    'forward asked through the output interface, reverse without one (tcpmss_reverse_mtu)');
});

test('a hit asks nothing and counts a hit; IPv4 and IPv6 keys do not collide', () => {
  const { fake, cache } = setup();
  fake.routes.set(`${hex(server4)}/*`, 1400);
  fake.routes.set(`${hex(client4)}/*`, 1500);
  fake.routes.set(`${hex(server6)}/*`, 1280);
  fake.routes.set(`${hex(client6)}/*`, 1500);
  const p4 = packet(client4, server4);
  const p6 = packet(client6, server6);
  assert.equal(cache.lookup(4, p4, Dst, Src, Tos), 1400);
  assert.equal(cache.lookup(6, p6, Dst, Src, Tos), 1280);
  const calls = fake.routeCalls.length;
  for (let i = 0; i < 100; i++) {
    assert.equal(cache.lookup(4, p4, Dst, Src, Tos), 1400);
    assert.equal(cache.lookup(6, p6, Dst, Src, Tos), 1280);
  }
  assert.equal(fake.routeCalls.length, calls, 'no request on a hit');
  assert.deepEqual(
    { lookups: cache.lookups, hits: cache.hits, misses: cache.misses, requests: cache.requests, failures: cache.failures },
    { lookups: 202, hits: 200, misses: 2, requests: 4, failures: 0 },
  );
});

test('the same source towards another destination asks only for the new destination', () => {
  const { fake, cache } = setup();
  fake.routes.set(`${hex(client4)}/*`, 1500);
  fake.routes.set(`${hex(server4)}/*`, 1500);
  fake.routes.set(`${hex([203, 0, 113, 3])}/*`, 1400);
  cache.lookup(4, packet(client4, server4), Dst, Src, Tos);
  fake.routeCalls = [];
  assert.equal(cache.lookup(4, packet(client4, [203, 0, 113, 3]), Dst, Src, Tos), 1400);
  assert.deepEqual(fake.routeCalls, [`${hex([203, 0, 113, 3])}/${Tos}`]);
});

test('the output interface is part of the key', () => {
  const { fake, cache } = setup();
  fake.routes.set(`${hex(client4)}/*`, 1500);
  fake.routes.set(`${hex(server4)}/3`, 1400);
  fake.routes.set(`${hex(server4)}/4`, 1300);
  const p = packet(client4, server4);
  assert.equal(cache.lookup(4, p, Dst, Src, 3), 1400);
  assert.equal(cache.lookup(4, p, Dst, Src, 4), 1300);
  assert.equal(cache.lookup(4, p, Dst, Src, 3), 1400);
});

test('a new generation (a route or link changed) makes every answer stale', () => {
  const { fake, cache } = setup({ ttlMs: 60_000 });
  fake.routes.set(`${hex(client4)}/*`, 1500);
  fake.routes.set(`${hex(server4)}/*`, 1500);
  const p = packet(client4, server4);
  assert.equal(cache.lookup(4, p, Dst, Src, Tos), 1500);
  fake.routes.set(`${hex(server4)}/*`, 1400);
  assert.equal(cache.lookup(4, p, Dst, Src, Tos), 1500, 'still cached');
  fake.bump();
  assert.equal(cache.lookup(4, p, Dst, Src, Tos), 1400);
  assert.equal(cache.misses, 2);
});

test('answers expire after ttlMs (PMTU exceptions are not announced)', () => {
  const { fake, cache, advance } = setup({ ttlMs: 3000 });
  fake.routes.set(`${hex(client4)}/*`, 1500);
  fake.routes.set(`${hex(server4)}/*`, 1500);
  const p = packet(client4, server4);
  cache.lookup(4, p, Dst, Src, Tos);
  fake.routes.set(`${hex(server4)}/*`, 1300);
  advance(2999);
  assert.equal(cache.lookup(4, p, Dst, Src, Tos), 1500);
  advance(1);
  assert.equal(cache.lookup(4, p, Dst, Src, Tos), 1300);
  assert.equal(cache.size, 2, 'the key reuses its own slot');
});

test('no route MTU: the output interface MTU, then 0; failures are counted and cached too', () => {
  const { fake, cache } = setup();
  fake.routes.set(`${hex(client4)}/*`, 1500);
  fake.links.set(Tos, 1450);
  const p = packet(client4, server4);
  assert.equal(cache.lookup(4, p, Dst, Src, Tos), 1450, 'link MTU fallback');
  assert.equal(cache.lookup(4, p, Dst, Src, Tos), 1450);
  assert.deepEqual(fake.linkCalls, [Tos], 'the fallback is cached with the entry');
  assert.equal(cache.lookup(4, p, Dst, Src, 0), 0, 'no output interface: unknown');
  assert.equal(cache.lookup(4, p, Dst, Src, 0), 0);
  assert.deepEqual(
    { failures: cache.failures, linkFallbacks: cache.linkFallbacks, unknown: cache.unknown, requests: cache.requests },
    { failures: 4, linkFallbacks: 2, unknown: 2, requests: 3 },
    'an unroutable destination is asked once per TTL, not per packet',
  );
});

test('the link fallback is still lowered by the route back to the source', () => {
  const { fake, cache } = setup();
  fake.routes.set(`${hex(client4)}/*`, 1350);
  fake.links.set(Tos, 1500);
  assert.equal(cache.lookup(4, packet(client4, server4), Dst, Src, Tos), 1350);
});

test('an unknown route back to the source is ignored, as the kernel does, and counted', () => {
  const { fake, cache } = setup();
  fake.routes.set(`${hex(server4)}/*`, 1400);
  assert.equal(cache.lookup(4, packet(client4, server4), Dst, Src, Tos), 1400);
  assert.equal(cache.reverseUnknown, 1);
  assert.equal(cache.failures, 0);
});

test('a full table keeps answering right and replaces entries that are dead or expire first', () => {
  const { fake, cache, advance } = setup({ slots: 8, ttlMs: 1000 });
  const expected = new Map<string, number>();
  for (let i = 0; i < 64; i++) {
    const dst = [10, 0, i >> 8, i & 255];
    const mtu = 1280 + i;
    fake.routes.set(`${hex(dst)}/*`, mtu);
    expected.set(hex(dst), mtu);
  }
  fake.routes.set(`${hex(client4)}/*`, 9000);
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 64; i++) {
      const dst = [10, 0, i >> 8, i & 255];
      assert.equal(cache.lookup(4, packet(client4, dst), Dst, Src, Tos), expected.get(hex(dst)));
      advance(1);
    }
  }
  assert.ok(cache.size <= 8);
  assert.equal(cache.lookups, 192);
});

test('options are checked', () => {
  const fake = new FakeRoutes();
  assert.throws(() => new PathMtuCache(fake, { slots: 1000 }), /power of two/);
  assert.throws(() => new PathMtuCache(fake, { slots: 4 }), /power of two/);
  assert.throws(() => new PathMtuCache(fake, { ttlMs: -1 }), /ttlMs/);
});

test('a hit allocates nothing: two million hits run without a single young-generation collection', async () => {
  const { fake, cache } = setup({ ttlMs: 3_600_000 });
  fake.routes.set(`${hex(client6)}/*`, 1500);
  fake.routes.set(`${hex(server6)}/*`, 1280);
  const p = packet(client6, server6);
  // The sum stays a small integer in a local: a captured or large double would allocate by itself.
  const run = (n: number): number => {
    let wrong = 0;
    for (let i = 0; i < n; i++) if (cache.lookup(6, p, Dst, Src, Tos) !== 1280) wrong++;
    return wrong;
  };
  assert.equal(run(50_000), 0); // warm up (JIT)
  await new Promise((r) => setImmediate(r));
  let wrong = -1;
  const scavenges = await collectionsDuring(() => {
    wrong = run(2_000_000);
  });
  assert.equal(wrong, 0);
  // 16 bytes per lookup would be 32 MB: many scavenges. Only collections that start during the run count.
  assert.equal(scavenges, 0, `${scavenges} collections during 2000000 hits`);
});

