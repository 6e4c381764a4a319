import assert from 'node:assert/strict';
import { test } from 'node:test';
import { firstSecond, readSyns } from '../../bench/syn-capture.js';
import { craftIpv4Tcp, craftIpv6Tcp, linuxSynOptions } from '../packet/craft.js';
import { PcapWriter } from '../support/pcap-writer.js';

const LINKTYPE_ETHERNET = 1;
const ETHERNET_HEADER_LENGTH = 14;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ACK = 0x10;

interface Frame {
  seconds: number;
  nanoseconds: number;
  etherType: number;
  ip: Uint8Array;
}

/** A little-endian nanosecond pcap of Ethernet frames, as tcpdump --time-stamp-precision=nano writes. */
function pcap(frames: Frame[]): Buffer {
  const writer = new PcapWriter({ linkType: LINKTYPE_ETHERNET, nanoseconds: true });
  for (const f of frames) {
    const ethernet = new Uint8Array(ETHERNET_HEADER_LENGTH);
    ethernet[12] = f.etherType >> 8;
    ethernet[13] = f.etherType & 0xff;
    writer.add(f.seconds, f.nanoseconds, ethernet, f.ip);
  }
  return writer.take();
}

test('reads key, nanosecond time, MSS and checksum of IPv4 and IPv6 SYNs', () => {
  const v4 = craftIpv4Tcp({ srcPort: 10001, seq: 0xdeadbeef, options: linuxSynOptions(1380) });
  const v6 = craftIpv6Tcp({ srcPort: 10002, seq: 7, options: linuxSynOptions(1460) });
  const file = pcap([
    { seconds: 1_800_000_000, nanoseconds: 999_999_999, etherType: ETHERTYPE_IPV4, ip: v4 },
    { seconds: 1_800_000_001, nanoseconds: 1, etherType: ETHERTYPE_IPV6, ip: v6 },
  ]);
  const base = firstSecond(file);
  assert.equal(base, 1_800_000_000);
  const syns = readSyns(file, base);
  assert.deepEqual(syns, [
    { key: 10001 * 2 ** 32 + 0xdeadbeef, timeNs: 999_999_999, mss: 1380, checksumOk: true },
    { key: 10002 * 2 ** 32 + 7, timeNs: 1_000_000_001, mss: 1460, checksumOk: true },
  ]);
  // Two nanoseconds apart, exactly: a double of epoch seconds could not say so.
  assert.equal(syns[1]!.timeNs - syns[0]!.timeNs, 2);
});

test('a wrong TCP checksum is reported, at either family', () => {
  for (const ip of [
    craftIpv4Tcp({ options: linuxSynOptions(1380), tcpChecksum: 0x1234 }),
    craftIpv6Tcp({ options: linuxSynOptions(1380), tcpChecksum: 0x1234 }),
  ]) {
    const etherType = ip[0]! >> 4 === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
    const [syn] = readSyns(pcap([{ seconds: 1, nanoseconds: 0, etherType, ip }]), 1);
    assert.equal(syn?.checksumOk, false);
  }
});

test('segments without SYN and SYNs without an MSS option', () => {
  const file = pcap([
    { seconds: 5, nanoseconds: 0, etherType: ETHERTYPE_IPV4, ip: craftIpv4Tcp({ flags: ACK }) },
    { seconds: 5, nanoseconds: 10, etherType: ETHERTYPE_IPV4, ip: craftIpv4Tcp({ options: [] }) },
  ]);
  const syns = readSyns(file, 5);
  assert.equal(syns.length, 1);
  assert.equal(syns[0]!.mss, -1);
  assert.equal(syns[0]!.timeNs, 10);
});

test('a microsecond capture is refused rather than misread', () => {
  const file = pcap([]);
  file.writeUInt32LE(0xa1b2c3d4, 0);
  assert.throws(() => readSyns(file, 0), /nanosecond/);
});
