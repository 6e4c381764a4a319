// Byte fixtures both ways (smoltcp test_deconstruct / test_construct): handcrafted packets parsed into
// the expected fields, and rewritten into the expected bytes. Expected checksums were computed
// independently (a full recomputation outside this code base), not by the code under test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActionMode, InsertMode, type MssAction } from '../../src/packet/action.js';
import { Direction } from '../../src/packet/direction.js';
import { Outcome } from '../../src/packet/outcome.js';
import { PacketInfo } from '../../src/packet/packet-info.js';
import { parsePacket } from '../../src/packet/parse.js';
import { RewriteResult, rewriteMss } from '../../src/packet/rewrite.js';
import { readU16 } from '../../src/packet/bytes.js';
import { computeTransportChecksum } from '../../src/packet/checksum.js';
import { NOP, craftIpv4Tcp, fromHex, hex, mssOption } from './craft.js';

// 198.51.100.1:40000 -> 203.0.113.1:80, SYN, options MSS 1460, SACK permitted, timestamps, NOP, WS 7.
const IPV4_SYN_1460 =
  '4500003c1c4640004006b83fc6336401cb007101' + '9c4000501122334400000000a002faf001dc0000' + '020405b40402080a010203040000000001030307';
const IPV4_SYN_1400 =
  '4500003c1c4640004006b83fc6336401cb007101' + '9c4000501122334400000000a002faf002180000' + '020405780402080a010203040000000001030307';
// SYN with options SACK permitted, NOP, NOP (no MSS).
const IPV4_SYN_NO_MSS = '4500002c1c4640004006b84fc6336401cb007101' + '9c40005011223344000000006002faf058bd0000' + '04020101';
const IPV4_SYN_INSERTED_536 = '450000301c4640004006b84bc6336401cb007101' + '9c40005011223344000000007002faf0449d0000' + '0204021804020101';
// MSS value at an odd offset from the TCP header (NOP, MSS, NOP, NOP, NOP).
const IPV4_SYN_ODD_1460 = '450000301c4640004006b84bc6336401cb007101' + '9c40005011223344000000007002faf093b20000' + '01020405b4010101';
const IPV4_SYN_ODD_1400 = '450000301c4640004006b84bc6336401cb007101' + '9c40005011223344000000007002faf0cfb20000' + '0102040578010101';
// fd00:0:0:1::1:40000 -> fd00:0:0:2::1:80, SYN/ACK, the Linux options with MSS 1440.
const IPV6_SYNACK_1440 =
  '6000000000280640fd0000000000000100000000' +
  '00000001fd000000000000020000000000000001' +
  '9c4000501122334455667788a012faf0a1210000' +
  '020405a00402080a010203040000000001030307';
const IPV6_SYNACK_1220 =
  '6000000000280640fd0000000000000100000000' +
  '00000001fd000000000000020000000000000001' +
  '9c4000501122334455667788a012faf0a1fd0000' +
  '020404c40402080a010203040000000001030307';
// SYN behind a Hop-by-Hop header (PadN), options SACK permitted, NOP, NOP.
const IPV6_HBH_SYN_NO_MSS =
  '6000000000200040fd0000000000000100000000' +
  '00000001fd000000000000020000000000000001' +
  '06000104000000009c4000501122334400000000' +
  '6002faf0c4ed000004020101';
const IPV6_HBH_SYN_INSERTED_1220 =
  '6000000000240040fd0000000000000100000000' +
  '00000001fd000000000000020000000000000001' +
  '06000104000000009c4000501122334400000000' +
  '7002faf0ae210000020404c404020101';

const set = (mss: number, insertMode: MssAction['insertMode'] = InsertMode.Kernel): MssAction => ({
  mode: ActionMode.Set,
  mss,
  allowIncrease: false,
  directions: Direction.Both,
  insertMode,
  insertMss: 0,
});
const clamp: MssAction = { ...set(0), mode: ActionMode.ClampToPmtu };

test('parse: IPv4 SYN into its fields', () => {
  const bytes = fromHex(IPV4_SYN_1460);
  const info = new PacketInfo();
  assert.equal(parsePacket(bytes, 0, bytes.length, info), Outcome.Parsed);
  assert.deepEqual(
    { ...info },
    {
      family: 4,
      start: 0,
      ipEnd: 60,
      l4Offset: 20,
      tcpHeaderLength: 40,
      payloadLength: 0,
      tcpFlags: 0x02,
      direction: Direction.Syn,
      srcPort: 40000,
      dstPort: 80,
      srcAddrOffset: 12,
      dstAddrOffset: 16,
      addrLength: 4,
    },
  );
});

test('parse: IPv6 SYN behind a Hop-by-Hop header, at an absolute offset in a batch buffer', () => {
  const packet = fromHex(IPV6_HBH_SYN_NO_MSS);
  const batch = new Uint8Array(301).fill(0xee);
  batch.set(packet, 77);
  const info = new PacketInfo();
  assert.equal(parsePacket(batch, 77, packet.length, info), Outcome.Parsed);
  assert.deepEqual(
    { ...info },
    {
      family: 6,
      start: 77,
      ipEnd: 77 + 72,
      l4Offset: 77 + 48,
      tcpHeaderLength: 24,
      payloadLength: 0,
      tcpFlags: 0x02,
      direction: Direction.Syn,
      srcPort: 40000,
      dstPort: 80,
      srcAddrOffset: 77 + 8,
      dstAddrOffset: 77 + 24,
      addrLength: 16,
    },
  );
});

test('parse: IPv6 SYN/ACK direction', () => {
  const bytes = fromHex(IPV6_SYNACK_1440);
  const info = new PacketInfo();
  assert.equal(parsePacket(bytes, 0, bytes.length, info), Outcome.Parsed);
  assert.equal(info.direction, Direction.SynAck);
  assert.equal(info.tcpFlags, 0x12);
  assert.equal(info.l4Offset, 40);
  assert.equal(info.ipEnd, 80);
});

