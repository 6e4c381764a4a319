// Fault modes of the packet core (strip, zero, duplicate): byte fixtures both ways, whose expected
// checksums come from a full recomputation outside this code base (a few lines of Python over the
// final bytes), and table cases for every outcome the modes can give.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActionMode, InsertMode, type MssAction } from '../../src/packet/action.js';
import { Direction } from '../../src/packet/direction.js';
import { Outcome, isChange, outcomeNames, type OutcomeCode } from '../../src/packet/outcome.js';
import { PacketInfo } from '../../src/packet/packet-info.js';
import { parsePacket } from '../../src/packet/parse.js';
import { RewriteResult, rewriteMss } from '../../src/packet/rewrite.js';
import {
  NOP,
  SYN_ACK,
  craftIpv4Tcp,
  craftIpv6Tcp,
  fromHex,
  hex,
  ipv4HeaderResidual,
  linuxSynOptions,
  mssOption,
  sackPermittedOption,
  tcpChecksumResidual,
  timestampOption,
} from './craft.js';
import { mssValues } from './mss-values.js';

// 198.51.100.1:40000 -> 203.0.113.1:80, SYN, MSS 1460, SACK permitted, timestamps, NOP, WS 7.
const IPV4_SYN_1460 =
  '4500003c1c4640004006b83fc6336401cb0071019c4000501122334400000000a002faf001dc0000020405b40402080a010203040000000001030307';
const IPV4_SYN_STRIPPED =
  '4500003c1c4640004006b83fc6336401cb0071019c4000501122334400000000a002faf007920000010101010402080a010203040000000001030307';
// The MSS option behind one NOP: its fields sit at odd offsets from the TCP header.
const IPV4_SYN_ODD_1460 = '450000301c4640004006b84bc6336401cb0071019c40005011223344000000007002faf093b2000001020405b4010101';
const IPV4_SYN_ODD_STRIPPED = '450000301c4640004006b84bc6336401cb0071019c40005011223344000000007002faf049b800000101010101010101';
const IPV4_SYN_ODD_ZEROED = '450000301c4640004006b84bc6336401cb0071019c40005011223344000000007002faf047b800000102040000010101';
const IPV4_SYN_ODD_DUPLICATED_1440 =
  '450000341c4640004006b847c6336401cb0071019c40005011223344000000008002faf0dfa6000001020405b4020405a0010101';
// fd00:0:0:1::1:40000 -> fd00:0:0:2::1:80, SYN/ACK, the Linux options with MSS 1440.
const IPV6_SYNACK_1440 =
  '6000000000280640fd000000000000010000000000000001fd0000000000000200000000000000019c4000501122334455667788a012faf0a1210000020405a00402080a010203040000000001030307';
const IPV6_SYNACK_ZEROED =
  '6000000000280640fd000000000000010000000000000001fd0000000000000200000000000000019c4000501122334455667788a012faf0a6c10000020400000402080a010203040000000001030307';
const IPV6_SYNACK_STRIPPED =
  '6000000000280640fd000000000000010000000000000001fd0000000000000200000000000000019c4000501122334455667788a012faf0a6c30000010101010402080a010203040000000001030307';
const IPV6_SYNACK_DUPLICATED_1460 =
  '60000000002c0640fd000000000000010000000000000001fd0000000000000200000000000000019c4000501122334455667788b012faf089650000020405a0020405b40402080a010203040000000001030307';

const fault = (mode: MssAction['mode'], mss = 0): MssAction => ({
  mode,
  mss,
  allowIncrease: false,
  directions: Direction.Both,
  insertMode: InsertMode.Kernel,
  insertMss: 0,
});

function apply(
  input: string,
  action: MssAction,
  tailroom = 4,
): { out: string; result: RewriteResult; before: Uint8Array; info: PacketInfo } {
  const packet = fromHex(input);
  const bytes = new Uint8Array(packet.length + tailroom);
  bytes.set(packet);
  const info = new PacketInfo();
  assert.equal(parsePacket(bytes, 0, packet.length, info), Outcome.Parsed);
  const result = new RewriteResult();
  rewriteMss(bytes, info, action, 0, tailroom, result);
  return { out: hex(bytes.subarray(0, result.length)), result, before: packet, info };
}

