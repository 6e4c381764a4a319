// Property tests (fast-check, fixed seed): random and mutated packets never throw; whenever the core
// reports a change, checksums move with the bytes (valid stays valid, bad stays bad by the same
// amount), lengths agree, only the MSS option(s) (or the inserted option and the fields it forces)
// changed, no MSS grew without allowIncrease, and a second pass with the same rule changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ActionMode, InsertMode, type MssAction } from '../../src/packet/action.js';
import { readU16 } from '../../src/packet/bytes.js';
import { Ipv4Field } from '../../src/packet/ipv4.js';
import { Ipv6Field } from '../../src/packet/ipv6.js';
import { OUTCOME_COUNT, Outcome, isChange } from '../../src/packet/outcome.js';
import { PacketInfo } from '../../src/packet/packet-info.js';
import { parsePacket } from '../../src/packet/parse.js';
import { IPV4_DEFAULT_MSS, IPV6_DEFAULT_MSS, RewriteResult, mssTarget, rewriteMss } from '../../src/packet/rewrite.js';
import { TcpField } from '../../src/packet/tcp.js';
import { MSS_OPTION_LENGTH, TcpOptionField, nextMssOption } from '../../src/packet/tcp-options.js';
import {
  EOL,
  NOP,
  authenticationHeader,
  craftIpv4Tcp,
  craftIpv6Tcp,
  destinationOptions,
  espHeader,
  fragmentHeader,
  hopByHop,
  ipv4HeaderResidual,
  mssOption,
  routing,
  sackPermittedOption,
  tcpChecksumResidual,
  timestampOption,
  windowScaleOption,
  type ExtensionHeader,
} from './craft.js';
import { mssValues } from './mss-values.js';

const SEED = 0x2a5e;
const RUNS = 10000;

const byte = fc.integer({ min: 0, max: 255 });
const mssValue = fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(536, 1220, 1360, 1400, 1440, 1460, 8960, 65495));

const optionToken: fc.Arbitrary<number[]> = fc.oneof(
  { weight: 4, arbitrary: mssValue.map(mssOption) },
  { weight: 3, arbitrary: fc.constant<number[]>([NOP]) },
  { weight: 1, arbitrary: fc.constant<number[]>([EOL]) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 14 }).map(windowScaleOption) },
  { weight: 1, arbitrary: fc.constant(sackPermittedOption()) },
  { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => timestampOption(a, b)) },
  // Unknown or odd-length options, kind 2 with a wrong length, and raw garbage.
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 2, max: 254 }), fc.integer({ min: 2, max: 12 }))
      .map(([k, l]) => [k, l, ...new Array<number>(l - 2).fill(0x77)]),
  },
  { weight: 1, arbitrary: fc.array(byte, { minLength: 1, maxLength: 4 }) },
);
const options = fc.array(optionToken, { maxLength: 12 }).map((tokens) => tokens.flat().slice(0, 40));

const flags = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(0x02, 0x12, 0xc2, 0x52) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
);
const payload = fc.oneof({ weight: 4, arbitrary: fc.constant<number[]>([]) }, { weight: 1, arbitrary: fc.array(byte, { maxLength: 12 }) });

const extensionHeader: fc.Arbitrary<ExtensionHeader> = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.constant(0), { maxLength: 14 }).map((pad) => hopByHop(pad)) },
  { weight: 4, arbitrary: fc.array(fc.constant(0), { maxLength: 14 }).map((pad) => destinationOptions(pad)) },
  { weight: 3, arbitrary: fc.constant(routing()) },
  { weight: 1, arbitrary: fc.constant(fragmentHeader()) },
  { weight: 1, arbitrary: fc.constant(authenticationHeader()) },
  { weight: 1, arbitrary: fc.constant(espHeader()) },
);

