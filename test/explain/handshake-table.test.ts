// The per-capture table on crafted packets: what it keeps of a handshake, the direction of later data,
// retransmissions and port reuse, too-big messages attributed by their quoted header, and bytes that
// are not a handshake at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HandshakeTable } from '../../src/explain/handshake-table.js';
import { TcpFlag } from '../../src/packet/tcp.js';
import {
  NOP,
  SYN,
  SYN_ACK,
  craftIpv4Tcp,
  craftIpv6Tcp,
  mssOption,
  sackPermittedOption,
  timestampOption,
  windowScaleOption,
} from '../packet/craft.js';

const CLIENT4 = [198, 51, 100, 2];
const SERVER4 = [203, 0, 113, 2];
const ACK = TcpFlag.ACK;
const synOptions = (mss: number, ts: number): number[] => [
  ...mssOption(mss),
  ...sackPermittedOption(),
  ...timestampOption(ts, 0),
  NOP,
  ...windowScaleOption(7),
];

function feed(table: HandshakeTable, packet: Uint8Array, time: number): void {
  // As the capture reader hands it: the IP packet somewhere inside a larger buffer.
  const buffer = new Uint8Array(packet.length + 30);
  buffer.set(packet, 14);
  table.add(buffer, 14, packet.length, time);
}

function ipv4(spec: Parameters<typeof craftIpv4Tcp>[0], toServer: boolean): Uint8Array {
  return craftIpv4Tcp({
    src: toServer ? CLIENT4 : SERVER4,
    dst: toServer ? SERVER4 : CLIENT4,
    srcPort: toServer ? 40000 : 443,
    dstPort: toServer ? 443 : 40000,
    ...spec,
  });
}

test('an IPv4 handshake with data both ways: every field the report shows', () => {
  const table = new HandshakeTable();
  feed(table, ipv4({ flags: SYN, seq: 1000, ttl: 64, options: synOptions(1460, 777) }, true), 1.0);
  feed(
    table,
    ipv4({ flags: SYN_ACK, seq: 5000, ack: 1001, ttl: 61, options: [...mssOption(1380), NOP, NOP, ...windowScaleOption(9)] }, false),
    1.01,
  );
  feed(table, ipv4({ flags: ACK, seq: 1001, ttl: 64 }, true), 1.02);
  feed(table, ipv4({ flags: ACK, seq: 1001, ttl: 64, payload: new Array<number>(1368).fill(1) }, true), 1.03);
  feed(table, ipv4({ flags: ACK, seq: 2369, ttl: 64, payload: new Array<number>(100).fill(1) }, true), 1.04);
  feed(table, ipv4({ flags: ACK, seq: 5001, ttl: 60, payload: new Array<number>(6).fill(1) }, false), 1.05);
  assert.equal(table.handshakes.length, 1);
  const h = table.handshakes[0]!;
  assert.deepEqual([h.family, h.client, h.clientPort, h.server, h.serverPort], [4, '198.51.100.2', 40000, '203.0.113.2', 443]);
  assert.deepEqual(h.syn, { mss: 1460, options: 'mss,sok,ts,nop,ws', seq: 1000, ttl: 64, wscale: 7, tsVal: 777, time: 1.0 });
  assert.deepEqual(h.synAck, { mss: 1380, options: 'mss,nop,nop,ws,eol', seq: 5000, ttl: 61, wscale: 9, tsVal: null, time: 1.01 });
  assert.deepEqual([h.largestToServer, h.largestToClient, h.clientDataTtl, h.serverDataTtl], [1368, 6, 64, 60]);
});

test('a retransmitted SYN is the same connection; a new ISN on the same ports is a new one', () => {
  const table = new HandshakeTable();
  feed(table, ipv4({ flags: SYN, seq: 1000, options: mssOption(1460) }, true), 1);
  feed(table, ipv4({ flags: SYN, seq: 1000, options: mssOption(1460) }, true), 2);
  assert.equal(table.handshakes.length, 1);
  feed(table, ipv4({ flags: SYN, seq: 90000, options: mssOption(1400) }, true), 60);
  assert.equal(table.handshakes.length, 2);
  assert.equal(table.handshakes[1]!.syn?.mss, 1400);
});

test('a capture that starts after the SYN: the SYN/ACK names the client; data of unknown connections is dropped', () => {
  const table = new HandshakeTable();
  feed(table, ipv4({ flags: ACK, payload: [1, 2, 3] }, true), 1);
  assert.equal(table.handshakes.length, 0);
  feed(table, ipv4({ flags: SYN_ACK, seq: 5, options: mssOption(1380) }, false), 2);
  const h = table.handshakes[0]!;
  assert.deepEqual([h.client, h.clientPort, h.syn, h.synAck?.mss], ['198.51.100.2', 40000, null, 1380]);
});

