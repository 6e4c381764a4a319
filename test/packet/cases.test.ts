// One named case for every rule of the packet core (gVisor tcp_test.go style): the packet, the rule,
// what parsePacket and rewriteMss must say, and what the bytes must look like afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActionMode, InsertMode, type MssAction } from '../../src/packet/action.js';
import { Direction } from '../../src/packet/direction.js';
import { Outcome, isChange, outcomeNames, type OutcomeCode } from '../../src/packet/outcome.js';
import { PacketInfo } from '../../src/packet/packet-info.js';
import { parsePacket } from '../../src/packet/parse.js';
import { RewriteResult, rewriteMss } from '../../src/packet/rewrite.js';
import {
  EOL,
  NOP,
  SYN,
  SYN_ACK,
  authenticationHeader,
  craftIpv4Tcp,
  craftIpv6Tcp,
  destinationOptions,
  espHeader,
  fragmentHeader,
  hopByHop,
  ipv4HeaderResidual,
  jumboPayloadOption,
  linuxSynOptions,
  mssOption,
  routing,
  sackPermittedOption,
  tcpChecksumResidual,
  timestampOption,
  windowScaleOption,
} from './craft.js';
import { mssValues } from './mss-values.js';

interface Case {
  name: string;
  packet: Uint8Array;
  /** Bytes handed over (default: the whole array minus tailroom). */
  length?: number;
  action?: Partial<MssAction>;
  pathMtu?: number;
  tailroom?: number;
  parse: OutcomeCode;
  /** Expected rewrite outcome (only when parse is Parsed). */
  rewrite?: OutcomeCode;
  /** MSS option values after the rewrite, in order. */
  mssAfter?: number[];
  /** result.length after the rewrite. */
  lengthAfter?: number;
}

const baseAction: MssAction = {
  mode: ActionMode.Set,
  mss: 1400,
  allowIncrease: false,
  directions: Direction.Both,
  insertMode: InsertMode.Kernel,
  insertMss: 0,
};

const v4 = craftIpv4Tcp;
const v6 = craftIpv6Tcp;
const nops = (n: number): number[] => new Array<number>(n).fill(NOP);