const ipv4Packet = fc
  .record({
    options,
    flags,
    payload,
    ipOptions: fc.oneof(fc.constant<number[]>([]), fc.array(fc.constant(NOP), { maxLength: 40 })),
    flagsFragment: fc.oneof({ weight: 8, arbitrary: fc.constant(0x4000) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) }),
    badChecksum: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) }),
  })
  .map((r) =>
    craftIpv4Tcp({
      options: r.options,
      flags: r.flags,
      payload: r.payload,
      ipOptions: r.ipOptions,
      flagsFragment: r.flagsFragment,
      tcpChecksum: r.badChecksum,
    }),
  );

const ipv6Packet = fc
  .record({
    options,
    flags,
    payload,
    extensionHeaders: fc.oneof(
      { weight: 2, arbitrary: fc.constant<ExtensionHeader[]>([]) },
      { weight: 3, arbitrary: fc.array(extensionHeader, { maxLength: 4 }) },
    ),
    badChecksum: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) }),
  })
  .map((r) =>
    craftIpv6Tcp({
      options: r.options,
      flags: r.flags,
      payload: r.payload,
      extensionHeaders: r.extensionHeaders,
      tcpChecksum: r.badChecksum,
    }),
  );

const wellFormed = fc.oneof(ipv4Packet, ipv6Packet);

/** A well-formed packet with a few bytes overwritten (checksums then usually bad: still no throw,
 * and still "off by the same amount" after a change). */
const mutated = fc.tuple(wellFormed, fc.array(fc.tuple(fc.nat(), byte), { minLength: 1, maxLength: 4 })).map(([packet, edits]) => {
  const out = packet.slice();
  for (const [at, value] of edits) out[at % out.length] = value;
  return out;
});

const action: fc.Arbitrary<MssAction> = fc.record({
  mode: fc.constantFrom(ActionMode.Set, ActionMode.ClampToPmtu),
  mss: mssValue,
  allowIncrease: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  directions: fc.constantFrom(0 as const, 1 as const, 2 as const, 3 as const, 3 as const, 3 as const),
  insertMode: fc.constantFrom(InsertMode.Off, InsertMode.Kernel, InsertMode.Kernel, InsertMode.Value),
  insertMss: mssValue,
});
const pathMtu = fc.oneof(fc.integer({ min: 0, max: 70000 }), fc.constantFrom(1280, 1400, 1492, 1500, 9000));

interface Checked {
  changed: boolean;
}

/** Runs parse + rewrite on `packet` placed at `start` in a batch buffer with random fill, and checks
 * every property that applies. */
