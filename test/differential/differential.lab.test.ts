// The differential test: the real kernel TCPMSS target is the reference. A corpus of crafted segments
// goes from the client namespace through a router running `iptables/ip6tables -t mangle -A FORWARD
// ... -j TCPMSS` (set-mss, then clamp-mss-to-pmtu with route MTUs), captured on both router links.
// For every well-formed case the kernel handles, our core applied to what the router received, plus
// what forwarding does, must give exactly what the router sent. The cases where we knowingly differ
// are asserted against what the kernel was seen to do (docs/semantics.md, "Differential testing against the kernel").
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ActionMode, InsertMode, type MssAction } from '../../src/packet/action.js';
import { checksumReplace16 } from '../../src/packet/checksum.js';
import { Direction } from '../../src/packet/direction.js';
import { Outcome, isChange, outcomeNames, type OutcomeCode } from '../../src/packet/outcome.js';
import { PacketInfo } from '../../src/packet/packet-info.js';
import { parsePacket } from '../../src/packet/parse.js';
import { RewriteResult, rewriteMss } from '../../src/packet/rewrite.js';
import { startCapture } from '../lab/capture.js';
import { Lab, LabAddress, LabInterface } from '../lab/lab.js';
import { corpus, type CorpusCase, type Family } from './corpus.js';
import { decreaseHopLimit, decreaseTtl, fillRecordRoute } from './forwarding.js';
import { hexDiff, toHex } from './hex-diff.js';
import { sendPackets } from './sender.js';
import {
  ipv4HeaderChecksumOk,
  kernelWalkMssOffsets,
  mssAt,
  recomputeTcpChecksum,
  tcpChecksumField,
  tcpChecksumOk,
  viewSegment,
} from './segment-view.js';

type Backend = 'nft' | 'legacy';

interface Run {
  name: string;
  /** iptables-nft (nft_compat running the xt target) or iptables-legacy (x_tables). */
  backend: Backend;
  /** iptables / ip6tables arguments after the target name. */
  targetArgs: (family: Family) => string[];
  /** Route commands on the router (ip arguments) before the run. */
  routes: string[][];
  action: (family: Family) => MssAction;
  /** The MTU the core is given for clamp-to-pmtu: what the kernel computes, min(forward, reverse). */
  pathMtu: number;
  target: (family: Family) => number;
}

const SET_MSS = { 4: 1300, 6: 1280 } as const;
const LEGACY_SET_MSS = { 4: 1240, 6: 1220 } as const;
const FORWARD_MTU = 1400;
const REVERSE_MTU = 1300;
/** xt_TCPMSS subtracts the fixed headers: IPv4 20 + TCP 20, IPv6 40 + TCP 20 (RFC 6691). */
const OVERHEAD = { 4: 40, 6: 60 } as const;

const action = (mode: MssAction['mode'], mss: number): MssAction => ({
  mode,
  mss,
  allowIncrease: false,
  directions: Direction.Both,
  insertMode: InsertMode.Kernel,
  insertMss: 0,
});

const towardsServer = (mtu: number): string[][] => [
  ['route', 'replace', '203.0.113.0/24', 'dev', LabInterface.routerToServer, 'mtu', String(mtu)],
  // metric 256 is the connected route's: without it `replace` adds a second route (metric 1024) that loses.
  ['-6', 'route', 'replace', 'fd00:5::/64', 'dev', LabInterface.routerToServer, 'metric', '256', 'mtu', String(mtu)],
];
const towardsClient = (mtu: number): string[][] => [
  ['route', 'replace', '198.51.100.0/24', 'dev', LabInterface.routerToClient, 'mtu', String(mtu)],
  ['-6', 'route', 'replace', 'fd00:c::/64', 'dev', LabInterface.routerToClient, 'metric', '256', 'mtu', String(mtu)],
];

