import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flowText } from '../../src/daemon/packet-handler.js';
import { PacketInfo } from '../../src/packet/packet-info.js';

function flow(src: number[], dst: number[], srcPort: number, dstPort: number): string {
  const bytes = new Uint8Array([...src, ...dst]);
  const info = new PacketInfo();
  info.addrLength = src.length;
  info.srcAddrOffset = 0;
  info.dstAddrOffset = src.length;
  info.srcPort = srcPort;
  info.dstPort = dstPort;
  return flowText(bytes, info);
}

const v6 = (text: string): number[] => {
  // Test helper: expand "a:b::c" into 16 bytes.
  const [left, right] = text.split('::') as [string, string | undefined];
  const l = left ? left.split(':') : [];
  const r = right ? right.split(':') : [];
  const groups = [...l, ...Array(8 - l.length - r.length).fill('0'), ...r].map((g) => parseInt(g, 16));
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
};

test('flowText writes IPv4 dotted and IPv6 in RFC 5952 short form', () => {
  assert.equal(flow([198, 51, 100, 2], [203, 0, 113, 2], 40000, 80), '198.51.100.2.40000 > 203.0.113.2.80');
  assert.equal(flow(v6('fd00:c::2'), v6('fd00:5::2'), 1, 8080), 'fd00:c::2.1 > fd00:5::2.8080');
  assert.equal(flow(v6('2001:db8:0:1:1:1:1:1'), v6('::1'), 1, 2), '2001:db8:0:1:1:1:1:1.1 > ::1.2', 'a single zero group stays');
  assert.equal(flow(v6('2001:0:0:1::1'), v6('fe80::'), 1, 2), '2001:0:0:1::1.1 > fe80::.2', 'the longest run is shortened');
});
