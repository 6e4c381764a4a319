// PathMtuCache against a double of the rtnetlink source: what it answers, when it asks, what it counts.
import { test } from 'node:test';
import { collectionsDuring } from '../support/collections.js';
import assert from 'node:assert/strict';
import { PathMtuCache } from '../../src/pmtu/path-mtu-cache.js';
import type { RouteMtuSource } from '../../src/pmtu/route-mtu.js';

// Route MTUs by "address/oif" (text), policy routes by "dst<src@iif#mark", link MTUs by ifindex;
// every call is recorded ("address/oif", and in full in fullCalls).
class FakeRoutes implements RouteMtuSource {
  readonly state = new Uint32Array(1);
  readonly routes = new Map<string, number>();
  readonly policy = new Map<string, number>();
  readonly links = new Map<number, number>();
  routeCalls: string[] = [];
  fullCalls: string[] = [];
  linkCalls: number[] = [];

  route(family: 4 | 6, bytes: Uint8Array, dstOffset: number, srcOffset: number, iif: number, oif: number, mark: number): number {
    const dst = addressText(family, bytes, dstOffset);
    const src = srcOffset < 0 ? '-' : addressText(family, bytes, srcOffset);
    const key = `${dst}/${oif}`;
    this.routeCalls.push(key);
    this.fullCalls.push(`${dst}<${src}@${iif}>${oif}#${mark}`);
    return this.policy.get(`${dst}<${src}@${iif}#${mark}`) ?? this.routes.get(key) ?? this.routes.get(`${dst}/*`) ?? 0;
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
// The interface forwarded packets came in by (the client side).
const Toc = 2;

// A cache whose lookups each run as a batch of their own (beginBatch before every lookup), unless
// the test drives batches itself through `cache`.
function setup(options: ConstructorParameters<typeof PathMtuCache>[1] = {}) {
  const fake = new FakeRoutes();
  let clock = 1000;
  const cache = new PathMtuCache(fake, { now: () => clock, ...options });
  const lookup = (family: 4 | 6, p: Uint8Array, oif: number, iif = Toc, mark = 0): number => {
    cache.beginBatch();
    return cache.lookup(family, p, Dst, Src, iif, oif, mark);
  };
  return { fake, cache, lookup, advance: (ms: number) => (clock += ms) };
}

test('the answer is the smaller of the route towards the destination and the route back to the source', () => {
  const { fake, cache, lookup } = setup();
  fake.routes.set(`${hex(server4)}/${Tos}`, 1400);
  fake.routes.set(`${hex(client4)}/0`, 1500);
  const p = packet(client4, server4);
  assert.equal(lookup(4, p, Tos), 1400);
  fake.routes.set(`${hex(client4)}/0`, 1350);
  cache.clear();
  assert.equal(lookup(4, p, Tos), 1350, 'a lower MTU back to the source lowers the answer');
  assert.deepEqual(
    fake.routeCalls,
    [`${hex(server4)}/${Tos}`, `${hex(client4)}/0`, `${hex(server4)}/${Tos}`, `${hex(client4)}/0`],
    'forward asked through the output interface, reverse without one (tcpmss_reverse_mtu)',
  );
});

test('a hit asks nothing and counts a hit; IPv4 and IPv6 keys do not collide', () => {
  const { fake, cache, lookup } = setup();
  fake.routes.set(`${hex(server4)}/*`, 1400);
  fake.routes.set(`${hex(client4)}/*`, 1500);
  fake.routes.set(`${hex(server6)}/*`, 1280);
  fake.routes.set(`${hex(client6)}/*`, 1500);
  const p4 = packet(client4, server4);
  const p6 = packet(client6, server6);
  assert.equal(lookup(4, p4, Tos), 1400);
  assert.equal(lookup(6, p6, Tos), 1280);
  const calls = fake.routeCalls.length;
  for (let i = 0; i < 100; i++) {
    assert.equal(lookup(4, p4, Tos), 1400);
    assert.equal(lookup(6, p6, Tos), 1280);
  }
  assert.equal(fake.routeCalls.length, calls, 'no request on a hit');
  assert.deepEqual(
    { lookups: cache.lookups, hits: cache.hits, misses: cache.misses, requests: cache.requests, failures: cache.failures },
    { lookups: 202, hits: 200, misses: 2, requests: 4, failures: 0 },
  );
});

test('the same source towards another destination asks only for the new destination', () => {
  const { fake, lookup } = setup();
  fake.routes.set(`${hex(client4)}/*`, 1500);
  fake.routes.set(`${hex(server4)}/*`, 1500);
  fake.routes.set(`${hex([203, 0, 113, 3])}/*`, 1400);
  lookup(4, packet(client4, server4), Tos);
  fake.routeCalls = [];
  assert.equal(lookup(4, packet(client4, [203, 0, 113, 3]), Tos), 1400);
  assert.deepEqual(fake.routeCalls, [`${hex([203, 0, 113, 3])}/${Tos}`]);
});

test('the output interface is part of the key', () => {
  const { fake, lookup } = setup();
  fake.routes.set(`${hex(client4)}/*`, 1500);
  fake.routes.set(`${hex(server4)}/3`, 1400);
  fake.routes.set(`${hex(server4)}/4`, 1300);
  const p = packet(client4, server4);
  assert.equal(lookup(4, p, 3), 1400);
  assert.equal(lookup(4, p, 4), 1300);
  assert.equal(lookup(4, p, 3), 1400);
});

test('a new generation (a route or link changed) makes every answer stale', () => {
  const { fake, cache, lookup } = setup({ ttlMs: 60_000 });
  fake.routes.set(`${hex(client4)}/*`, 1500);
  fake.routes.set(`${hex(server4)}/*`, 1500);
  const p = packet(client4, server4);
  assert.equal(lookup(4, p, Tos), 1500);
  fake.routes.set(`${hex(server4)}/*`, 1400);
  assert.equal(lookup(4, p, Tos), 1500, 'still cached');
  fake.bump();
  assert.equal(lookup(4, p, Tos), 1400);
  assert.equal(cache.misses, 2);
});

test('answers expire after ttlMs (PMTU exceptions are not announced)', () => {
  const { fake, cache, lookup, advance } = setup({ ttlMs: 3000 });
  fake.routes.set(`${hex(client4)}/*`, 1500);
  fake.routes.set(`${hex(server4)}/*`, 1500);
  const p = packet(client4, server4);
  lookup(4, p, Tos);
  fake.routes.set(`${hex(server4)}/*`, 1300);
  advance(2999);
  assert.equal(lookup(4, p, Tos), 1500);
  advance(1);
  assert.equal(lookup(4, p, Tos), 1300);
  assert.equal(cache.size, 2, 'the key reuses its own slot');
});

test('no route MTU: the output interface MTU, then 0; failures are counted and cached too', () => {
  const { fake, cache, lookup } = setup();
  fake.routes.set(`${hex(client4)}/*`, 1500);
  fake.links.set(Tos, 1450);
  const p = packet(client4, server4);
  assert.equal(lookup(4, p, Tos), 1450, 'link MTU fallback');
  assert.equal(lookup(4, p, Tos), 1450);
  assert.deepEqual(fake.linkCalls, [Tos], 'the fallback is cached with the entry');
  assert.equal(lookup(4, p, 0), 0, 'no output interface: unknown');
  assert.equal(lookup(4, p, 0), 0);
  assert.deepEqual(
    { failures: cache.failures, linkFallbacks: cache.linkFallbacks, unknown: cache.unknown, requests: cache.requests },
    { failures: 4, linkFallbacks: 2, unknown: 2, requests: 3 },
    'an unroutable destination is asked once per TTL, not per packet',
  );
});

test('the link fallback is still lowered by the route back to the source', () => {
  const { fake, lookup } = setup();
  fake.routes.set(`${hex(client4)}/*`, 1350);
  fake.links.set(Tos, 1500);
  assert.equal(lookup(4, packet(client4, server4), Tos), 1350);
});

test('an unknown route back to the source is ignored, as the kernel does, and counted', () => {
  const { fake, cache, lookup } = setup();
  fake.routes.set(`${hex(server4)}/*`, 1400);
  assert.equal(lookup(4, packet(client4, server4), Tos), 1400);
  assert.equal(cache.reverseUnknown, 1);
  assert.equal(cache.failures, 0);
});

test('a full table keeps answering right and replaces entries that are dead or expire first', () => {
  const { fake, cache, lookup, advance } = setup({ slots: 8, ttlMs: 1000 });
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
      assert.equal(lookup(4, packet(client4, dst), Tos), expected.get(hex(dst)));
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
  assert.throws(() => new PathMtuCache(fake, { lookupBudget: -1 }), /lookupBudget/);
  assert.throws(() => new PathMtuCache(fake, { lookupBudget: 1.5 }), /lookupBudget/);
  assert.throws(() => new PathMtuCache(fake, { coalesceMs: -1 }), /coalesceMs/);
});

test('policy routing: the forward route is asked with source, input interface and mark, and cached per each', () => {
  const { fake, lookup } = setup();
  fake.routes.set(`${hex(server4)}/*`, 1500);
  fake.routes.set(`${hex(client4)}/*`, 1500);
  const other4 = [192, 0, 2, 7];
  fake.routes.set(`${hex(other4)}/*`, 1500);
  // `ip rule from 192.0.2.0/24 table 100`, and `ip rule fwmark 9 table 101`: other tables, other MTUs.
  fake.policy.set(`${hex(server4)}<${hex(other4)}@${Toc}#0`, 1300);
  fake.policy.set(`${hex(server4)}<${hex(client4)}@${Toc}#9`, 1320);
  fake.policy.set(`${hex(server4)}<${hex(client4)}@5#0`, 1340);
  assert.equal(lookup(4, packet(client4, server4), Tos), 1500);
  assert.equal(lookup(4, packet(other4, server4), Tos), 1300, 'another source, another table');
  assert.equal(lookup(4, packet(client4, server4), Tos, Toc, 9), 1320, 'another mark');
  assert.equal(lookup(4, packet(client4, server4), Tos, 5), 1340, 'another input interface');
  const calls = fake.fullCalls.length;
  assert.equal(lookup(4, packet(client4, server4), Tos), 1500);
  assert.equal(lookup(4, packet(other4, server4), Tos), 1300);
  assert.equal(lookup(4, packet(client4, server4), Tos, Toc, 9), 1320);
  assert.equal(lookup(4, packet(client4, server4), Tos, 5), 1340);
  assert.equal(fake.fullCalls.length, calls, 'all four cached apart');
  assert.deepEqual(
    fake.fullCalls.slice(0, 2),
    [`${hex(server4)}<${hex(client4)}@${Toc}>${Tos}#0`, `${hex(client4)}<-@0>0#0`],
    "forward: the packet's own lookup; back: destination only, as tcpmss_reverse_mtu",
  );
  // IPv6 the same way.
  fake.routes.set(`${hex(server6)}/*`, 1500);
  fake.routes.set(`${hex(client6)}/*`, 1500);
  fake.policy.set(`${hex(server6)}<${hex(client6)}@${Toc}#4`, 1280);
  assert.equal(lookup(6, packet(client6, server6), Tos, Toc, 4), 1280);
  assert.equal(lookup(6, packet(client6, server6), Tos, Toc, 0), 1500);
});

test('the clock is read once per batch, not per lookup', () => {
  const fake = new FakeRoutes();
  let reads = 0;
  const cache = new PathMtuCache(fake, { now: () => ++reads * 1000 });
  fake.routes.set(`${hex(server4)}/*`, 1400);
  fake.routes.set(`${hex(client4)}/*`, 1500);
  const before = reads;
  cache.beginBatch();
  for (let i = 0; i < 100; i++) assert.equal(cache.lookup(4, packet(client4, server4), Dst, Src, Toc, Tos, 0), 1400);
  assert.equal(reads - before, 1);
  cache.beginBatch(123_456);
  assert.equal(reads - before, 1, 'a time given is not read');
});

test('a batch asks the kernel at most lookupBudget times; past that, interface MTUs answer and are counted', () => {
  const { fake, cache } = setup({ lookupBudget: 4 });
  fake.routes.set(`${hex(server4)}/*`, 1400);
  fake.links.set(Tos, 1450);
  fake.links.set(Toc, 1420);
  // A SYN flood: every packet from another source, so every lookup misses on the way back.
  const flood = (n: number, base: number): number[] => {
    cache.beginBatch();
    const answers: number[] = [];
    for (let i = 0; i < n; i++) {
      const src = [198, 51, 100 + (base >> 8), base + i];
      fake.routes.set(`${hex(src)}/*`, 1500);
      answers.push(cache.lookup(4, packet(src, server4), Dst, Src, Toc, Tos, 0));
    }
    return answers;
  };
  assert.deepEqual(
    flood(6, 0),
    [1400, 1400, 1420, 1420, 1420, 1420],
    'two lookups asked (two requests each), then the output interface MTU lowered by the input interface MTU',
  );
  assert.deepEqual(
    { requests: cache.requests, misses: cache.misses, budgetFallbacks: cache.budgetFallbacks, linkFallbacks: cache.linkFallbacks },
    { requests: 4, misses: 2, budgetFallbacks: 4, linkFallbacks: 0 },
  );
  assert.equal(fake.routeCalls.length, 4);
  assert.deepEqual(fake.linkCalls.sort(), [Toc, Tos], 'each interface MTU asked once');
  assert.equal(cache.size, 4, 'budget answers are not stored');
  assert.deepEqual(flood(3, 10), [1400, 1400, 1420], 'the next batch has its budget again');
  const { cache: zero } = setup({ lookupBudget: 0 });
  zero.beginBatch();
  assert.equal(zero.lookup(4, packet(client4, server4), Dst, Src, 0, 0, 0), 0, 'nothing known: 0 (the floor)');
  assert.equal(zero.unknown, 1);
});

test('route/rule/link changes empty the cache at most once per coalesceMs; the last change is never lost', () => {
  const { fake, cache, lookup, advance } = setup({ ttlMs: 60_000, coalesceMs: 100 });
  fake.routes.set(`${hex(client4)}/*`, 1500);
  fake.routes.set(`${hex(server4)}/*`, 1500);
  const p = packet(client4, server4);
  assert.equal(lookup(4, p, Tos), 1500);
  fake.routes.set(`${hex(server4)}/*`, 1400);
  fake.bump();
  assert.equal(lookup(4, p, Tos), 1400, 'the first change after a quiet spell is followed at once');
  fake.routes.set(`${hex(server4)}/*`, 1300);
  fake.bump();
  advance(50);
  assert.equal(lookup(4, p, Tos), 1400, 'a change 50 ms later waits');
  advance(49);
  assert.equal(lookup(4, p, Tos), 1400);
  advance(1);
  assert.equal(lookup(4, p, Tos), 1300, '100 ms after the last emptying, followed');
  assert.equal(cache.generations, 2);
  for (let i = 0; i < 50; i++) {
    fake.bump();
    advance(10);
    lookup(4, p, Tos);
  }
  assert.equal(cache.generations, 7, 'churn every 10 ms empties the cache every 100 ms, not every batch');
});

test('a hit allocates nothing: two million hits run without a single young-generation collection', async () => {
  const { fake, cache } = setup({ ttlMs: 3_600_000 });
  fake.routes.set(`${hex(client6)}/*`, 1500);
  fake.routes.set(`${hex(server6)}/*`, 1280);
  const p = packet(client6, server6);
  // The sum stays a small integer in a local: a captured or large double would allocate by itself.
  const run = (n: number): number => {
    let wrong = 0;
    for (let i = 0; i < n; i++) {
      if ((i & 255) === 0) cache.beginBatch(); // batches of 256, as the handler does
      if (cache.lookup(6, p, Dst, Src, Toc, Tos, 7) !== 1280) wrong++;
    }
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