const runs: Run[] = [
  {
    name: `set-mss ${SET_MSS[4]} (ipv4) / ${SET_MSS[6]} (ipv6)`,
    backend: 'nft',
    targetArgs: (f) => ['--set-mss', String(SET_MSS[f])],
    routes: [],
    action: (f) => action(ActionMode.Set, SET_MSS[f]),
    pathMtu: 0,
    target: (f) => SET_MSS[f],
  },
  {
    name: `clamp-mss-to-pmtu, route towards the server mtu ${FORWARD_MTU}`,
    backend: 'nft',
    targetArgs: () => ['--clamp-mss-to-pmtu'],
    routes: towardsServer(FORWARD_MTU),
    action: () => action(ActionMode.ClampToPmtu, 0),
    pathMtu: FORWARD_MTU,
    target: (f) => FORWARD_MTU - OVERHEAD[f],
  },
  {
    // xt_TCPMSS takes min(dst_mtu, MTU of the route back to the source): the reverse route rules here.
    name: `clamp-mss-to-pmtu, route back to the client mtu ${REVERSE_MTU}`,
    backend: 'nft',
    targetArgs: () => ['--clamp-mss-to-pmtu'],
    routes: towardsClient(REVERSE_MTU),
    action: () => action(ActionMode.ClampToPmtu, 0),
    pathMtu: REVERSE_MTU,
    target: (f) => REVERSE_MTU - OVERHEAD[f],
  },
  {
    // The same xt_TCPMSS target behind the legacy x_tables matcher, whose `-p tcp` looks through AH.
    name: `iptables-legacy set-mss ${LEGACY_SET_MSS[4]} (ipv4) / ${LEGACY_SET_MSS[6]} (ipv6)`,
    backend: 'legacy',
    targetArgs: (f) => ['--set-mss', String(LEGACY_SET_MSS[f])],
    routes: [],
    action: (f) => action(ActionMode.Set, LEGACY_SET_MSS[f]),
    pathMtu: 0,
    target: (f) => LEGACY_SET_MSS[f],
  },
];

const ROUTER_OUTGOING4 = LabAddress.routerServerSide4.split('.').map(Number);
const PORT_BASE = 20000;
const portOf = (runIndex: number, caseIndex: number): number => PORT_BASE + runIndex * 1000 + caseIndex;

/** What forwarding alone makes of a received segment (no MSS target). */
function forwardOnly(received: Uint8Array): Uint8Array {
  const out = received.slice();
  if (out[0]! >>> 4 === 4) {
    decreaseTtl(out);
    fillRecordRoute(out, ROUTER_OUTGOING4);
  } else {
    decreaseHopLimit(out);
  }
  return out;
}

interface Prediction {
  outcome: OutcomeCode;
  /** Our core's result, forwarded. */
  bytes: Uint8Array;
}

/** Our core on what the router received, in the kernel's order: TTL / hop limit lowered before the
 * FORWARD hook, the MSS rewrite at the hook, Record Route filled after it. */
function predict(received: Uint8Array, act: MssAction, pathMtu: number): Prediction {
  const tailroom = 4;
  const buffer = new Uint8Array(received.length + tailroom);
  buffer.set(received);
  const family = buffer[0]! >>> 4;
  if (family === 4) decreaseTtl(buffer);
  else decreaseHopLimit(buffer);
  const info = new PacketInfo();
  const result = new RewriteResult();
  let outcome = parsePacket(buffer, 0, received.length, info);
  let length = received.length;
  if (outcome === Outcome.Parsed) {
    outcome = rewriteMss(buffer, info, act, pathMtu, tailroom, result);
    if (outcome === Outcome.Inserted) length += 4;
  }
  const bytes = buffer.slice(0, length);
  if (family === 4) fillRecordRoute(bytes, ROUTER_OUTGOING4);
  return { outcome, bytes };
}

/** The kernel as its source reads (xt_TCPMSS.c): the FIRST MSS option its walk finds lowered to the
 * target when above it, with a correct checksum. */
function kernelFirstOptionRewrite(forwarded: Uint8Array, target: number): Uint8Array {
  const out = forwarded.slice();
  const view = viewSegment(out)!;
  const [first] = kernelWalkMssOffsets(out, view);
  if (first !== undefined && mssAt(out, first) > target) {
    out[first + 2] = target >>> 8;
    out[first + 3] = target & 0xff;
    recomputeTcpChecksum(out, view);
  }
  return out;
}

function assertSameBytes(expected: Uint8Array, actual: Uint8Array, what: string): void {
  if (Buffer.compare(Buffer.from(expected), Buffer.from(actual)) !== 0) {
    assert.fail(`${what}\n${hexDiff(expected, actual, ['ours', 'kernel'])}`);
  }
}

