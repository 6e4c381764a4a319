// Classic pcap, field by field: both byte orders, both resolutions, the record walk, and every way a
// pcap file can be impossible.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MssmanglerError } from '../../src/errors.js';
import { collectBytes, toHex } from './collect.js';
import { concat, hex } from './hex.js';
import { IPV4_SYN, IPV6_SYN } from './ip-samples.js';

const ETHERNET_IPV4 = concat(hex`020000000002 020000000001 0800`, IPV4_SYN); // 54 bytes
const RAW_IPV6 = IPV6_SYN; // 60 bytes

const LITTLE_ENDIAN_MICROSECONDS = concat(
  hex`
  d4c3b2a1 # magic a1b2c3d4 written little-endian: microseconds
  0200     # version major 2
  0400     # version minor 4
  00000000 # reserved1 (thiszone)
  00000000 # reserved2 (sigfigs)
  ffff0000 # snaplen 65535
  01000000 # link type 1, Ethernet

  4ce7146b # seconds 1796532044
  40e20100 # microseconds 123456
  36000000 # captured length 54
  36000000 # original length 54`,
  ETHERNET_IPV4,
  hex`
  4ce7146b # seconds 1796532044
  41e20100 # microseconds 123457
  36000000 # captured length 54
  dc050000 # original length 1500 (snaplen cut the rest)`,
  ETHERNET_IPV4,
);

const BIG_ENDIAN_NANOSECONDS = concat(
  hex`
  a1b23c4d # magic, big-endian: nanoseconds
  0002 0004 # version 2.4
  00000000 00000000 # reserved
  00040000 # snaplen 262144
  00000065 # link type 101, raw IP

  6b14e74c # seconds 1796532044
  075bcd15 # nanoseconds 123456789
  0000003c # captured length 60
  0000003c # original length 60`,
  RAW_IPV6,
);

const BIG_ENDIAN_MICROSECONDS = concat(
  hex`
  a1b2c3d4 # magic, big-endian: microseconds
  0002 0004 00000000 00000000 0000ffff
  10000001 # link type 1 with the FCS-length bits set (bits 28-31): still Ethernet`,
  hex`6b14e74c 0001e240 00000036 00000036 # 1796532044 s, 123456 us, 54 of 54 bytes`,
  ETHERNET_IPV4,
);

const LITTLE_ENDIAN_NANOSECONDS = concat(
  hex`
  4d3cb2a1 # magic a1b23c4d little-endian: nanoseconds
  0200 0400 00000000 00000000 ffff0000
  14010000 # link type 276, Linux cooked v2`,
  hex`4ce7146b 15cd5b07 50000000 50000000 # 1796532044 s, 123456789 ns, 80 of 80 bytes`,
  hex`86dd 0000 00000001 0304 00 06 000000000000 0000 # SLL2: IPv6 on interface 1, loopback`,
  RAW_IPV6,
);

test('pcap little-endian microseconds: two Ethernet records', () => {
  const { packets, summary } = collectBytes(LITTLE_ENDIAN_MICROSECONDS);
  assert.deepEqual(summary, { packets: 2, truncatedAt: null, format: 'pcap', linkTypes: [1] });
  assert.deepEqual(packets, [
    { index: 0, fileOffset: 24, interfaceId: 0, seconds: 1796532044, nanos: 123456000, family: 4, ip: toHex(IPV4_SYN) },
    { index: 1, fileOffset: 24 + 16 + 54, interfaceId: 0, seconds: 1796532044, nanos: 123457000, family: 4, ip: toHex(IPV4_SYN) },
  ]);
});

test('pcap big-endian nanoseconds, raw IP', () => {
  const { packets, summary } = collectBytes(BIG_ENDIAN_NANOSECONDS);
  assert.deepEqual(summary, { packets: 1, truncatedAt: null, format: 'pcap', linkTypes: [101] });
  assert.deepEqual(packets, [
    { index: 0, fileOffset: 24, interfaceId: 0, seconds: 1796532044, nanos: 123456789, family: 6, ip: toHex(IPV6_SYN) },
  ]);
});

