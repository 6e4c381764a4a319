// pcapng, block by block (fixture in pcapng-fixture.ts): sections of both byte orders, several
// interfaces with their own link types and resolutions, the three packet block types, skipped blocks,
// and every way a block can be impossible.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MssmanglerError } from '../../src/errors.js';
import { collectBytes, toHex } from './collect.js';
import { concat, hex } from './hex.js';
import { IPV4_SYN, IPV6_SYN } from './ip-samples.js';
import { BIG_ENDIAN_SECTION, LITTLE_ENDIAN_SECTION, Offsets, TWO_SECTIONS } from './pcapng-fixture.js';

test('pcapng fixture lengths match the offsets the tests use', () => {
  assert.equal(LITTLE_ENDIAN_SECTION.length, Offsets.SECOND_SHB);
  assert.equal(TWO_SECTIONS.length, Offsets.END);
});

test('pcapng: two sections, both byte orders, four interfaces, EPB, SPB and the obsolete packet block', () => {
  const { packets, summary } = collectBytes(TWO_SECTIONS, 'two.pcapng');
  assert.deepEqual(summary, { packets: 5, truncatedAt: null, format: 'pcapng', linkTypes: [1, 101, 276, 228] });
  assert.deepEqual(packets, [
    { index: 0, fileOffset: Offsets.FIRST_EPB, interfaceId: 0, seconds: 1796532044, nanos: 123456789, family: 4, ip: toHex(IPV4_SYN) },
    { index: 1, fileOffset: Offsets.SECOND_EPB, interfaceId: 1, seconds: 1796532044, nanos: 123456000, family: 6, ip: toHex(IPV6_SYN) },
    // A simple packet block has no timestamp.
    { index: 2, fileOffset: Offsets.SPB, interfaceId: 0, seconds: 0, nanos: 0, family: 4, ip: toHex(IPV4_SYN) },
    { index: 3, fileOffset: Offsets.BIG_ENDIAN_EPB, interfaceId: 0, seconds: 1796532044, nanos: 500000000, family: 4, ip: toHex(IPV4_SYN) },
    { index: 4, fileOffset: Offsets.OPB, interfaceId: 1, seconds: 1796532044, nanos: 500000000, family: 4, ip: toHex(IPV4_SYN) },
  ]);
});

test('pcapng big-endian section alone', () => {
  const { packets, summary } = collectBytes(BIG_ENDIAN_SECTION);
  assert.deepEqual(summary.linkTypes, [276, 228]);
  assert.equal(packets.length, 2);
  assert.equal(packets[0]!.fileOffset, Offsets.BIG_ENDIAN_EPB - Offsets.SECOND_SHB);
});

test('pcapng cut inside a block: the packets before it, truncated at the block', () => {
  for (const [cut, before, at] of [
    [Offsets.SECOND_EPB + 1, 1, Offsets.SECOND_EPB],
    [Offsets.SECOND_EPB + 11, 1, Offsets.SECOND_EPB],
    [Offsets.SECOND_SHB + 20, 3, Offsets.SECOND_SHB],
    [Offsets.END - 4, 4, Offsets.OPB],
  ] as const) {
    const { packets, summary } = collectBytes(TWO_SECTIONS.subarray(0, cut));
    assert.equal(packets.length, before, `cut at ${cut}`);
    assert.equal(summary.truncatedAt, at, `cut at ${cut}`);
  }
});

test('pcapng interface whose link type we do not read: fine until a packet uses it', () => {
  const idbUsb = hex`01000000 14000000 bd00 0000 ffff0000 14000000 # interface 2: link type 189, USB`;
  const onlyDeclared = concat(LITTLE_ENDIAN_SECTION, idbUsb);
  assert.equal(collectBytes(onlyDeclared).summary.packets, 3);
  const used = concat(
    onlyDeclared,
    hex`06000000 20000000 02000000 00000000 00000000 00000000 00000000 20000000 # empty EPB on interface 2`,
  );
  assertCaptureError(used, Offsets.SECOND_SHB + 20, /packet on interface 2 has link type 189, which is not supported/);
});

