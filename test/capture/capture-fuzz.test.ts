// Fuzzing the capture reader with a fixed seed: every prefix of valid files, random garbage, random
// mutations of valid files and impossible lengths. Whatever the bytes, the reader returns a summary
// or throws ERR_CAPTURE_INVALID (nothing else), hands out packet views that stay inside their buffer,
// and finishes; the file path keeps its memory bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { CapturedPacket, CaptureSummary } from '../../src/capture/captured-packet.js';
import { readCapture, readCaptureBytes } from '../../src/capture/read-capture.js';
import { MssmanglerError } from '../../src/errors.js';
import { forceGc } from '../support/force-gc.js';
import { PcapWriter } from '../support/pcap-writer.js';
import { seededRandom } from '../support/seeded-random.js';
import { hex } from './hex.js';
import { IPV4_SYN, IPV6_SYN } from './ip-samples.js';
import { TWO_SECTIONS } from './pcapng-fixture.js';

/** A hang fails the test here. The work is fixed by the seeds and counts: about 3 s of CPU in all on
 * a quiet machine (16 s of wall time with the two cores shared eightfold). */
const FUZZ_TIMEOUT_MS = 60_000;

function smallPcap(littleEndian: boolean, nanoseconds: boolean, linkType: number, link: Uint8Array): Uint8Array {
  const writer = new PcapWriter({ linkType, littleEndian, nanoseconds });
  for (let i = 0; i < 6; i++) writer.add(1796532044, i, link, i % 2 === 0 ? IPV4_SYN : IPV6_SYN);
  // A Uint8Array of its own: Buffer's slice() would share memory and let mutations pile up.
  return new Uint8Array(writer.take());
}

const VALID_FILES: Array<[string, Uint8Array]> = [
  ['pcap LE us Ethernet (IPv4 ethertype on both)', smallPcap(true, false, 1, hex`020000000002 020000000001 0800`)],
  ['pcap BE ns raw', smallPcap(false, true, 101, hex``)],
  ['pcap LE ns SLL', smallPcap(true, true, 113, hex`0000 0304 0006 000000000000 0000 0800`)],
  ['pcap BE us NULL', smallPcap(false, false, 0, hex`00000002`)],
  ['pcapng two sections', TWO_SECTIONS],
];

/** Reads and checks every promise the reader makes about each packet view; returns the summary or the capture error. */
function readChecked(bytes: Uint8Array): CaptureSummary | MssmanglerError {
  let expectedIndex = 0;
  let lastOffset = -1;
  const check = (p: CapturedPacket) => {
    assert.equal(p.index, expectedIndex++);
    // Offsets count uncompressed bytes, so for gzip they can pass the file's length.
    assert.ok(p.fileOffset > lastOffset);
    lastOffset = p.fileOffset;
    if (p.ipOffset === -1) {
      assert.equal(p.family, 0);
      assert.equal(p.ipLength, 0);
    } else {
      assert.ok(p.family === 4 || p.family === 6);
      assert.ok(p.ipLength > 0 && p.ipOffset >= 0 && p.ipOffset + p.ipLength <= p.bytes.length);
    }
    assert.ok(Number.isInteger(p.seconds) && Number.isInteger(p.nanos) && p.nanos >= 0);
  };
  try {
    const summary = readCaptureBytes('fuzz', bytes, check);
    assert.equal(summary.packets, expectedIndex);
    if (summary.truncatedAt !== null) assert.ok(summary.truncatedAt > lastOffset);
    return summary;
  } catch (error) {
    if (error instanceof MssmanglerError && error.code === 'ERR_CAPTURE_INVALID' && !error.message.includes('\n')) return error;
    throw error;
  }
}

test('every prefix of a valid file reads as a truncated capture, never as an error', { timeout: FUZZ_TIMEOUT_MS }, () => {
  for (const [name, file] of VALID_FILES) {
    const full = readChecked(file);
    assert.ok(!(full instanceof MssmanglerError), name);
    let previous = 0;
    for (let length = 0; length < file.length; length++) {
      const result = readChecked(file.subarray(0, length));
      if (length < 4) {
        assert.ok(result instanceof MssmanglerError, `${name} at ${length}`);
        continue;
      }
      assert.ok(!(result instanceof MssmanglerError), `${name} cut at ${length}: ${(result as Error).message}`);
      assert.ok(result.packets >= previous && result.packets <= full.packets);
      previous = result.packets;
    }
  }
});

