// The streaming reader over real files: records that straddle its 1 MiB reads, gzip found by its
// magic, a gzip stream cut short, a block larger than the buffer, unreadable files, progress, memory
// that stays flat, and no allocation per packet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readCapture, readCaptureBytes } from '../../src/capture/read-capture.js';
import { MssmanglerError } from '../../src/errors.js';
import { collectionsDuring } from '../support/collections.js';
import { forceGc } from '../support/force-gc.js';
import { PcapWriter } from '../support/pcap-writer.js';
import { seen, type Seen } from './collect.js';
import { concat, hex } from './hex.js';
import { IPV4_SYN } from './ip-samples.js';

const ETHERNET_IPV4_HEADER = hex`020000000002 020000000001 0800`;

/** Ethernet frames of varying length (60..1559 bytes) whose IP bytes carry the record number. */
function manyRecords(count: number): Buffer {
  const writer = new PcapWriter({ linkType: 1, nanoseconds: true });
  for (let i = 0; i < count; i++) {
    const ip = new Uint8Array(40 + ((i * 7919) % 1500));
    ip.set(IPV4_SYN);
    new DataView(ip.buffer).setUint32(36, i); // in the TCP checksum/urgent words: the record number
    writer.add(1796532044 + Math.floor(i / 1000), (i % 1000) * 1_000_000, ETHERNET_IPV4_HEADER, ip);
  }
  return writer.take();
}