function assertChecksumsOk(bytes: Uint8Array, who: string): void {
  const view = viewSegment(bytes);
  assert.ok(view, `${who}: a TCP segment`);
  assert.ok(ipv4HeaderChecksumOk(bytes), `${who}: IPv4 header checksum verifies`);
  assert.ok(tcpChecksumOk(bytes, view), `${who}: TCP checksum verifies by full recomputation`);
}

interface Observation {
  testCase: CorpusCase;
  received: Uint8Array;
  /** What the router sent, or undefined when it forwarded nothing. */
  sent: Uint8Array | undefined;
  prediction: Prediction;
  target: number;
  backend: Backend;
}

/** Checks one case; returns a one-line summary for the report. */
function check(o: Observation): string {
  const { testCase, received, sent, prediction, target, backend } = o;
  const ours = prediction.bytes;
  const outcome = outcomeNames[prediction.outcome];
  const forwarded = forwardOnly(received);
  const context = `received ${toHex(received)}\nkernel   ${toHex(sent)}\nours     ${toHex(ours)} (${outcome})`;

  switch (testCase.divergence) {
    case undefined: {
      assert.ok(sent, `the kernel forwarded the segment\n${context}`);
      assertSameBytes(ours, sent, `our core (${outcome}) and the kernel differ`);
      return `same bytes (${outcome})`;
    }
    case 'odd-offset': {
      assert.equal(prediction.outcome, Outcome.Modified, context);
      assert.ok(sent, `the kernel forwarded the segment\n${context}`);
      assertChecksumsOk(ours, 'ours');
      const view = viewSegment(sent)!;
      const [mss] = kernelWalkMssOffsets(forwarded, view);
      assert.ok(mss !== undefined && (mss + 2 - view.l4) % 2 === 1, 'the MSS value sits at an odd offset');
      // Everything but the TCP checksum is the same; the kernel's checksum is the plain RFC 1624
      // update of the unswapped value, which is wrong at an odd offset.
      const kernelWithOurChecksum = sent.slice();
      kernelWithOurChecksum.set(ours.subarray(view.l4 + 16, view.l4 + 18), view.l4 + 16);
      assertSameBytes(ours, kernelWithOurChecksum, "apart from the TCP checksum, our bytes equal the kernel's");
      const kernelArithmetic = checksumReplace16(tcpChecksumField(forwarded, view), mssAt(forwarded, mss), target);
      assert.equal(
        tcpChecksumOk(sent, view),
        false,
        `the kernel's TCP checksum at an odd offset is wrong on this kernel (if it is right, the kernel has been fixed: update docs/semantics.md)\n${context}`,
      );
      assert.equal(tcpChecksumField(sent, view), kernelArithmetic, 'the kernel checksum is the unswapped incremental update');
      return `kernel TCP checksum wrong (0x${tcpChecksumField(sent, view).toString(16)}), ours right (0x${tcpChecksumField(ours, view).toString(16)})`;
    }
    case 'duplicate': {
      assert.ok(sent, `the kernel forwarded the segment\n${context}`);
      assertSameBytes(kernelFirstOptionRewrite(forwarded, target), sent, 'the kernel rewrites the first MSS option only');
      assert.equal(prediction.outcome, Outcome.Modified, context);
      assertChecksumsOk(ours, 'ours');
      const view = viewSegment(ours)!;
      const offsets = kernelWalkMssOffsets(ours, view);
      assert.ok(offsets.length >= 2, 'two MSS options');
      for (const at of offsets) assert.ok(mssAt(ours, at) <= target, `ours: every MSS option at or below ${target}`);
      const before = kernelWalkMssOffsets(sent, view).map((at) => mssAt(sent, at));
      return `kernel MSS options ${before.join(', ')}; ours ${offsets.map((at) => mssAt(ours, at)).join(', ')}`;
    }
    case 'after-eol': {
      assert.ok(sent, `the kernel forwarded the segment\n${context}`);
      assertSameBytes(kernelFirstOptionRewrite(forwarded, target), sent, 'the kernel rewrites the MSS option after EOL');
      const view = viewSegment(received)!;
      const hasPayload = view.ipEnd > view.l4 + view.tcpHeaderLength;
      // Our walk ends at EOL: no MSS option, so the kernel's insertion rule applies (or has-payload).
      assert.equal(prediction.outcome, hasPayload ? Outcome.HasPayload : Outcome.Inserted, context);
      if (prediction.outcome === Outcome.Inserted) assertChecksumsOk(ours, 'ours');
      else assertSameBytes(forwarded, ours, 'ours: unchanged');
      return `kernel rewrote the MSS after EOL; ours ${outcome}`;
    }
    case 'malformed-option': {
      assert.equal(prediction.outcome, Outcome.MalformedOption, context);
      assertSameBytes(forwarded, ours, 'ours: unchanged');
      assert.ok(sent, `the kernel forwarded the segment\n${context}`);
      assertChecksumsOk(sent, 'kernel');
      const view = viewSegment(forwarded)!;
      if (kernelWalkMssOffsets(forwarded, view).length > 0) {
        assertSameBytes(kernelFirstOptionRewrite(forwarded, target), sent, 'the kernel walks on and rewrites the MSS option');
        return 'kernel stepped over the bad length and rewrote the MSS; ours malformed-option, unchanged';
      }
      // No MSS for the kernel's walk: it inserts one, in front of the malformed option.
      const inserted = Math.min(target, view.family === 4 ? 536 : 1220);
      assert.equal(sent.length, forwarded.length + 4, 'the kernel inserted an MSS option');
      assert.deepEqual([...sent.subarray(view.l4 + 20, view.l4 + 24)], [2, 4, inserted >>> 8, inserted & 0xff]);
      return `kernel inserted MSS ${inserted} in front of the malformed option; ours malformed-option, unchanged`;
    }
    case 'kernel-drops': {
      assert.equal(sent, undefined, `the kernel dropped the segment\n${context}`);
      assert.equal(prediction.outcome, Outcome.MalformedTcp, context);
      assertSameBytes(forwarded, ours, 'ours: unchanged');
      return 'kernel dropped it; ours malformed-tcp, accepted unchanged';
    }
    case 'syn-fin': {
      assert.equal(prediction.outcome, Outcome.SynWithRstOrFin, context);
      assertSameBytes(forwarded, ours, 'ours: unchanged');
      assert.ok(sent, `the kernel forwarded the segment\n${context}`);
      assertSameBytes(kernelFirstOptionRewrite(forwarded, target), sent, 'the kernel rewrites the MSS');
      return `kernel rewrote the MSS; ours ${outcome}, unchanged`;
    }
    case 'under-ah': {
      assert.equal(prediction.outcome, Outcome.UnderAh, context);
      assertSameBytes(forwarded, ours, 'ours: unchanged');
      assert.ok(sent, `the kernel forwarded the segment\n${context}`);
      if (backend === 'nft') {
        // nft_set_pktinfo_ipv6 finds the transport header with IP6_FH_F_AUTH: it stops at AH, so
        // `-p tcp` does not match and the target never runs.
        assertSameBytes(forwarded, sent, 'iptables-nft: the rule does not match under AH, the kernel leaves it');
        return 'iptables-nft: rule does not match under AH, both unchanged';
      }
      assertSameBytes(kernelFirstOptionRewrite(forwarded, target), sent, 'iptables-legacy: the kernel rewrites under AH');
      return `iptables-legacy: kernel rewrote the MSS under AH (the ICV no longer verifies); ours ${outcome}, unchanged`;
    }
    case 'fragment': {
      assert.equal(prediction.outcome, Outcome.Fragment, context);
      assertSameBytes(forwarded, ours, 'ours: unchanged');
      assert.ok(sent, `the kernel forwarded the segment\n${context}`);
      assertSameBytes(kernelFirstOptionRewrite(forwarded, target), sent, 'the kernel rewrites the MSS');
      return `kernel rewrote the MSS; ours ${outcome}, unchanged`;
    }
  }
}