test('IPv6: addresses in RFC 5952 form, hop limit as ttl', () => {
  const table = new HandshakeTable();
  const client = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
  const server = [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10];
  feed(
    table,
    craftIpv6Tcp({ src: client, dst: server, srcPort: 5, dstPort: 80, flags: SYN, seq: 7, hopLimit: 55, options: mssOption(1440) }),
    1,
  );
  const h = table.handshakes[0]!;
  assert.deepEqual([h.family, h.client, h.server, h.syn?.ttl, h.syn?.mss], [6, '2001:db8::1', '2001:db8:1::10', 55, 1440]);
});

/** An IPv4 packet carrying `payload` as protocol `protocol` (no checksums: the table does not check them). */
function ipv4Packet(protocol: number, src: number[], dst: number[], payload: number[]): Uint8Array {
  const total = 20 + payload.length;
  return Uint8Array.from([0x45, 0, total >> 8, total & 0xff, 0, 0, 0x40, 0, 64, protocol, 0, 0, ...src, ...dst, ...payload]);
}

test('ICMP fragmentation needed and ICMPv6 Packet Too Big go to the connection they quote, with the direction', () => {
  const table = new HandshakeTable();
  feed(table, ipv4({ flags: SYN, seq: 1000, options: mssOption(1460) }, true), 1);
  feed(table, ipv4({ flags: SYN_ACK, seq: 5000, options: mssOption(1460) }, false), 1.01);
  const quoted = Array.from(ipv4({ flags: ACK, seq: 1001, payload: new Array<number>(1448).fill(0) }, true).subarray(0, 28));
  const router = [198, 51, 100, 1];
  feed(table, ipv4Packet(1, router, CLIENT4, [3, 4, 0, 0, 0, 0, 0x05, 0x00, ...quoted]), 1.02);
  feed(table, ipv4Packet(1, router, CLIENT4, [3, 4, 0, 0, 0, 0, 0x05, 0x00, ...quoted]), 1.03);
  // Code 3 (port unreachable) is not a too-big message.
  feed(table, ipv4Packet(1, router, CLIENT4, [3, 3, 0, 0, 0, 0, 0x04, 0x00, ...quoted]), 1.04);
  assert.deepEqual(table.handshakes[0]!.tooBig, [{ mtu: 1280, toServer: true }]);

  const client6 = [0xfd, 0, 0, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
  const server6 = [0xfd, 0, 0, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
  feed(table, craftIpv6Tcp({ src: client6, dst: server6, srcPort: 6000, dstPort: 80, flags: SYN, options: mssOption(1440) }), 2);
  const quoted6 = Array.from(
    craftIpv6Tcp({ src: server6, dst: client6, srcPort: 80, dstPort: 6000, flags: ACK, payload: new Array<number>(1400).fill(0) }).subarray(
      0,
      1232,
    ),
  );
  const icmp6 = [2, 0, 0, 0, 0, 0, 0x05, 0x00, ...quoted6];
  const router6 = [0xfd, 0, 0, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
  const outer = [0x60, 0, 0, 0, icmp6.length >> 8, icmp6.length & 0xff, 58, 64, ...router6, ...server6, ...icmp6];
  feed(table, Uint8Array.from(outer), 2.1);
  assert.deepEqual(table.handshakes[1]!.tooBig, [{ mtu: 1280, toServer: false }]);
});

test('garbage, truncated headers and impossible lengths are ignored without a throw', () => {
  const table = new HandshakeTable();
  const syn = ipv4({ flags: SYN, options: mssOption(1460) }, true);
  for (let cut = 0; cut < syn.length; cut++) table.add(syn, 0, cut, 1);
  table.add(syn, 5, syn.length, 1);
  table.add(syn, -1, 10, 1);
  const bad = syn.slice();
  bad[32] = 0xf0; // data offset 60 beyond the packet
  table.add(bad, 0, bad.length, 1);
  let seed = 7;
  const random = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
  for (let i = 0; i < 2000; i++) {
    const junk = Uint8Array.from({ length: 1 + (i % 90) }, random);
    junk[0] = (i % 2 === 0 ? 0x45 : 0x60) | (junk[0]! & 0x0f);
    table.add(junk, 0, junk.length, i);
  }
  // Only whole SYNs may open a connection: the cut copies of the SYN above never reach its options.
  for (const h of table.handshakes) assert.ok(h.syn !== null || h.synAck !== null);
});