test('random garbage, with and without a capture magic in front', { timeout: FUZZ_TIMEOUT_MS }, () => {
  const next = seededRandom(10);
  const magics = [
    hex``,
    hex`d4c3b2a1 0200 0400`,
    hex`a1b23c4d 0002 0004`,
    hex`0a0d0d0a 1c000000 4d3c2b1a`,
    hex`0a0d0d0a 0000001c 1a2b3c4d 0001 0000`,
    hex`1f8b`,
  ];
  for (let i = 0; i < 4000; i++) {
    const magic = magics[i % magics.length]!;
    const bytes = new Uint8Array(magic.length + (next() % 600));
    bytes.set(magic);
    for (let j = magic.length; j < bytes.length; j++) bytes[j] = next() & 0xff;
    readChecked(bytes);
  }
});

/** One random change: a flipped byte, a 32-bit field set to an edge value, bytes inserted or removed. */
function mutate(file: Uint8Array, next: () => number): Uint8Array {
  const at = next() % file.length;
  switch (next() % 5) {
    case 0: {
      const copy = file.slice();
      copy[at] = next() & 0xff;
      return copy;
    }
    case 1: {
      // Impossible lengths: aligned 32-bit fields to values at the edges.
      const copy = file.slice();
      const edges = [0, 1, 3, 11, 12, 0xffff, 262144, 262145, 0x00ffffff, 0x7fffffff, 0xfffffff0, 0xffffffff];
      const aligned = at & ~3;
      if (aligned + 4 <= copy.length) new DataView(copy.buffer).setUint32(aligned, edges[next() % edges.length]!, (next() & 1) === 0);
      return copy;
    }
    case 2: {
      const copy = new Uint8Array(file.length + 1 + (next() % 8));
      copy.set(file.subarray(0, at));
      copy.set(file.subarray(at), copy.length - (file.length - at));
      return copy;
    }
    case 3:
      return new Uint8Array([...file.subarray(0, at), ...file.subarray(Math.min(file.length, at + 1 + (next() % 8)))]);
    default: {
      const copy = file.slice();
      for (let k = 0; k < 8; k++) copy[next() % copy.length] = next() & 0xff;
      return copy;
    }
  }
}

test('random mutations of valid files (and of their gzip)', { timeout: FUZZ_TIMEOUT_MS }, () => {
  const next = seededRandom(20);
  const zipped = VALID_FILES.map(([name, file]) => [`${name}, gzip`, new Uint8Array(gzipSync(file))] as const);
  const sources = [...VALID_FILES, ...zipped];
  let errors = 0;
  let reads = 0;
  for (let i = 0; i < 12_000; i++) {
    const [, file] = sources[i % sources.length]!;
    let bytes = mutate(file, next);
    if (i % 3 === 0) bytes = mutate(bytes, next);
    const result = readChecked(bytes);
    if (result instanceof MssmanglerError) errors++;
    else reads++;
  }
  // Both outcomes happen: the mutations are neither all harmless nor all fatal.
  assert.ok(errors > 1000 && reads > 1000, `${errors} errors, ${reads} reads`);
});

test('the file path: mutated files on disk, same outcome as in memory, memory bounded', { timeout: FUZZ_TIMEOUT_MS }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mm-capture-fuzz-'));
  try {
    const next = seededRandom(30);
    const path = join(dir, 'fuzz.cap');
    let worst = 0;
    for (let i = 0; i < 120; i++) {
      forceGc();
      const before = process.memoryUsage().arrayBuffers;
      const [, file] = VALID_FILES[i % VALID_FILES.length]!;
      const bytes = i % 2 === 0 ? mutate(file, next) : new Uint8Array(gzipSync(mutate(file, next)));
      writeFileSync(path, bytes);
      const inMemory = readChecked(bytes);
      const fromFile = await readCapture(path, () => {}).catch((error: unknown) => error);
      if (inMemory instanceof MssmanglerError) {
        assert.ok(fromFile instanceof MssmanglerError, `case ${i}: ${inMemory.message}`);
        assert.equal(fromFile.message.replace(path, 'fuzz'), inMemory.message);
      } else {
        assert.deepEqual(fromFile, inMemory, `case ${i}`);
      }
      // Nothing collected since `before`: this counts every buffer the two reads took.
      worst = Math.max(worst, process.memoryUsage().arrayBuffers - before);
    }
    // The file read takes a 1 MiB buffer, the read stream and gunzip 1 MiB each; the most a damaged
    // file can add is one 16 MiB pcapng block.
    assert.ok(worst < 40 * 1024 * 1024, `a read took ${worst} bytes of buffers`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