// prettier-ignore
const fixtures: Array<[string, string, MssAction, string, OutcomeCode, number, number]> = [
  ['strip IPv4 SYN', IPV4_SYN_1460, fault(ActionMode.Strip), IPV4_SYN_STRIPPED, Outcome.Stripped, 1460, -1],
  ['strip at an odd offset', IPV4_SYN_ODD_1460, fault(ActionMode.Strip), IPV4_SYN_ODD_STRIPPED, Outcome.Stripped, 1460, -1],
  ['zero at an odd offset', IPV4_SYN_ODD_1460, fault(ActionMode.Zero), IPV4_SYN_ODD_ZEROED, Outcome.Zeroed, 1460, 0],
  ['duplicate at an odd offset', IPV4_SYN_ODD_1460, fault(ActionMode.Duplicate, 1440), IPV4_SYN_ODD_DUPLICATED_1440, Outcome.Duplicated, 1460, 1440],
  ['strip IPv6 SYN/ACK', IPV6_SYNACK_1440, fault(ActionMode.Strip), IPV6_SYNACK_STRIPPED, Outcome.Stripped, 1440, -1],
  ['zero IPv6 SYN/ACK', IPV6_SYNACK_1440, fault(ActionMode.Zero), IPV6_SYNACK_ZEROED, Outcome.Zeroed, 1440, 0],
  ['duplicate IPv6 SYN/ACK', IPV6_SYNACK_1440, fault(ActionMode.Duplicate, 1460), IPV6_SYNACK_DUPLICATED_1460, Outcome.Duplicated, 1440, 1460],
];

for (const [name, input, action, expected, outcome, oldMss, newMss] of fixtures) {
  test(`fixture: ${name} gives the recomputed bytes`, () => {
    const { out, result } = apply(input, action);
    assert.equal(outcomeNames[result.outcome], outcomeNames[outcome]);
    assert.equal(out, expected);
    assert.equal(result.oldMss, oldMss);
    assert.equal(result.newMss, newMss);
    assert.equal(result.length, expected.length / 2);
  });
  test(`fixture: ${name}, the result parses back into the expected fields`, () => {
    const bytes = fromHex(expected);
    const info = new PacketInfo();
    assert.equal(parsePacket(bytes, 0, bytes.length, info), Outcome.Parsed);
    assert.equal(info.ipEnd, bytes.length);
    const values = mssValues(bytes, info);
    if (outcome === Outcome.Stripped) assert.deepEqual(values, []);
    else if (outcome === Outcome.Zeroed) assert.deepEqual(values, [0]);
    else assert.deepEqual(values, [oldMss, newMss]);
    assert.equal(tcpChecksumResidual(bytes, info), 0xffff, 'TCP checksum verifies');
    if (info.family === 4) assert.equal(ipv4HeaderResidual(bytes, 0), 0xffff, 'IPv4 header checksum verifies');
  });
}

interface Case {
  name: string;
  packet: Uint8Array;
  action: MssAction;
  tailroom?: number;
  rewrite: OutcomeCode;
  mssAfter: number[];
}