function check(packet: Uint8Array, start: number, fill: number, act: MssAction, mtu: number, tailroom: number): Checked {
  const batch = new Uint8Array(start + packet.length + tailroom + 16).fill(fill);
  batch.set(packet, start);
  const before = batch.slice();
  const info = new PacketInfo();
  const parsed = parsePacket(batch, start, packet.length, info);
  assert.ok(parsed >= 0 && parsed < OUTCOME_COUNT);
  assert.deepEqual(batch, before, 'parse never writes');
  if (parsed !== Outcome.Parsed) return { changed: false };

  const oldEnd = info.ipEnd;
  const l4 = info.l4Offset;
  const oldHeaderLength = info.tcpHeaderLength;
  const tcpResidual = tcpChecksumResidual(batch, info);
  const ipResidual = info.family === 4 ? ipv4HeaderResidual(batch, start) : 0;
  const oldMss = mssValues(batch, info);
  const result = new RewriteResult();
  const outcome = rewriteMss(batch, info, act, mtu, tailroom, result);
  assert.ok(outcome > Outcome.Parsed && outcome < OUTCOME_COUNT);
  assert.equal(result.outcome, outcome);

  if (!isChange(outcome)) {
    assert.deepEqual(batch, before, `unchanged on ${outcome}`);
    assert.equal(result.length, oldEnd - start);
    return { changed: false };
  }

  // Lengths agree: result, IP length field, a fresh parse.
  const grew = outcome === Outcome.Inserted ? MSS_OPTION_LENGTH : 0;
  assert.equal(result.length, oldEnd - start + grew);
  const after = new PacketInfo();
  assert.equal(parsePacket(batch, start, result.length, after), Outcome.Parsed);
  assert.equal(after.ipEnd, start + result.length);
  assert.equal(after.tcpHeaderLength, oldHeaderLength + grew);
  assert.deepEqual({ ...after }, { ...info }, 'info kept describing the packet');

  // Checksums moved with the bytes: valid stays valid, bad stays bad by the same amount.
  assert.equal(tcpChecksumResidual(batch, after) % 0xffff, tcpResidual % 0xffff, 'TCP checksum');
  if (info.family === 4) assert.equal(ipv4HeaderResidual(batch, start) % 0xffff, ipResidual % 0xffff, 'IPv4 header checksum');

  const newMss = mssValues(batch, after);
  if (outcome === Outcome.Modified) {
    assert.equal(newMss.length, oldMss.length);
    // Only MSS values and the TCP checksum may differ.
    const allowed = new Set<number>([l4 + TcpField.CHECKSUM, l4 + TcpField.CHECKSUM + 1]);
    const end = l4 + oldHeaderLength;
    for (let p = nextMssOption(before, l4 + TcpField.OPTIONS, end); p >= 0; p = nextMssOption(before, p + MSS_OPTION_LENGTH, end)) {
      allowed.add(p + TcpOptionField.MSS_VALUE);
      allowed.add(p + TcpOptionField.MSS_VALUE + 1);
    }
    for (let i = 0; i < batch.length; i++) if (batch[i] !== before[i]) assert.ok(allowed.has(i), `byte ${i - start} changed`);
    const target = mssTarget(info, act, mtu);
    newMss.forEach((v, i) => {
      if (!act.allowIncrease) assert.ok(v <= oldMss[i]!, 'no larger MSS without allowIncrease');
      if (v !== oldMss[i]) assert.equal(v, target, 'changed options all carry the target');
    });
  } else {
    // Inserted: the option first, the old options behind it, and only the forced fields changed.
    const optionsStart = l4 + TcpField.OPTIONS;
    assert.equal(oldMss.length, 0);
    assert.equal(newMss.length, 1);
    assert.deepEqual(batch.subarray(optionsStart + 4, oldEnd + 4), before.subarray(optionsStart, oldEnd));
    assert.equal(batch[optionsStart], 2);
    assert.equal(batch[optionsStart + 1], 4);
    // The inserted option obeys the rule like an existing one: never above the target, exactly the
    // target with allowIncrease; otherwise the kernel's default cap or the configured value.
    const target = mssTarget(info, act, mtu);
    const cap = act.insertMode === InsertMode.Kernel ? (info.family === 4 ? IPV4_DEFAULT_MSS : IPV6_DEFAULT_MSS) : act.insertMss;
    assert.equal(newMss[0], act.allowIncrease ? target : Math.min(target, cap));
    const forced = new Set<number>([l4 + TcpField.CHECKSUM, l4 + TcpField.CHECKSUM + 1, l4 + TcpField.DATA_OFFSET]);
    if (info.family === 4) {
      for (const f of [Ipv4Field.TOTAL_LENGTH, Ipv4Field.TOTAL_LENGTH + 1, Ipv4Field.CHECKSUM, Ipv4Field.CHECKSUM + 1])
        forced.add(start + f);
      assert.equal(readU16(batch, start + Ipv4Field.TOTAL_LENGTH), result.length);
    } else {
      for (const f of [Ipv6Field.PAYLOAD_LENGTH, Ipv6Field.PAYLOAD_LENGTH + 1]) forced.add(start + f);
    }
    for (let i = 0; i < optionsStart; i++) if (batch[i] !== before[i]) assert.ok(forced.has(i), `byte ${i - start} changed`);
    // Nothing past the 4 bytes of tailroom used.
    assert.deepEqual(batch.subarray(oldEnd + 4), before.subarray(oldEnd + 4));
  }

  // A second pass with the same rule changes nothing.
  const again = batch.slice();
  const second = rewriteMss(again, after, act, mtu, tailroom - grew, new RewriteResult());
  assert.ok(!isChange(second), `second pass changed: ${second}`);
  assert.deepEqual(again, batch);
  return { changed: true };
}

