// The sentences per case, on hand-made handshake pairs: each case's numbers and its likely cause.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { changesBetween } from '../../src/explain/change.js';
import { explainPair, explainSingle } from '../../src/explain/explanation.js';
import type { Handshake } from '../../src/explain/handshake.js';
import { synCookieMss } from '../../src/explain/syn-cookie-mss.js';
import { handshake, type HandshakeSpec } from './handshakes.js';

function explain(a: Handshake, b: Handshake): { changes: string[]; text: string } {
  const changes = changesBetween(a, b);
  return { changes, text: explainPair(a, b, changes).join('\n') };
}

/** The same connection at A and at B (B one hop later), with per-side overrides. */
function pair(aSpec: HandshakeSpec, bSpec: HandshakeSpec): { a: Handshake; b: Handshake } {
  const a = handshake({ syn: { ttl: 64 }, synAck: { ttl: 63 }, ...aSpec });
  const b = handshake({ syn: { ttl: 63 }, synAck: { ttl: 64 }, ...bSpec });
  return { a, b };
}

const lowered: ReadonlyArray<[4 | 6, number, number, RegExp]> = [
  [4, 1460, 1380, /lowered it by 80 bytes; 1380 is the value IPsec gateways typically clamp to/],
  [4, 1460, 1452, /lowered it by 8 bytes; 1452 is the MSS of a PPPoE link \(MTU 1492\)/],
  [4, 1460, 1240, /lowered it by 220 bytes; 1240 is an IPv4 path through a 1280-byte link/],
  [6, 1440, 1220, /lowered it by 220 bytes; 1220 is an IPv6 path through a 1280-byte link/],
  [4, 1460, 1400, /lowered it by 60 bytes\.$/m],
];
for (const [family, before, after, sentence] of lowered) {
  test(`SYN MSS ${before} at A, ${after} at B (IPv${family}): lowered by ${before - after}, with what ${after} usually is`, () => {
    const addresses = family === 6 ? { client: 'fd00:c::2', server: 'fd00:5::2' } : {};
    const { a, b } = pair({ family, ...addresses, syn: { mss: before, ttl: 64 } }, { family, ...addresses, syn: { mss: after, ttl: 63 } });
    const { changes, text } = explain(a, b);
    assert.deepEqual(changes, ['syn-mss']);
    assert.match(text, new RegExp(`The client's SYN left A with MSS ${before} and reached B with ${after}: a box between lowered it`));
    assert.match(text, sentence);
    assert.match(text, /B is 1 hop after A \(the SYN's TTL is 64 at A, 63 at B\)/);
  });
}

test('SYN/ACK MSS lowered on its way from B to A', () => {
  const { a, b } = pair({ synAck: { mss: 1380, ttl: 63 } }, { synAck: { mss: 1460, ttl: 64 } });
  const { changes, text } = explain(a, b);
  assert.deepEqual(changes, ['synack-mss']);
  assert.match(text, /The server's SYN\/ACK left B with MSS 1460 and reached A with 1380: a box between lowered it by 80 bytes/);
});

test('an MSS raised between A and B is called raised, with the MTU it needs', () => {
  const { a, b } = pair({ syn: { mss: 1220 } }, { syn: { mss: 1460 } });
  assert.match(explain(a, b).text, /raised it by 240 bytes[^]*need a path MTU of 1500/);
});

test('SYN cookie tables: what a cookie keeps of an MSS (net/ipv4 and net/ipv6 syncookies.c)', () => {
  assert.deepEqual(
    [400, 536, 1299, 1300, 1400, 1452, 1460, 9000].map((m) => synCookieMss(4, m)),
    [536, 536, 536, 1300, 1300, 1440, 1460, 1460],
  );
  assert.deepEqual(
    [1220, 1400, 1420, 1440, 8000, 8940].map((m) => synCookieMss(6, m)),
    [1220, 1220, 1420, 1440, 1440, 8940],
  );
});

test("SYN proxy: the SYN/ACK at A is the proxy's (other ISN, TTL from a nearer hop), the server got a cookie-quantized MSS", () => {
  // The proxy answers with its own ISN and TTL 64 (0 hops); the server's data reaches A with 63. The
  // SYN the server gets is the proxy's: same client ISN (Linux SYNPROXY keeps it), MSS 1400 -> 1300.
  const { a, b } = pair(
    { syn: { mss: 1400, ttl: 64, seq: 111 }, synAck: { mss: 1460, seq: 424242, ttl: 64 }, serverDataTtl: 63 },
    { syn: { mss: 1300, ttl: 64, seq: 111 }, synAck: { mss: 1460, seq: 999, ttl: 64 }, clientDataTtl: 63 },
  );
  const { changes, text } = explain(a, b);
  assert.deepEqual(changes, ['syn-mss', 'synack-seq']);
  assert.match(text, /1300 is exactly what a Linux SYN cookie keeps of 1400 \(its IPv4 table holds only 536, 1300, 1440, 1460\)/);
  assert.match(
    text,
    /The SYN\/ACK at A \(sequence 424242\) is not the server's \(999 at B\), and its TTL at A \(64\) says it came 1 hop nearer than the server's data \(63\): a SYN proxy answered the client itself/,
  );
  assert.match(
    text,
    /At B the SYN arrived with TTL 64 but the client's data with 63: the SYN came from a box 1 hop nearer than the client/,
  );
});

test('one capture alone shows a SYN/ACK from a nearer box by its TTL', () => {
  const h = handshake({ synAck: { ttl: 64 }, serverDataTtl: 61 });
  assert.match(
    explainSingle(h, 'A', false).join('\n'),
    /At A the SYN\/ACK arrived with TTL 64 but the server's data with 61: the SYN\/ACK came from a box 3 hops nearer than the server/,
  );
});

test('ISN randomization: both sequence numbers differ, the TTLs are ordinary', () => {
  const { a, b } = pair(
    { syn: { seq: 1 }, synAck: { seq: 2, ttl: 63 }, serverDataTtl: 63 },
    { syn: { seq: 3 }, synAck: { seq: 4, ttl: 64 } },
  );
  const { changes, text } = explain(a, b);
  assert.deepEqual(changes, ['syn-seq', 'synack-seq']);
  assert.match(text, /The client's initial sequence number is 1 at A and 3 at B: a box between rewrites sequence numbers/);
  assert.match(text, /The server's initial sequence number is 4 at B and 2 at A: a box between rewrites it/);
  assert.doesNotMatch(text, /SYN proxy answered/);
});

test('source NAT and destination NAT name the endpoints at both points', () => {
  const { a, b } = pair({ server: '192.0.2.80', serverPort: 80 }, { client: '203.0.113.1', clientPort: 61000, serverPort: 8080 });
  const { changes, text } = explain(a, b);
  assert.deepEqual(changes, ['client-address', 'client-port', 'server-address', 'server-port']);
  assert.match(
    text,
    /The client's address and port were translated between A and B \(198\.51\.100\.2:40000 at A, 203\.0\.113\.1:61000 at B\): source NAT\./,
  );
  assert.match(
    text,
    /The server's address and port were translated between A and B \(the client connects to 192\.0\.2\.80:80, the server is 203\.0\.113\.2:8080 at B\): destination NAT/,
  );
});

test('a port-only source NAT says port mapping; IPv6 endpoints are bracketed', () => {
  const { a, b } = pair(
    { family: 6, client: 'fd00:c::2', server: 'fd00:5::2' },
    { family: 6, client: 'fd00:c::2', server: 'fd00:5::2', clientPort: 7 },
  );
  assert.match(
    explain(a, b).text,
    /The client's port was translated between A and B \(\[fd00:c::2\]:40000 at A, \[fd00:c::2\]:7 at B\): source NAT with port mapping/,
  );
});

test('options stripped and added', () => {
  const stripped = pair(
    { syn: { options: 'mss,sok,ts,nop,ws' } },
    { syn: { options: 'mss,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,ws' } },
  );
  const s = explain(stripped.a, stripped.b);
  assert.deepEqual(s.changes, ['syn-options']);
  assert.match(s.text, /Options removed from the SYN between A and B: sok, ts\./);
  const added = pair({ synAck: { options: 'mss,nop,ws', ttl: 63 } }, { synAck: { options: 'mss,sok,ts,nop,ws', ttl: 64 } });
  assert.match(explain(added.a, added.b).text, /Options removed from the SYN\/ACK between B and A: sok, ts\./);
  const padding = pair({ syn: { options: 'mss,nop,ws' } }, { syn: { options: 'mss,ws,eol' } });
  assert.match(
    explain(padding.a, padding.b).text,
    /option layout changed from mss,nop,ws at A to mss,ws,eol at B \(same options, padding or order rewritten\)/,
  );
});

test('mssmangler faults: strip (NOPs), zero, duplicate', () => {
  const strip = pair(
    { syn: { mss: 1460, options: 'mss,sok,ts,nop,ws' } },
    { syn: { mss: null, options: 'nop,nop,nop,nop,sok,ts,nop,ws' } },
  );
  const s = explain(strip.a, strip.b);
  assert.deepEqual(s.changes, ['syn-mss', 'syn-options']);
  assert.match(
    s.text,
    /The client's SYN has MSS 1460 at A and no MSS option at B: a box between removed it \(overwritten with NOPs, as mssmangler's strip fault does\); the receiver assumes the default 536\./,
  );
  const zero = pair({ syn: { mss: 1460 } }, { syn: { mss: 0 } });
  assert.match(explain(zero.a, zero.b).text, /MSS 1460 at A and 0 at B \(as mssmangler's zero fault does\)/);
  const duplicate = pair({ syn: { options: 'mss,sok,ts,nop,ws' } }, { syn: { options: 'mss,sok,ts,nop,ws,mss' } });
  assert.match(explain(duplicate.a, duplicate.b).text, /Options added to the SYN between A and B: mss \(a second MSS option/);
});

test("segmentation offload: larger than the MSS at the sender's capture, within it at the other point", () => {
  const { a, b } = pair(
    { synAck: { mss: 1380, ttl: 63 }, largestToServer: 2760 },
    { synAck: { mss: 1380, ttl: 64 }, largestToServer: 1368 },
  );
  const { text } = explain(a, b);
  assert.match(
    text,
    /At A the client sent segments of up to 2760 bytes, more than the server's MSS of 1380 as the client received it: in the client's own capture that is segmentation offload/,
  );
  assert.match(
    text,
    /At B no segment toward the server is larger than 1368 bytes: the large ones at A were cut into MSS-sized segments before they left the client's host/,
  );
});

test('too-big messages: the MTU, and an advertised MSS that cannot fit the path', () => {
  const four = handshake({ synAck: { mss: 1460 }, tooBig: [{ mtu: 1280, toServer: true }] });
  const t4 = explainSingle(four, 'A', false).join('\n');
  assert.match(
    t4,
    /At A an ICMP "fragmentation needed" message quotes a segment of this connection toward the server and reports MTU 1280: a link on the path carries at most 1240 bytes/,
  );
  assert.match(
    t4,
    /The MSS the server advertised as seen at A, 1460, needs a path MTU of 1500 and cannot fit the 1280-byte link[^]*clamping the MSS to 1240/,
  );
  const six = handshake({
    family: 6,
    client: 'fd00:c::2',
    server: 'fd00:5::2',
    synAck: { mss: 1440 },
    tooBig: [{ mtu: 1280, toServer: true }],
  });
  assert.match(
    explainSingle(six, 'A', false).join('\n'),
    /ICMPv6 "Packet Too Big" message[^]*MTU 1280[^]*1440, needs a path MTU of 1500[^]*clamping the MSS to 1220/,
  );
  const fits = handshake({ synAck: { mss: 1200 }, tooBig: [{ mtu: 1280, toServer: true }] });
  assert.doesNotMatch(explainSingle(fits, 'A', false).join('\n'), /cannot fit/);
});

test('nothing changed: said so, with the hops between the points', () => {
  const { a, b } = pair({}, {});
  const { changes, text } = explain(a, b);
  assert.deepEqual(changes, []);
  assert.match(text, /Nothing the handshake carries changed between A and B/);
});

test('seen at one point only, and a SYN without answer', () => {
  const onlyA = handshake({ synAck: null });
  const text = explainSingle(onlyA, 'A', true).join('\n');
  assert.match(text, /Seen only at A: no handshake at B matches it/);
  assert.match(text, /The SYN got no SYN\/ACK at A\./);
  assert.match(explainSingle(handshake(), 'B', true).join('\n'), /Seen only at B/);
  assert.match(
    explainSingle(handshake({ synAck: { mss: 1380 } }), 'A', false).join('\n'),
    /The server's SYN\/ACK carries MSS 1380; 1380 is the value IPsec gateways/,
  );
});