const v4 = craftIpv4Tcp;
const v6 = craftIpv6Tcp;
// prettier-ignore
const cases: Case[] = [
  { name: 'strip two MSS options', packet: v4({ options: [...mssOption(1460), ...mssOption(1400)] }), action: fault(ActionMode.Strip), rewrite: Outcome.Stripped, mssAfter: [] },
  { name: 'strip: no MSS option', packet: v4({ options: sackPermittedOption() }), action: fault(ActionMode.Strip), rewrite: Outcome.NoMssOption, mssAfter: [] },
  { name: 'strip a SYN with data (lengths unchanged)', packet: v4({ options: mssOption(1460), payload: [1, 2, 3] }), action: fault(ActionMode.Strip), rewrite: Outcome.Stripped, mssAfter: [] },
  { name: 'strip: malformed option list left alone', packet: v4({ options: [...mssOption(1460), 8, 1, 0, 0] }), action: fault(ActionMode.Strip), rewrite: Outcome.MalformedOption, mssAfter: [1460] },
  { name: 'strip: direction not selected', packet: v6({ flags: SYN_ACK, options: mssOption(1440) }), action: { ...fault(ActionMode.Strip), directions: Direction.Syn }, rewrite: Outcome.DirectionNotSelected, mssAfter: [1440] },
  { name: 'zero two MSS options', packet: v6({ options: [...mssOption(1440), NOP, ...mssOption(0)] }), action: fault(ActionMode.Zero), rewrite: Outcome.Zeroed, mssAfter: [0, 0] },
  { name: 'zero: already zero', packet: v4({ options: mssOption(0) }), action: fault(ActionMode.Zero), rewrite: Outcome.AlreadyAtOrBelow, mssAfter: [0] },
  { name: 'zero: no MSS option, nothing inserted', packet: v4({ options: [] }), action: fault(ActionMode.Zero), rewrite: Outcome.NoMssOption, mssAfter: [] },
  { name: 'duplicate after the last of two', packet: v4({ options: [...mssOption(1460), ...mssOption(1400)] }), action: fault(ActionMode.Duplicate, 9000), tailroom: 4, rewrite: Outcome.Duplicated, mssAfter: [1460, 1400, 9000] },
  { name: 'duplicate with the Linux options (doff 10 -> 11)', packet: v6({ options: linuxSynOptions(1440) }), action: fault(ActionMode.Duplicate, 1280), tailroom: 4, rewrite: Outcome.Duplicated, mssAfter: [1440, 1280] },
  { name: 'duplicate: no tailroom', packet: v4({ options: mssOption(1460) }), action: fault(ActionMode.Duplicate, 1000), tailroom: 0, rewrite: Outcome.NoRoom, mssAfter: [1460] },
  { name: 'duplicate: header full', packet: v4({ options: [...mssOption(1460), ...timestampOption(1, 2), ...new Array<number>(26).fill(NOP)] }), action: fault(ActionMode.Duplicate, 1000), tailroom: 4, rewrite: Outcome.HeaderFull, mssAfter: [1460] },
  { name: 'duplicate: a SYN with data', packet: v4({ options: mssOption(1460), payload: [9] }), action: fault(ActionMode.Duplicate, 1000), tailroom: 4, rewrite: Outcome.HasPayload, mssAfter: [1460] },
  { name: 'duplicate: no MSS option', packet: v6({ options: sackPermittedOption() }), action: fault(ActionMode.Duplicate, 1000), tailroom: 4, rewrite: Outcome.NoMssOption, mssAfter: [] },
];

for (const c of cases) {
  test(`fault case: ${c.name}`, () => {
    const tailroom = c.tailroom ?? 0;
    const bytes = new Uint8Array(c.packet.length + tailroom);
    bytes.set(c.packet);
    const before = bytes.slice();
    const info = new PacketInfo();
    assert.equal(parsePacket(bytes, 0, c.packet.length, info), Outcome.Parsed);
    const tcpResidual = tcpChecksumResidual(bytes, info);
    const ipResidual = info.family === 4 ? ipv4HeaderResidual(bytes, 0) : 0;
    const result = new RewriteResult();
    const outcome = rewriteMss(bytes, info, c.action, 0, tailroom, result);
    assert.equal(outcomeNames[outcome], outcomeNames[c.rewrite]);
    if (!isChange(outcome)) assert.deepEqual(bytes, before, 'bytes unchanged');
    const grew = outcome === Outcome.Duplicated ? 4 : 0;
    assert.equal(result.length, c.packet.length + grew);
    const after = new PacketInfo();
    assert.equal(parsePacket(bytes, 0, result.length, after), Outcome.Parsed);
    assert.deepEqual(mssValues(bytes, after), c.mssAfter);
    assert.equal(after.payloadLength, info.payloadLength);
    assert.equal(tcpChecksumResidual(bytes, after) % 0xffff, tcpResidual % 0xffff, 'TCP checksum moved with the bytes');
    if (info.family === 4) assert.equal(ipv4HeaderResidual(bytes, 0) % 0xffff, ipResidual % 0xffff);
  });
}

test('fault outcomes are changes and have names; not-selected is not a change', () => {
  for (const o of [Outcome.Stripped, Outcome.Zeroed, Outcome.Duplicated]) assert.ok(isChange(o), outcomeNames[o]);
  assert.ok(!isChange(Outcome.NotSelected));
  assert.deepEqual(
    [Outcome.Stripped, Outcome.Zeroed, Outcome.Duplicated, Outcome.NotSelected].map((o) => outcomeNames[o]),
    ['stripped', 'zeroed', 'duplicated', 'not-selected'],
  );
});