test('well-formed random packets: every property holds whenever a change is reported', () => {
  let changes = 0;
  fc.assert(
    fc.property(
      wellFormed,
      fc.integer({ min: 0, max: 9 }),
      byte,
      action,
      pathMtu,
      fc.integer({ min: 0, max: 8 }),
      (packet, start, fill, act, mtu, tailroom) => {
        if (check(packet, start, fill, act, mtu, tailroom).changed) changes++;
      },
    ),
    { seed: SEED, numRuns: RUNS },
  );
  // The generator must actually exercise the change paths, or the properties above prove nothing.
  assert.ok(changes > RUNS / 10, `only ${changes} changes`);
});

test('valid checksums stay valid after every change', () => {
  fc.assert(
    fc.property(wellFormed, action, pathMtu, (packet, act, mtu) => {
      const bytes = new Uint8Array(packet.length + 4);
      bytes.set(packet);
      const info = new PacketInfo();
      if (parsePacket(bytes, 0, packet.length, info) !== Outcome.Parsed) return;
      const tcpValid = tcpChecksumResidual(bytes, info) === 0xffff;
      const outcome = rewriteMss(bytes, info, act, mtu, 4, new RewriteResult());
      if (!isChange(outcome)) return;
      if (tcpValid) assert.equal(tcpChecksumResidual(bytes, info), 0xffff);
      if (info.family === 4) assert.equal(ipv4HeaderResidual(bytes, 0), 0xffff);
    }),
    { seed: SEED + 1, numRuns: RUNS },
  );
});

test('mutated packets never throw and keep every property', () => {
  fc.assert(
    fc.property(
      mutated,
      fc.integer({ min: 0, max: 9 }),
      byte,
      action,
      pathMtu,
      fc.integer({ min: 0, max: 8 }),
      (packet, start, fill, act, mtu, tailroom) => {
        check(packet, start, fill, act, mtu, tailroom);
      },
    ),
    { seed: SEED + 2, numRuns: RUNS },
  );
});

test('random bytes never throw, at any claimed length', () => {
  const info = new PacketInfo();
  const result = new RewriteResult();
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 120 }),
      fc.integer({ min: -2, max: 130 }),
      fc.integer({ min: -2, max: 200 }),
      action,
      pathMtu,
      (bytes, start, length, act, mtu) => {
        // Half the time, make it look like IPv4 or IPv6 carrying TCP so the deeper layers run.
        if (bytes.length > 40 && start === 0) {
          bytes[0] = (bytes[1]! & 1) === 0 ? 0x45 : 0x60;
          bytes[9] = 6;
          bytes[6] = 6;
        }
        const parsed = parsePacket(bytes, start, length, info);
        assert.ok(parsed >= 0 && parsed < OUTCOME_COUNT);
        if (parsed === Outcome.Parsed) {
          const outcome = rewriteMss(bytes, info, act, mtu, bytes.length - info.ipEnd, result);
          assert.ok(outcome > 0 && outcome < OUTCOME_COUNT);
        }
      },
    ),
    { seed: SEED + 3, numRuns: RUNS * 2 },
  );
});

// Fault modes (strip, zero, duplicate): after every reported change the checksums moved with the bytes
// (valid stays valid), lengths agree, and each mode did exactly its one thing.
const faultAction: fc.Arbitrary<MssAction> = fc.record({
  mode: fc.constantFrom(ActionMode.Strip, ActionMode.Zero, ActionMode.Duplicate),
  mss: mssValue,
  allowIncrease: fc.boolean(),
  directions: fc.constantFrom(1 as const, 2 as const, 3 as const, 3 as const),
  insertMode: fc.constantFrom(InsertMode.Off, InsertMode.Kernel),
  insertMss: mssValue,
});