const TOOLS: Record<Backend, Record<Family, string>> = {
  nft: { 4: 'iptables', 6: 'ip6tables' },
  legacy: { 4: 'iptables-legacy', 6: 'ip6tables-legacy' },
};

async function setRules(lab: Lab, run: Run, used: Set<Backend>): Promise<void> {
  for (const backend of used) {
    for (const family of [4, 6] as const) await lab.exec('router', TOOLS[backend][family], ['-t', 'mangle', '-F', 'FORWARD']);
  }
  used.add(run.backend);
  for (const family of [4, 6] as const) {
    const tool = TOOLS[run.backend][family];
    await lab.exec('router', tool, [
      '-t',
      'mangle',
      '-A',
      'FORWARD',
      '-p',
      'tcp',
      '--tcp-flags',
      'SYN,RST',
      'SYN',
      '-j',
      'TCPMSS',
      ...run.targetArgs(family),
    ]);
  }
  for (const route of run.routes) await lab.exec('router', 'ip', route);
}

const key = (family: number, port: number): string => `${family}:${port}`;

function index(packets: readonly { ip: Buffer }[]): Map<string, Uint8Array> {
  const byKey = new Map<string, Uint8Array>();
  for (const p of packets) {
    const bytes = new Uint8Array(p.ip);
    const view = viewSegment(bytes);
    if (!view || view.srcPort < PORT_BASE) continue;
    const k = key(view.family, view.srcPort);
    assert.ok(!byKey.has(k), `one packet per case (${k} seen twice)`);
    byKey.set(k, bytes);
  }
  return byKey;
}