// prettier-ignore
const cases: Case[] = [
  // --- set / clamp / never increase (xt_TCPMSS) ---
  { name: 'ipv4 set lowers MSS', packet: v4({ options: linuxSynOptions(1460) }), parse: Outcome.Parsed, rewrite: Outcome.Modified, mssAfter: [1400] },
  { name: 'ipv4 with IP options (ihl 6)', packet: v4({ ipOptions: [148, 4, 0, 0], options: linuxSynOptions(1460) }), parse: Outcome.Parsed, rewrite: Outcome.Modified, mssAfter: [1400] },
  { name: 'ipv4 with 40 bytes of IP options (ihl 15)', packet: v4({ ipOptions: nops(40), options: mssOption(1460) }), parse: Outcome.Parsed, rewrite: Outcome.Modified, mssAfter: [1400] },
  { name: 'equal MSS left alone', packet: v4({ options: mssOption(1400) }), parse: Outcome.Parsed, rewrite: Outcome.AlreadyAtOrBelow, mssAfter: [1400] },
  { name: 'lower MSS never increased', packet: v4({ options: mssOption(1200) }), parse: Outcome.Parsed, rewrite: Outcome.AlreadyAtOrBelow, mssAfter: [1200] },
  { name: 'allowIncrease raises to exactly N', packet: v4({ options: linuxSynOptions(1200) }), action: { allowIncrease: true, mss: 9000 }, parse: Outcome.Parsed, rewrite: Outcome.Modified, mssAfter: [9000] },
  { name: 'allowIncrease lowers to exactly N', packet: v4({ options: linuxSynOptions(1460) }), action: { allowIncrease: true }, parse: Outcome.Parsed, rewrite: Outcome.Modified, mssAfter: [1400] },
  { name: 'allowIncrease with equal MSS left alone', packet: v4({ options: mssOption(1400) }), action: { allowIncrease: true }, parse: Outcome.Parsed, rewrite: Outcome.AlreadyAtOrBelow, mssAfter: [1400] },
  { name: 'ipv4 clamp to pmtu 1400 (mss 1360)', packet: v4({ options: linuxSynOptions(1460) }), action: { mode: ActionMode.ClampToPmtu }, pathMtu: 1400, parse: Outcome.Parsed, rewrite: Outcome.Modified, mssAfter: [1360] },
  { name: 'ipv4 clamp to pmtu 1500 leaves 1460', packet: v4({ options: linuxSynOptions(1460) }), action: { mode: ActionMode.ClampToPmtu }, pathMtu: 1500, parse: Outcome.Parsed, rewrite: Outcome.AlreadyAtOrBelow, mssAfter: [1460] },
  { name: 'ipv6 clamp to pmtu 1280 (mss 1220)', packet: v6({ options: linuxSynOptions(1440) }), action: { mode: ActionMode.ClampToPmtu }, pathMtu: 1280, parse: Outcome.Parsed, rewrite: Outcome.Modified, mssAfter: [1220] },
  { name: 'pmtu at the fixed headers is invalid (accepted, kernel drops)', packet: v4({ options: mssOption(1460) }), action: { mode: ActionMode.ClampToPmtu }, pathMtu: 40, parse: Outcome.Parsed, rewrite: Outcome.PathMtuInvalid, mssAfter: [1460] },
  { name: 'ipv6 pmtu 60 is invalid', packet: v6({ options: mssOption(1440) }), action: { mode: ActionMode.ClampToPmtu }, pathMtu: 60, parse: Outcome.Parsed, rewrite: Outcome.PathMtuInvalid },
  { name: 'unknown pmtu (NaN) is invalid', packet: v4({ options: mssOption(1460) }), action: { mode: ActionMode.ClampToPmtu }, pathMtu: Number.NaN, parse: Outcome.Parsed, rewrite: Outcome.PathMtuInvalid },

  // --- direction and flags ---
  { name: 'SYN/ACK rewritten with both directions', packet: v4({ flags: SYN_ACK, options: mssOption(1460) }), parse: Outcome.Parsed, rewrite: Outcome.Modified, mssAfter: [1400] },
  { name: 'SYN not selected by a synack rule', packet: v4({ options: mssOption(1460) }), action: { directions: Direction.SynAck }, parse: Outcome.Parsed, rewrite: Outcome.DirectionNotSelected, mssAfter: [1460] },
  { name: 'SYN/ACK not selected by a syn rule', packet: v6({ flags: SYN_ACK, options: mssOption(1460) }), action: { directions: Direction.Syn }, parse: Outcome.Parsed, rewrite: Outcome.DirectionNotSelected },
  { name: 'SYN+RST left alone', packet: v4({ flags: SYN | 0x04, options: mssOption(1460) }), parse: Outcome.SynWithRstOrFin },
  { name: 'SYN+FIN left alone', packet: v6({ flags: SYN | 0x01, options: mssOption(1460) }), parse: Outcome.SynWithRstOrFin },
  { name: 'plain ACK is not a SYN', packet: v4({ flags: 0x10, options: mssOption(1460) }), parse: Outcome.NotSyn },

  // --- IP layer ---
  { name: 'ipv4 UDP is not TCP', packet: v4({ protocol: 17 }), parse: Outcome.NotTcp },
  { name: 'ipv4 first fragment (MF) never modified', packet: v4({ flagsFragment: 0x2000, options: mssOption(1460) }), parse: Outcome.Fragment },
  { name: 'ipv4 later fragment (offset) never modified', packet: v4({ flagsFragment: 0x0010, options: mssOption(1460) }), parse: Outcome.Fragment },
  { name: 'ipv6 extension chain HBH, DestOpts, Routing, DestOpts', packet: v6({ extensionHeaders: [hopByHop([1, 0]), destinationOptions([1, 12, ...new Array<number>(12).fill(0)]), routing(), destinationOptions()], options: linuxSynOptions(1440) }), parse: Outcome.Parsed, rewrite: Outcome.Modified, mssAfter: [1400] },
  { name: 'ipv6 Fragment header never modified', packet: v6({ extensionHeaders: [fragmentHeader(0, true)], options: mssOption(1440) }), parse: Outcome.Fragment },
  { name: 'ipv6 atomic fragment never modified', packet: v6({ extensionHeaders: [hopByHop(), fragmentHeader(0, false)], options: mssOption(1440) }), parse: Outcome.Fragment },
  { name: 'ipv6 under AH never modified (ICV)', packet: v6({ extensionHeaders: [authenticationHeader()], options: mssOption(1440) }), parse: Outcome.UnderAh },
  { name: 'ipv6 ESP ends the walk (encrypted)', packet: v6({ extensionHeaders: [destinationOptions(), espHeader()], options: mssOption(1440) }), parse: Outcome.Encrypted },
  { name: 'ipv6 jumbogram never modified', packet: v6({ extensionHeaders: [hopByHop(jumboPayloadOption(70000))], payloadLength: 0, options: mssOption(1440) }), parse: Outcome.Jumbogram },
  { name: 'ipv6 ICMPv6 is not TCP', packet: v6({ upperLayer: 58 }), parse: Outcome.NotTcp },
  { name: 'ipv6 No Next Header is not TCP', packet: v6({ extensionHeaders: [hopByHop()], upperLayer: 59 }), parse: Outcome.NotTcp },
  { name: 'ipv6 extension header running past the datagram', packet: v6({ extensionHeaders: [{ type: 60, bytes: [0, 20, 0, 0, 0, 0, 0, 0] }], options: mssOption(1440) }), parse: Outcome.MalformedIp },
  { name: 'ipv4 IHL below 5', packet: v4({ ihlWords: 4, options: mssOption(1460) }), parse: Outcome.MalformedIp },
  { name: 'bad IP version', packet: v4({ version: 5, options: mssOption(1460) }), parse: Outcome.MalformedIp },
  { name: 'ipv4 total length shorter than the header', packet: v4({ totalLength: 16, options: mssOption(1460) }), parse: Outcome.MalformedIp },
  { name: 'fewer bytes than an IPv4 header', packet: v4().subarray(0, 12), parse: Outcome.MalformedIp },
  { name: 'truncated copy (ipv4 total length beyond the bytes handed over)', packet: v4({ options: linuxSynOptions(1460) }), length: 50, parse: Outcome.Truncated },
  { name: 'truncated copy (ipv6 payload length beyond the bytes handed over)', packet: v6({ options: linuxSynOptions(1440) }), length: 70, parse: Outcome.Truncated },
  { name: 'bytes after the IP length are ignored', packet: v4({ options: mssOption(1460), trailing: [0xde, 0xad, 0xbe, 0xef, 2, 4, 0xff, 0xff] }), parse: Outcome.Parsed, rewrite: Outcome.Modified, mssAfter: [1400], lengthAfter: 44 },

  // --- TCP header ---
  { name: 'data offset below 5', packet: v4({ dataOffsetWords: 4, options: mssOption(1460) }), parse: Outcome.MalformedTcp },
  { name: 'data offset beyond the segment', packet: v4({ dataOffsetWords: 10, options: mssOption(1460) }), parse: Outcome.MalformedTcp },
  { name: 'segment shorter than a TCP header', packet: v4({ totalLength: 30 }), parse: Outcome.MalformedTcp },

  // --- options ---
  { name: 'odd offset (one NOP before MSS) gets a correct checksum', packet: v4({ options: [NOP, ...mssOption(1460), NOP, NOP, NOP] }), parse: Outcome.Parsed, rewrite: Outcome.Modified, mssAfter: [1400] },
  { name: 'ipv6 odd offset after window scale', packet: v6({ options: [...windowScaleOption(7), ...mssOption(1440), NOP] }), parse: Outcome.Parsed, rewrite: Outcome.Modified, mssAfter: [1400] },
  { name: 'MSS last after timestamps', packet: v4({ options: [...timestampOption(1, 2), NOP, NOP, ...mssOption(1460)] }), parse: Outcome.Parsed, rewrite: Outcome.Modified, mssAfter: [1400] },
  { name: 'duplicate MSS: both above, both lowered', packet: v4({ options: [...mssOption(1460), ...mssOption(9000)] }), parse: Outcome.Parsed, rewrite: Outcome.Modified, mssAfter: [1400, 1400] },
  { name: 'duplicate MSS: only the one above is lowered (kernel misses it)', packet: v4({ options: [...mssOption(1200), NOP, ...mssOption(1460), NOP, NOP, NOP] }), parse: Outcome.Parsed, rewrite: Outcome.Modified, mssAfter: [1200, 1400] },
  { name: 'duplicate MSS with allowIncrease: all set to N', packet: v4({ options: [...mssOption(1200), ...mssOption(1460)] }), action: { allowIncrease: true }, parse: Outcome.Parsed, rewrite: Outcome.Modified, mssAfter: [1400, 1400] },
  { name: 'MSS after EOL is padding: not seen, one inserted', packet: v4({ options: [EOL, 0, 0, 0, ...mssOption(1460)] }), tailroom: 4, parse: Outcome.Parsed, rewrite: Outcome.Inserted, mssAfter: [536], lengthAfter: 52 },
  { name: 'MSS after EOL is padding: not seen, insert off', packet: v4({ options: [EOL, 0, 0, 0, ...mssOption(1460)] }), action: { insertMode: InsertMode.Off }, parse: Outcome.Parsed, rewrite: Outcome.NoMssOption },
  { name: 'zero-length option is malformed', packet: v4({ options: [NOP, 8, 0, 0, ...mssOption(1460)] }), parse: Outcome.Parsed, rewrite: Outcome.MalformedOption },
  { name: 'length-1 option is malformed', packet: v4({ options: [3, 1, 0, 0, ...mssOption(1460)] }), parse: Outcome.Parsed, rewrite: Outcome.MalformedOption },
  { name: 'option running past the header is malformed', packet: v4({ options: [...mssOption(1460), 8, 10, 0, 0] }), parse: Outcome.Parsed, rewrite: Outcome.MalformedOption },
  { name: 'kind without a length byte at the end is malformed', packet: v4({ options: [...mssOption(1460), NOP, NOP, NOP, 3] }), parse: Outcome.Parsed, rewrite: Outcome.MalformedOption },
  { name: 'kind 2 with length 3 is not an MSS option', packet: v4({ options: [2, 3, 0xff, NOP] }), action: { insertMode: InsertMode.Off }, parse: Outcome.Parsed, rewrite: Outcome.NoMssOption },

  // --- insertion ---
  { name: 'insert (kernel value 536 for IPv4)', packet: v4({ options: [...sackPermittedOption(), NOP, NOP] }), tailroom: 4, parse: Outcome.Parsed, rewrite: Outcome.Inserted, mssAfter: [536], lengthAfter: 48 },
  { name: 'insert with no options at all', packet: v4(), tailroom: 4, parse: Outcome.Parsed, rewrite: Outcome.Inserted, mssAfter: [536], lengthAfter: 44 },
  { name: 'insert the target when below 536', packet: v4(), action: { mss: 500 }, tailroom: 4, parse: Outcome.Parsed, rewrite: Outcome.Inserted, mssAfter: [500] },
  { name: 'insert (kernel value 1220 for IPv6)', packet: v6({ options: windowScaleOption(7) }), tailroom: 4, parse: Outcome.Parsed, rewrite: Outcome.Inserted, mssAfter: [1220], lengthAfter: 68 },
  { name: 'insert an exact value (InsertMode.Value)', packet: v4({ options: windowScaleOption(7) }), action: { insertMode: InsertMode.Value, insertMss: 1300 }, tailroom: 4, parse: Outcome.Parsed, rewrite: Outcome.Inserted, mssAfter: [1300] },
  { name: 'inserted value never above the target (InsertMode.Value)', packet: v4(), action: { insertMode: InsertMode.Value, insertMss: 1460 }, tailroom: 4, parse: Outcome.Parsed, rewrite: Outcome.Inserted, mssAfter: [1400] },
  { name: 'insert with allowIncrease writes exactly the target', packet: v6(), action: { allowIncrease: true, mss: 8940 }, tailroom: 4, parse: Outcome.Parsed, rewrite: Outcome.Inserted, mssAfter: [8940] },
  { name: 'insert into a 56-byte header (reaches 60)', packet: v4({ options: nops(36) }), tailroom: 4, parse: Outcome.Parsed, rewrite: Outcome.Inserted, mssAfter: [536], lengthAfter: 80 },
  { name: 'no insert when the SYN has payload', packet: v4({ payload: [1, 2, 3, 4] }), tailroom: 4, parse: Outcome.Parsed, rewrite: Outcome.HasPayload },
  { name: 'no insert when the header is full (60 bytes)', packet: v4({ options: nops(40) }), tailroom: 4, parse: Outcome.Parsed, rewrite: Outcome.HeaderFull },
  { name: 'no insert without tailroom', packet: v4(), tailroom: 0, parse: Outcome.Parsed, rewrite: Outcome.NoRoom },
  { name: 'no insert when the rule does not insert', packet: v4(), action: { insertMode: InsertMode.Off }, tailroom: 4, parse: Outcome.Parsed, rewrite: Outcome.NoMssOption },

  // --- checksums ---
  { name: 'bad TCP checksum stays bad by the same amount (modify)', packet: v4({ options: mssOption(1460), tcpChecksum: 0x1234 }), parse: Outcome.Parsed, rewrite: Outcome.Modified, mssAfter: [1400] },
  { name: 'bad TCP checksum stays bad by the same amount (insert)', packet: v6({ tcpChecksum: 0xabcd }), tailroom: 4, parse: Outcome.Parsed, rewrite: Outcome.Inserted, mssAfter: [1220] },
  { name: 'bad IPv4 header checksum stays bad by the same amount (insert)', packet: v4({ ipChecksum: 0x0001 }), tailroom: 4, parse: Outcome.Parsed, rewrite: Outcome.Inserted, mssAfter: [536] },
];