function checkFault(packet: Uint8Array, start: number, fill: number, act: MssAction, tailroom: number): boolean {
  const batch = new Uint8Array(start + packet.length + tailroom + 16).fill(fill);
  batch.set(packet, start);
  const before = batch.slice();
  const info = new PacketInfo();
  if (parsePacket(batch, start, packet.length, info) !== Outcome.Parsed) return false;
  const oldEnd = info.ipEnd;
  const l4 = info.l4Offset;
  const tcpResidual = tcpChecksumResidual(batch, info);
  const ipResidual = info.family === 4 ? ipv4HeaderResidual(batch, start) : 0;
  const oldMss = mssValues(batch, info);
  const result = new RewriteResult();
  const outcome = rewriteMss(batch, info, act, 0, tailroom, result);
  assert.ok(outcome > Outcome.Parsed && outcome < OUTCOME_COUNT);
  if (!isChange(outcome)) {
    assert.deepEqual(batch, before, `unchanged on ${outcome}`);
    return false;
  }
  const grew = outcome === Outcome.Duplicated ? MSS_OPTION_LENGTH : 0;
  assert.equal(result.length, oldEnd - start + grew);
  const after = new PacketInfo();
  assert.equal(parsePacket(batch, start, result.length, after), Outcome.Parsed);
  assert.deepEqual({ ...after }, { ...info }, 'info kept describing the packet');
  assert.equal(tcpChecksumResidual(batch, after) % 0xffff, tcpResidual % 0xffff, 'TCP checksum');
  if (tcpResidual === 0xffff) assert.equal(tcpChecksumResidual(batch, after), 0xffff, 'a valid TCP checksum stays valid');
  if (info.family === 4) {
    assert.equal(ipv4HeaderResidual(batch, start) % 0xffff, ipResidual % 0xffff, 'IPv4 header checksum');
    assert.equal(readU16(batch, start + Ipv4Field.TOTAL_LENGTH), result.length);
  }
  const newMss = mssValues(batch, after);
  if (outcome === Outcome.Stripped) {
    assert.equal(act.mode, ActionMode.Strip);
    assert.deepEqual(newMss, []);
    for (let i = 0; i < batch.length; i++) {
      if (batch[i] === before[i]) continue;
      assert.ok(
        i === l4 + TcpField.CHECKSUM || i === l4 + TcpField.CHECKSUM + 1 || batch[i] === NOP,
        `byte ${i - start} changed to ${batch[i]}`,
      );
    }
  } else if (outcome === Outcome.Zeroed) {
    assert.equal(act.mode, ActionMode.Zero);
    assert.deepEqual(
      newMss,
      oldMss.map(() => 0),
    );
  } else {
    assert.equal(act.mode, ActionMode.Duplicate);
    assert.deepEqual(newMss, [...oldMss, act.mss]);
    assert.deepEqual(
      batch.subarray(start + result.length),
      before.subarray(oldEnd + MSS_OPTION_LENGTH),
      'nothing past the 4 bytes of tailroom',
    );
  }
  return true;
}

test('fault modes: random and mutated packets, checksums verify after every change', () => {
  let changes = 0;
  fc.assert(
    fc.property(
      fc.oneof(wellFormed, mutated),
      fc.integer({ min: 0, max: 9 }),
      byte,
      faultAction,
      fc.integer({ min: 0, max: 8 }),
      (packet, start, fill, act, tailroom) => {
        if (checkFault(packet, start, fill, act, tailroom)) changes++;
      },
    ),
    { seed: SEED + 7, numRuns: RUNS },
  );
  assert.ok(changes > RUNS / 10, `only ${changes} changes`);
});