function withTempDir(run: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mm-capture-'));
    try {
      await run(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

async function collectFile(path: string): Promise<{ packets: Seen[]; summary: Awaited<ReturnType<typeof readCapture>> }> {
  const packets: Seen[] = [];
  const summary = await readCapture(path, (p) => packets.push(seen(p)));
  return { packets, summary };
}

async function assertRejects(path: string, pattern: RegExp): Promise<void> {
  await assert.rejects(
    readCapture(path, () => {}),
    (error: unknown) => {
      assert.ok(error instanceof MssmanglerError);
      assert.equal(error.code, 'ERR_CAPTURE_INVALID');
      assert.ok(!error.message.includes('\n'));
      assert.ok(error.message.startsWith(`${path}: byte `), error.message);
      assert.match(error.message, pattern);
      return true;
    },
  );
}

test(
  'a 4 MiB file read in 1 MiB pieces gives what the whole file in memory gives',
  withTempDir(async (dir) => {
    const file = manyRecords(6000);
    assert.ok(file.length > 4 * 1024 * 1024);
    const path = join(dir, 'many.pcap');
    writeFileSync(path, file);
    const streamed = await collectFile(path);
    const whole: Seen[] = [];
    const summary = readCaptureBytes(path, file, (p) => whole.push(seen(p)));
    assert.deepEqual(streamed.summary, summary);
    assert.equal(streamed.packets.length, 6000);
    assert.deepEqual(streamed.packets, whole);
    for (const [i, p] of streamed.packets.entries()) {
      assert.equal(p.index, i);
      assert.equal(parseInt(p.ip.slice(72, 80), 16), i, `record ${i} carries its own bytes`);
      assert.equal(p.nanos, (i % 1000) * 1_000_000);
    }
  }),
);

test(
  'gzip is recognised by its magic, not by the name',
  withTempDir(async (dir) => {
    const file = manyRecords(3000);
    writeFileSync(join(dir, 'plain.gz'), file);
    const plain = await collectFile(join(dir, 'plain.gz'));
    writeFileSync(join(dir, 'compressed.pcap'), gzipSync(file));
    const compressed = await collectFile(join(dir, 'compressed.pcap'));
    assert.equal(plain.packets.length, 3000);
    assert.deepEqual(compressed, plain);
  }),
);

test(
  'a gzip stream cut short: the records before the cut, and where the cut record starts',
  withTempDir(async (dir) => {
    const gz = gzipSync(manyRecords(3000));
    const path = join(dir, 'cut.pcap.gz');
    writeFileSync(path, gz.subarray(0, Math.floor(gz.length / 2)));
    const { packets, summary } = await collectFile(path);
    assert.ok(packets.length > 100 && packets.length < 3000, `${packets.length} packets`);
    assert.equal(summary.truncatedAt, packets.at(-1)!.fileOffset + 16 + 14 + packets.at(-1)!.ip.length / 2);
    // The in-memory reader agrees.
    const inMemory = readCaptureBytes(path, gz.subarray(0, Math.floor(gz.length / 2)), () => {});
    assert.deepEqual(inMemory, summary);
  }),
);

test(
  'damaged gzip data is the capture error',
  withTempDir(async (dir) => {
    const gz = gzipSync(manyRecords(200));
    gz.fill(0x55, 200, 400);
    const path = join(dir, 'damaged.pcap.gz');
    writeFileSync(path, gz);
    await assertRejects(path, /./);
  }),
);

test(
  'a pcapng block larger than the read buffer grows it',
  withTempDir(async (dir) => {
    const data = new Uint8Array(3 * 1024 * 1024);
    data.set(IPV4_SYN);
    const length = 28 + data.length + 4;
    const epb = new Uint8Array(length);
    const v = new DataView(epb.buffer);
    v.setUint32(0, 6, true);
    v.setUint32(4, length, true);
    v.setUint32(20, data.length, true);
    v.setUint32(24, data.length, true);
    epb.set(data, 28);
    v.setUint32(length - 4, length, true);
    const file = concat(
      hex`0a0d0d0a 1c000000 4d3c2b1a 0100 0000 ffffffffffffffff 1c000000 # section header, little-endian`,
      hex`01000000 14000000 6500 0000 00000000 14000000 # interface 0: raw IP`,
      epb,
      epb,
    );
    const path = join(dir, 'jumbo.pcapng');
    writeFileSync(path, file);
    const lengths: number[] = [];
    const summary = await readCapture(path, (p) => lengths.push(p.ipLength));
    assert.deepEqual(lengths, [data.length, data.length]);
    assert.equal(summary.truncatedAt, null);
  }),
);

test(
  'unreadable, empty and foreign files are the capture error, naming the file',
  withTempDir(async (dir) => {
    await assertRejects(join(dir, 'missing.pcap'), /^.*: byte 0: cannot open the file \(ENOENT\): check the path/);
    mkdirSync(join(dir, 'a-directory'));
    await assertRejects(join(dir, 'a-directory'), /byte 0: cannot read the file \(EISDIR\)/);
    writeFileSync(join(dir, 'empty.pcap'), '');
    await assertRejects(join(dir, 'empty.pcap'), /the file is empty/);
    writeFileSync(join(dir, 'notes.txt'), 'MSS 1460 became 1380\n');
    await assertRejects(join(dir, 'notes.txt'), /not a pcap or pcapng capture/);
  }),
);

test(
  'an exception from the callback ends the read and reaches the caller',
  withTempDir(async (dir) => {
    const path = join(dir, 'x.pcap');
    writeFileSync(path, manyRecords(10));
    await assert.rejects(
      readCapture(path, (p) => {
        if (p.index === 3) throw new RangeError('caller stops here');
      }),
      RangeError,
    );
  }),
);

test(
  'progress reports file bytes up to the file size',
  withTempDir(async (dir) => {
    const file = manyRecords(5000);
    const path = join(dir, 'p.pcap');
    writeFileSync(path, file);
    const reports: Array<[number, number]> = [];
    await readCapture(path, () => {}, { onProgress: (read, total) => reports.push([read, total]) });
    assert.ok(reports.length >= 4);
    assert.deepEqual(reports.at(-1), [file.length, file.length]);
    for (let i = 1; i < reports.length; i++) assert.ok(reports[i]![0] >= reports[i - 1]![0]);
  }),
);

test(
  'memory stays flat while a 64 MiB file streams through',
  withTempDir(async (dir) => {
    const path = join(dir, 'big.pcap');
    const piece = manyRecords(8000); // about 6 MiB: the header once, then the records again and again
    const header = piece.subarray(0, 24);
    const records = piece.subarray(24);
    const parts: Buffer[] = [Buffer.from(header)];
    for (let written = 0; written < 64 * 1024 * 1024; written += records.length) parts.push(records);
    writeFileSync(path, Buffer.concat(parts));
    parts.length = 0;
    forceGc();
    const before = process.memoryUsage();
    let peakArrayBuffers = before.arrayBuffers;
    let packets = 0;
    const summary = await readCapture(path, () => {
      if (++packets % 4096 === 0) peakArrayBuffers = Math.max(peakArrayBuffers, process.memoryUsage().arrayBuffers);
    });
    assert.equal(summary.packets, packets);
    assert.ok(packets > 80_000);
    // One 1 MiB buffer plus what the file reads hold in flight; nothing proportional to the file.
    assert.ok(peakArrayBuffers - before.arrayBuffers < 8 * 1024 * 1024, `array buffers grew by ${peakArrayBuffers - before.arrayBuffers}`);
  }),
);

test('no allocation per packet: 100,000 records read without a garbage collection', async () => {
  const file = manyRecords(20_000);
  let families = 0;
  const collections = await collectionsDuring(() => {
    for (let round = 0; round < 5; round++) readCaptureBytes('x', file, (p) => (families += p.family));
  });
  assert.equal(families, 4 * 100_000);
  assert.equal(collections, 0);
});