test('the table has a case for every rule (at least 30)', () => {
  assert.ok(cases.length >= 30, `${cases.length} cases`);
  assert.equal(new Set(cases.map((c) => c.name)).size, cases.length, 'case names are unique');
});

for (const c of cases) {
  test(`case: ${c.name}`, () => {
    const tailroom = c.tailroom ?? 0;
    const bytes = new Uint8Array(c.packet.length + tailroom);
    bytes.set(c.packet);
    const length = c.length ?? c.packet.length;
    const before = bytes.slice();
    const info = new PacketInfo();
    const parsed = parsePacket(bytes, 0, length, info);
    assert.equal(outcomeNames[parsed], outcomeNames[c.parse], 'parse outcome');
    assert.deepEqual(bytes, before, 'parse never writes');
    if (parsed !== Outcome.Parsed) return;
    assert.ok(c.rewrite !== undefined, 'a parsed case names its rewrite outcome');

    const tcpResidual = tcpChecksumResidual(bytes, info);
    const ipResidual = info.family === 4 ? ipv4HeaderResidual(bytes, 0) : 0;
    const action = { ...baseAction, ...c.action };
    const result = new RewriteResult();
    const outcome = rewriteMss(bytes, info, action, c.pathMtu ?? 1500, tailroom, result);
    assert.equal(outcomeNames[outcome], outcomeNames[c.rewrite], 'rewrite outcome');
    assert.equal(result.outcome, outcome);
    if (!isChange(outcome)) assert.deepEqual(bytes, before, 'bytes unchanged');
    if (c.lengthAfter !== undefined) assert.equal(result.length, c.lengthAfter, 'result.length');

    // Re-parse what we produced: lengths agree and checksums moved with the bytes.
    const after = new PacketInfo();
    assert.equal(parsePacket(bytes, 0, result.length, after), Outcome.Parsed, 'still parses');
    assert.equal(after.ipEnd, result.length);
    if (c.mssAfter !== undefined) assert.deepEqual(mssValues(bytes, after), c.mssAfter, 'MSS values');
    assert.equal(tcpChecksumResidual(bytes, after) % 0xffff, tcpResidual % 0xffff, 'TCP checksum off by the same amount as before');
    if (info.family === 4)
      assert.equal(ipv4HeaderResidual(bytes, 0) % 0xffff, ipResidual % 0xffff, 'IPv4 header checksum off by the same amount');
    if (isChange(outcome)) {
      // A second pass with the same rule changes nothing.
      const again = bytes.slice();
      const tailroomLeft = outcome === Outcome.Inserted ? tailroom - 4 : tailroom;
      const second = rewriteMss(again, after, action, c.pathMtu ?? 1500, tailroomLeft, new RewriteResult());
      assert.ok(!isChange(second), `second pass: ${outcomeNames[second]}`);
      assert.deepEqual(again, bytes);
    }
  });
}