function assertCaptureError(contents: Uint8Array, offset: number, pattern: RegExp): void {
  assert.throws(
    () => collectBytes(contents, 'bad.pcapng'),
    (error: unknown) => {
      assert.ok(error instanceof MssmanglerError);
      assert.equal(error.code, 'ERR_CAPTURE_INVALID');
      assert.ok(!error.message.includes('\n'));
      assert.match(error.message, new RegExp(`^bad\\.pcapng: byte ${offset}: `));
      assert.match(error.message, pattern);
      return true;
    },
  );
}

function patched(offset: number, bytes: Uint8Array): Uint8Array {
  const copy = TWO_SECTIONS.slice();
  copy.set(bytes, offset);
  return copy;
}

test('pcapng impossible blocks', () => {
  assertCaptureError(
    patched(Offsets.SECOND_EPB + 4, hex`0a000000 # length 10`),
    Offsets.SECOND_EPB,
    /claims a length of 10 bytes.*editcap -r FILE OUT 1-1/,
  );
  assertCaptureError(
    patched(Offsets.SECOND_EPB + 4, hex`66000000 # length 102, not a multiple of 4`),
    Offsets.SECOND_EPB,
    /claims a length of 102/,
  );
  assertCaptureError(patched(Offsets.SECOND_EPB + 4, hex`04000001 # 16 MiB + 4`), Offsets.SECOND_EPB, /claims a length of 16777220/);
  assertCaptureError(
    patched(Offsets.SECOND_EPB + 4, hex`64000000 # 100: the trailer says 104`),
    Offsets.SECOND_EPB,
    /starts with length 100 and ends with/,
  );
  assertCaptureError(
    patched(Offsets.SECOND_EPB + 20, hex`49000000 # captured 73`),
    Offsets.SECOND_EPB,
    /packet claims 73 captured bytes in a block with room for 72/,
  );
  assertCaptureError(
    patched(Offsets.SECOND_EPB + 8, hex`02000000 # interface 2`),
    Offsets.SECOND_EPB,
    /packet names interface 2, but the section describes 2/,
  );
  assertCaptureError(patched(Offsets.SECOND_SHB + 8, hex`1a2b3c4e`), Offsets.SECOND_SHB + 8, /byte-order magic/);
  assertCaptureError(patched(Offsets.SECOND_SHB + 12, hex`0002 # version 2`), Offsets.SECOND_SHB + 12, /pcapng version 2 is not 1/);
  assertCaptureError(patched(28 + 16 + 4, hex`7f # 10^-127`), 28 + 16 + 4, /interface 0 has timestamp resolution 0x7f/);
  const shortEpb = concat(LITTLE_ENDIAN_SECTION, hex`06000000 10000000 00000000 10000000 # EPB of 16 bytes`);
  assertCaptureError(shortEpb, Offsets.SECOND_SHB, /enhanced packet block of 16 bytes is too short/);
});

test('pcapng: a packet before any interface is described', () => {
  const noInterface = concat(LITTLE_ENDIAN_SECTION.subarray(0, 28), hex`03000000 10000000 00000000 10000000 # empty SPB`);
  assertCaptureError(noInterface, 28, /packet names interface 0, but the section describes 0/);
});

test('pcapng: a second section forgets the interfaces of the first', () => {
  const secondSectionOnlyHeader = concat(LITTLE_ENDIAN_SECTION, LITTLE_ENDIAN_SECTION.subarray(0, 28));
  const epbOnInterface1 = LITTLE_ENDIAN_SECTION.subarray(Offsets.SECOND_EPB, Offsets.SPB);
  assertCaptureError(concat(secondSectionOnlyHeader, epbOnInterface1), Offsets.SECOND_SHB + 28, /describes 0/);
});

test('pcapng: an option list that runs past its block ends the walk, not the file', () => {
  // Interface 0's if_tsresol claims 200 bytes: the option is ignored, the resolution stays microseconds.
  const { packets } = collectBytes(patched(28 + 16 + 2, hex`c800`));
  // 1796532044123456789 read as microseconds.
  assert.equal(packets[0]!.seconds, 1796532044123);
  assert.equal(packets[0]!.nanos, 456789000);
});