test('differential: the kernel TCPMSS target and our core, on a corpus of crafted SYNs', async (t: TestContext) => {
  const lab = await Lab.create({ tag: 'diff' });
  t.after(() => lab.destroy());
  const routerMac = await lab.mac(lab.router, LabInterface.routerToClient);

  // Captures run across all runs; each (run, case) has its own TCP source port.
  // A second stop() (after the normal one) finds the file gone and is ignored: it only cleans up.
  const ignore = (): void => undefined;
  const arriving = await startCapture(lab, 'router', LabInterface.routerToClient, { direction: 'in', filter: 'ip or ip6' });
  t.after(() => arriving.stop().then(ignore, ignore));
  const leaving = await startCapture(lab, 'router', LabInterface.routerToServer, { direction: 'out', filter: 'ip or ip6' });
  t.after(() => leaving.stop().then(ignore, ignore));

  const used = new Set<Backend>();
  const crafted: Uint8Array[][] = [];
  for (const [runIndex, run] of runs.entries()) {
    await setRules(lab, run, used);
    const packets = corpus.map((c, i) => c.build({ family: c.family, srcPort: portOf(runIndex, i), target: run.target(c.family) }));
    crafted.push(packets);
    await sendPackets(lab, 'client', LabInterface.client, routerMac, packets);
    // Let the last packets cross the router before the rules change under them.
    await new Promise((r) => setTimeout(r, 300));
  }
  const [arrived, left] = await Promise.all([arriving.stop(), leaving.stop()]);
  const received = index(arrived);
  const sent = index(left);

  const summary: string[] = [];
  const tally = { same: 0, diverging: 0, modifiedOrInserted: 0 };
  for (const [runIndex, run] of runs.entries()) {
    await t.test(run.name, async (rt) => {
      for (const [caseIndex, testCase] of corpus.entries()) {
        await rt.test(testCase.name, () => {
          const k = key(testCase.family, portOf(runIndex, caseIndex));
          const input = received.get(k);
          assert.ok(input, `the router received the segment (source port ${portOf(runIndex, caseIndex)})`);
          assert.equal(toHex(input), toHex(crafted[runIndex]![caseIndex]), 'the router received the bytes exactly as crafted');
          const target = run.target(testCase.family);
          const prediction = predict(input, run.action(testCase.family), run.pathMtu);
          const line = check({ testCase, received: input, sent: sent.get(k), prediction, target, backend: run.backend });
          summary.push(`${run.name} | ${testCase.name}: ${line}`);
          // Divergences carry their bytes in the report: docs/semantics.md quotes them.
          if (testCase.divergence)
            summary.push(`  received ${toHex(input)}`, `  kernel   ${toHex(sent.get(k))}`, `  ours     ${toHex(prediction.bytes)}`);
          if (testCase.divergence) tally.diverging++;
          else tally.same++;
          if (!testCase.divergence && isChange(prediction.outcome)) tally.modifiedOrInserted++;
        });
      }
    });
  }
  for (const line of summary) t.diagnostic(line);
  t.diagnostic(`${tally.same} identical (${tally.modifiedOrInserted} of them changed by both), ${tally.diverging} known divergences`);
  // The comparison must not be vacuous: most well-formed cases are ones both sides change.
  assert.ok(tally.modifiedOrInserted >= runs.length * 20, `cases changed by both: ${tally.modifiedOrInserted}`);
});