test('pcap big-endian microseconds, FCS bits above the link type', () => {
  const { packets, summary } = collectBytes(BIG_ENDIAN_MICROSECONDS);
  assert.deepEqual(summary.linkTypes, [1]);
  assert.equal(packets[0]!.nanos, 123456000);
  assert.equal(packets[0]!.ip, toHex(IPV4_SYN));
});

test('pcap little-endian nanoseconds, Linux cooked v2', () => {
  const { packets, summary } = collectBytes(LITTLE_ENDIAN_NANOSECONDS);
  assert.deepEqual(summary.linkTypes, [276]);
  assert.deepEqual(packets, [
    { index: 0, fileOffset: 24, interfaceId: 0, seconds: 1796532044, nanos: 123456789, family: 6, ip: toHex(IPV6_SYN) },
  ]);
});

test('pcap header alone: no packets, not truncated', () => {
  const { packets, summary } = collectBytes(LITTLE_ENDIAN_MICROSECONDS.subarray(0, 24));
  assert.equal(packets.length, 0);
  assert.deepEqual(summary, { packets: 0, truncatedAt: null, format: 'pcap', linkTypes: [1] });
});

test('pcap cut mid-record: the records before it, and where the cut record starts', () => {
  const secondRecord = 24 + 16 + 54;
  for (const cut of [secondRecord + 1, secondRecord + 15, secondRecord + 16, LITTLE_ENDIAN_MICROSECONDS.length - 1]) {
    const { packets, summary } = collectBytes(LITTLE_ENDIAN_MICROSECONDS.subarray(0, cut));
    assert.equal(packets.length, 1, `cut at ${cut}`);
    assert.equal(summary.truncatedAt, secondRecord, `cut at ${cut}`);
  }
});

test('pcap cut inside its file header: truncated at 0, no packets', () => {
  const { packets, summary } = collectBytes(LITTLE_ENDIAN_MICROSECONDS.subarray(0, 10));
  assert.equal(packets.length, 0);
  assert.equal(summary.truncatedAt, 0);
});

function assertCaptureError(contents: Uint8Array, offset: number, pattern: RegExp): void {
  assert.throws(
    () => collectBytes(contents, 'bad.pcap'),
    (error: unknown) => {
      assert.ok(error instanceof MssmanglerError);
      assert.equal(error.code, 'ERR_CAPTURE_INVALID');
      assert.ok(!error.message.includes('\n'), 'one line');
      assert.match(error.message, new RegExp(`^bad\\.pcap: byte ${offset}: `));
      assert.match(error.message, pattern);
      return true;
    },
  );
}

test('pcap with an impossible captured length: the error names the record and how to keep the rest', () => {
  const bad = LITTLE_ENDIAN_MICROSECONDS.slice();
  const secondRecord = 24 + 16 + 54;
  bad.set(hex`01000400 # captured length 262145`, secondRecord + 8);
  assertCaptureError(bad, secondRecord, /record 2 claims 262145 captured bytes.*editcap -r FILE OUT 1-1/);
});

test('pcap with an unsupported link type', () => {
  const bad = LITTLE_ENDIAN_MICROSECONDS.slice();
  bad.set(hex`93000000 # link type 147, user 0`, 20);
  assertCaptureError(bad, 20, /link type 147 is not supported/);
});

test('pcap with a version other than 2', () => {
  const bad = LITTLE_ENDIAN_MICROSECONDS.slice();
  bad.set(hex`0100`, 4);
  assertCaptureError(bad, 4, /pcap version 1/);
});

test('not a capture at all, too short, empty', () => {
  assertCaptureError(new TextEncoder().encode('hello, world\n'), 0, /not a pcap or pcapng capture \(it starts with 68 65 6c 6c\)/);
  assertCaptureError(hex`d4c3b2`, 0, /holds 3 bytes/);
  assertCaptureError(hex``, 0, /empty/);
});
