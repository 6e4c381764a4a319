import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readPcap } from './pcap.js';

function pcap(littleEndian: boolean, linkType: number, records: Array<{ data: Buffer; orig?: number }>): Buffer {
  const header = Buffer.alloc(24);
  const w32 = (b: Buffer, v: number, at: number) => (littleEndian ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
  w32(header, 0xa1b2c3d4, 0);
  const w16 = (v: number, at: number) => (littleEndian ? header.writeUInt16LE(v, at) : header.writeUInt16BE(v, at));
  w16(2, 4); // version 2.4
  w16(4, 6);
  w32(header, 65535, 16);
  w32(header, linkType, 20);
  const parts: Buffer[] = [header];
  for (const [i, r] of records.entries()) {
    const rec = Buffer.alloc(16);
    w32(rec, 1000 + i, 0);
    w32(rec, 500000, 4);
    w32(rec, r.data.length, 8);
    w32(rec, r.orig ?? r.data.length, 12);
    parts.push(rec, r.data);
  }
  return Buffer.concat(parts);
}

test('readPcap strips the Ethernet header and reads both byte orders', () => {
  const ip = Buffer.from('4500001400000000', 'hex');
  // Ethernet destination and source, then ethertype IPv4.
  const ethernet = Buffer.from('eeeeeeeeeeeeeeeeeeeeeeee0800', 'hex');
  const frame = Buffer.concat([ethernet, ip]);
  for (const le of [true, false]) {
    const packets = readPcap(pcap(le, 1, [{ data: frame }, { data: frame }]));
    assert.equal(packets.length, 2);
    assert.deepEqual(packets[0]!.ip, ip);
    assert.equal(packets[1]!.time, 1001.5);
  }
});

test('readPcap keeps raw-IP link type bytes as they are and stops at a record cut short', () => {
  const ip = Buffer.from('600000000000063f', 'hex');
  const file = pcap(true, 101, [{ data: ip }, { data: ip }]);
  const cut = file.subarray(0, file.length - 3);
  const packets = readPcap(cut);
  assert.equal(packets.length, 1);
  assert.deepEqual(packets[0]!.ip, ip);
});

test('readPcap rejects what is not a capture', () => {
  assert.throws(() => readPcap(Buffer.alloc(64)), /not a pcap or pcapng capture/);
});