function rewriteFixture(input: string, action: MssAction, pathMtu: number, tailroom: number): { bytes: Uint8Array; result: RewriteResult } {
  const packet = fromHex(input);
  const bytes = new Uint8Array(packet.length + tailroom);
  bytes.set(packet);
  const info = new PacketInfo();
  assert.equal(parsePacket(bytes, 0, packet.length, info), Outcome.Parsed);
  const result = new RewriteResult();
  rewriteMss(bytes, info, action, pathMtu, tailroom, result);
  return { bytes: bytes.subarray(0, result.length), result };
}

test('rewrite: IPv4 set-mss 1400 over 1460', () => {
  const { bytes, result } = rewriteFixture(IPV4_SYN_1460, set(1400), 0, 0);
  assert.equal(hex(bytes), IPV4_SYN_1400);
  assert.deepEqual({ ...result }, { outcome: Outcome.Modified, length: 60, oldMss: 1460, newMss: 1400, mssOptions: 1 });
});

test('rewrite: IPv4 insert as the kernel does (536, first, others shifted, lengths and both checksums)', () => {
  const { bytes, result } = rewriteFixture(IPV4_SYN_NO_MSS, set(1400), 0, 4);
  assert.equal(hex(bytes), IPV4_SYN_INSERTED_536);
  assert.deepEqual({ ...result }, { outcome: Outcome.Inserted, length: 48, oldMss: -1, newMss: 536, mssOptions: 0 });
});

test('rewrite: IPv4 MSS at an odd offset gets a correct checksum', () => {
  const { bytes, result } = rewriteFixture(IPV4_SYN_ODD_1460, set(1400), 0, 0);
  assert.equal(hex(bytes), IPV4_SYN_ODD_1400);
  assert.equal(result.outcome, Outcome.Modified);
});

test('rewrite: IPv6 SYN/ACK clamp-to-pmtu 1280 -> 1220', () => {
  const { bytes, result } = rewriteFixture(IPV6_SYNACK_1440, clamp, 1280, 0);
  assert.equal(hex(bytes), IPV6_SYNACK_1220);
  assert.deepEqual({ ...result }, { outcome: Outcome.Modified, length: 80, oldMss: 1440, newMss: 1220, mssOptions: 1 });
});

test('rewrite: IPv6 insert behind Hop-by-Hop (1220, payload length fixed)', () => {
  const { bytes, result } = rewriteFixture(IPV6_HBH_SYN_NO_MSS, set(1400), 0, 4);
  assert.equal(hex(bytes), IPV6_HBH_SYN_INSERTED_1220);
  assert.equal(result.outcome, Outcome.Inserted);
  assert.equal(result.length, 76);
});

test('rewrite in a batch buffer touches only the packet it was given', () => {
  const a = fromHex(IPV4_SYN_NO_MSS);
  const b = fromHex(IPV4_SYN_ODD_1460);
  const batch = new Uint8Array(200).fill(0x5a);
  // Packet a at an odd absolute offset with 4 bytes of tailroom, then b.
  batch.set(a, 3);
  batch.set(b, 3 + a.length + 4);
  const before = batch.slice();
  const info = new PacketInfo();
  const result = new RewriteResult();
  assert.equal(parsePacket(batch, 3, a.length, info), Outcome.Parsed);
  assert.equal(rewriteMss(batch, info, set(1400), 0, 4, result), Outcome.Inserted);
  assert.equal(hex(batch.subarray(3, 3 + result.length)), IPV4_SYN_INSERTED_536);
  const bStart = 3 + a.length + 4;
  assert.equal(parsePacket(batch, bStart, b.length, info), Outcome.Parsed);
  assert.equal(rewriteMss(batch, info, set(1400), 0, 0, result), Outcome.Modified);
  assert.equal(hex(batch.subarray(bStart, bStart + b.length)), IPV4_SYN_ODD_1400);
  assert.deepEqual(batch.subarray(0, 3), before.subarray(0, 3));
  assert.deepEqual(batch.subarray(bStart + b.length), before.subarray(bStart + b.length));
});

test('rewrite lands on 0x0000, never 0xffff, where the kernel does (csum_fold of a non-zero sum)', () => {
  // Search the window field for SYNs whose rewritten checksum is the zero corner (each 16-bit residue
  // occurs about once over the field), with the MSS value at an even and at an odd offset. The expected
  // value comes from a full recomputation (~fold(sum) = 0x0000 there), as the kernel's update gives.
  const layouts = [
    { options: [...mssOption(1460)], valueLow: 23 },
    { options: [NOP, ...mssOption(1460), NOP, NOP, NOP], valueLow: 24 },
  ];
  for (const layout of layouts) {
    let found = 0;
    for (let window = 0; window < 0x10000; window++) {
      const bytes = craftIpv4Tcp({ window, options: layout.options });
      const info = new PacketInfo();
      parsePacket(bytes, 0, bytes.length, info);
      const expected = bytes.slice();
      expected[info.l4Offset + layout.valueLow] = 0x78; // MSS 1460 -> 1400 (0x05b4 -> 0x0578)
      const recomputed = computeTransportChecksum(expected, 12, 16, 4, 6, info.l4Offset, info.ipEnd, info.l4Offset + 16);
      if (recomputed !== 0) continue;
      found++;
      assert.equal(rewriteMss(bytes, info, set(1400), 0, 0, new RewriteResult()), Outcome.Modified);
      assert.equal(readU16(bytes, info.l4Offset + 16), 0x0000, `window ${window}`);
    }
    assert.ok(found >= 1, 'the search found the corner');
  }
});
