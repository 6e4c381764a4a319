// The matcher on hand-made handshake sets: NAT, rewritten ISNs, reordered connections, a clock offset
// between the captures, and handshakes seen at one point only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchHandshakes, type MatchedPair } from '../../src/explain/matcher.js';
import { handshake } from './handshakes.js';

/** "A's clientPort -> B's clientPort" per pair, "-" for a missing side. */
function summary(pairs: readonly MatchedPair[]): string[] {
  return pairs.map((p) => `${p.a?.clientPort ?? '-'}>${p.b?.clientPort ?? '-'}`);
}

test('NAT plus rewritten ISNs plus reordered connections: timestamps pair them', () => {
  // Five connections from one client to one server, 10 ms apart. Between A and B a NAT rewrites the
  // client's address and port and a firewall randomizes both ISNs; B's capture lists them shuffled.
  const a = [0, 1, 2, 3, 4].map((i) =>
    handshake({
      index: i,
      clientPort: 40000 + i,
      time: 100 + i * 0.01,
      syn: { seq: 1000 + i, tsVal: 7000 + i },
      synAck: { seq: 9000 + i, tsVal: 3000 + i },
    }),
  );
  const order = [3, 0, 4, 1, 2];
  const b = order.map((i, position) =>
    handshake({
      index: position,
      client: '203.0.113.1',
      clientPort: 1024 + i,
      time: 100.002 + i * 0.01,
      syn: { seq: 555_000 + 17 * i, tsVal: 7000 + i },
      synAck: { seq: 777_000 + 31 * i, tsVal: 3000 + i },
    }),
  );
  const pairs = matchHandshakes(a, b);
  assert.deepEqual(summary(pairs), ['40000>1024', '40001>1025', '40002>1026', '40003>1027', '40004>1028']);
});

test('no timestamps, NAT and ISN randomization: time after the clock offset decides, and B-only handshakes fall in place', () => {
  // A Windows-like client (no timestamps), connections 300 ms apart; B's clock runs 5 s ahead and its
  // capture starts at the first connection too. A's third SYN never reaches B; B also sees another client.
  const a = [0, 1, 2, 3].map((i) =>
    handshake({ index: i, clientPort: 50000 + i, time: 10 + i * 0.3, syn: { seq: 100 + i, options: 'mss,nop,ws,nop,nop,sok' } }),
  );
  const b = [
    handshake({ index: 0, client: '192.0.2.9', clientPort: 2000, time: 15.001, syn: { seq: 900, options: 'mss,nop,ws,nop,nop,sok' } }),
    handshake({ index: 1, client: '192.0.2.9', clientPort: 2001, time: 15.301, syn: { seq: 901, options: 'mss,nop,ws,nop,nop,sok' } }),
    handshake({ index: 2, client: '192.0.2.77', clientPort: 3333, time: 15.45, syn: { seq: 42, options: 'mss,sok,ts,nop,ws', wscale: 9 } }),
    handshake({ index: 3, client: '192.0.2.9', clientPort: 2003, time: 15.901, syn: { seq: 903, options: 'mss,nop,ws,nop,nop,sok' } }),
  ];
  const pairs = matchHandshakes(a, b);
  assert.deepEqual(summary(pairs), ['50000>2000', '50001>2001', '->3333', '50002>-', '50003>2003']);
});

test('a timestamp anchor fixes a clock offset of minutes; an unrelated connection at the same time is not matched', () => {
  const a = [
    handshake({ index: 0, clientPort: 41000, time: 1000, syn: { seq: 1, tsVal: 123456 } }),
    handshake({ index: 1, clientPort: 41001, time: 1000.5, syn: { seq: 2, tsVal: null, options: 'mss,nop,ws,nop,nop,sok' } }),
  ];
  const b = [
    // B's clock is 300 s ahead; the first handshake at B is someone else's, right when A's starts.
    handshake({
      index: 0,
      client: '192.0.2.50',
      clientPort: 9999,
      server: '192.0.2.1',
      serverPort: 22,
      time: 1000,
      syn: { seq: 77, tsVal: 5, options: 'mss,sok,ts', wscale: 2 },
    }),
    handshake({ index: 1, clientPort: 41000, time: 1300.01, syn: { seq: 1, tsVal: 123456 } }),
    handshake({
      index: 2,
      client: '203.0.113.1',
      clientPort: 6000,
      time: 1300.51,
      syn: { seq: 99, tsVal: null, options: 'mss,nop,ws,nop,nop,sok' },
    }),
  ];
  const pairs = matchHandshakes(a, b);
  assert.deepEqual(summary(pairs), ['->9999', '41000>41000', '41001>6000']);
});

test('an empty B leaves every A handshake unmatched; an empty A every B one', () => {
  const a = [handshake({ clientPort: 1 }), handshake({ clientPort: 2, index: 1, time: 101 })];
  assert.deepEqual(summary(matchHandshakes(a, [])), ['1>-', '2>-']);
  assert.deepEqual(summary(matchHandshakes([], a)), ['->1', '->2']);
});

test('IPv4 and IPv6 handshakes never pair, however alike', () => {
  const a = [handshake({ family: 4, syn: { tsVal: 5, seq: 5 } })];
  const b = [handshake({ family: 6, client: 'fd00::1', server: 'fd00::2', syn: { tsVal: 5, seq: 5 } })];
  assert.deepEqual(summary(matchHandshakes(a, b)), ['40000>-', '->40000']);
});

test('two candidates for one A handshake: the better evidence wins, the other stays unmatched', () => {
  const a = [handshake({ clientPort: 40000, syn: { seq: 10, tsVal: 20 } })];
  const b = [
    handshake({ index: 0, clientPort: 40000, syn: { seq: 11, tsVal: 21 } }),
    handshake({ index: 1, clientPort: 40001, time: 100.01, syn: { seq: 10, tsVal: 20 } }),
  ];
  const pairs = matchHandshakes(a, b);
  assert.deepEqual(summary(pairs), ['->40000', '40000>40001']);
});

test('a timestamp every handshake shares proposes nothing: time pairs them, and the matching stays fast', () => {
  const count = 20_000;
  const a = Array.from({ length: count }, (_, i) =>
    handshake({ index: i, clientPort: 1024 + i, time: 10 + i * 0.001, syn: { seq: 5 + i, tsVal: 0x01020304 } }),
  );
  const b = Array.from({ length: count }, (_, i) =>
    handshake({
      index: i,
      client: '203.0.113.1',
      clientPort: 30000 + i,
      time: 10.0002 + i * 0.001,
      syn: { seq: 900_000 + i, tsVal: 0x01020304 },
    }),
  );
  const started = Date.now();
  const pairs = matchHandshakes(a, b);
  assert.ok(Date.now() - started < 5000, `matched in ${Date.now() - started} ms`);
  assert.equal(pairs.length, count);
  assert.ok(pairs.every((p) => p.a !== null && p.b !== null && p.b.clientPort - p.a.clientPort === 30000 - 1024));
});
