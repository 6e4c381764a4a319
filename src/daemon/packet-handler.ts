// The packet path: one call per batch from the queue, one pass over its rows. For each packet: parse,
// match the first rule, find the path MTU for clamp-to-pmtu, rewrite in place (or in a scratch copy
// for a dry run), write the row's new length, bump plain counters. Nothing here allocates or throws
// for any packet bytes; logging at debug level builds its fields only when debug is on. A rule with
// `select:` asks its selector first; a fault rule (README "Fault injection") keeps the option bytes
// from before the change and logs each injected fault at info, which allocates for that line only.
import { ActionMode, Direction, Outcome, PacketInfo, RewriteResult, isChange, parsePacket, rewriteMss } from '../packet/index.js';
import { IPV4_CLAMP_OVERHEAD, IPV6_CLAMP_OVERHEAD } from '../packet/rewrite.js';
import { TCP_MIN_HEADER_LENGTH } from '../packet/tcp.js';
import { Row, STRIDE, TAILROOM, PacketFlag } from '../native/contract.js';
import type { QueueBatch } from '../queue/queue.js';
import type { RuleSet } from '../rules/rule-set.js';
import { PmtuFallback, type PacketCounters } from '../metrics/packet-counters.js';
import type { Logger } from '../log/logger.js';
import { outcomeNames } from '../packet/outcome.js';

/** Where clamp-to-pmtu gets a path MTU: PathMtuCache in the daemon, a double in tests. */
export interface PathMtuSource {
  /** Once per batch: reads the clock once for all its lookups, refills the lookup budget. */
  beginBatch(): void;
  lookup(
    family: 4 | 6,
    bytes: Uint8Array,
    dstOffset: number,
    srcOffset: number,
    inIfIndex: number,
    outIfIndex: number,
    mark: number,
  ): number;
  readonly linkFallbacks: number;
  readonly budgetFallbacks: number;
}

/** The MSS to assume when no path MTU can be found (config pmtu.floorIpv4 / floorIpv6). */
export interface MssFloor {
  readonly ipv4: number;
  readonly ipv6: number;
}

/** The largest packet a queue hands over, plus room to grow it: the dry-run scratch copy. */
const SCRATCH_BYTES = 0x10000 + TAILROOM;
/** The TCP option area at most (60-byte header minus the fixed 20). */
const MAX_OPTIONS_BYTES = 40;

export class PacketHandler {
  private rules: RuleSet;
  private readonly info = new PacketInfo();
  private readonly scratchInfo = new PacketInfo();
  private readonly result = new RewriteResult();
  private readonly scratch = new Uint8Array(SCRATCH_BYTES);
  /** A fault rule's TCP option area before the change, for the fault log line. */
  private readonly optionsBefore = new Uint8Array(MAX_OPTIONS_BYTES);
  private optionsBeforeLength = 0;
  /** The clock for selection windows, read once per batch and only when a rule has a window. */
  private now = 0;

  constructor(
    rules: RuleSet,
    private readonly counters: PacketCounters,
    private readonly pmtu: PathMtuSource,
    private floor: MssFloor,
    private readonly log: Logger,
  ) {
    this.rules = rules;
  }

  /** Swapped between batches on a successful reload: the next batch sees the new rules whole. */
  setRules(rules: RuleSet, floor: MssFloor): void {
    this.rules = rules;
    this.floor = floor;
  }

  /** The queue's batch callback (bound once, so the queue holds one function for its life). */
  readonly handle = (batch: QueueBatch): void => {
    const { bytes, table, count } = batch;
    this.counters.observeBatch(count);
    // The route cache reads the clock per batch (the clock call costs more than a small batch's
    // rewrites): only when some rule will look up a path MTU.
    if (this.rules.clampsToPmtu) this.pmtu.beginBatch();
    // Date.now, not performance.now: on Node 20 performance.now (a JavaScript wrapper over an internal
    // clock) was seen allocating in some runs of test/fault/allocation.test.ts; Date.now never was.
    // A wall-clock step moves a window, which a lab can live with.
    if (this.rules.selector.timed) this.now = Date.now();
    for (let i = 0; i < count; i++) {
      this.handleRow(bytes, table, i * STRIDE);
    }
  };

  private handleRow(bytes: Uint8Array, table: Uint32Array, row: number): void {
    const counters = this.counters;
    const info = this.info;
    const start = table[row + Row.offset]!;
    const length = table[row + Row.length]!;

    // A truncated copy cannot be modified (the verdict would cut the packet); parsePacket reports it
    // as Truncated when the IP length runs past the copy, and the flag catches the rest.
    let outcome: number = parsePacket(bytes, start, length, info);
    if (outcome === Outcome.Parsed && (table[row + Row.flags]! & PacketFlag.truncated) !== 0) {
      outcome = Outcome.Truncated;
    }
    if (outcome !== Outcome.Parsed) {
      counters.countOutcome(counters.noRule, outcome);
      return;
    }

    const rules = this.rules;
    const outIfIndex = table[row + Row.outdev]!;
    const rule = rules.match(bytes, info, table[row + Row.indev]!, outIfIndex, table[row + Row.mark]!);
    if (rule < 0) {
      counters.countOutcome(counters.noRule, Outcome.NoRuleMatched);
      return;
    }
    if (rules.selective[rule] === 1 && !rules.selector.select(rule, bytes, info, this.now)) {
      counters.countOutcome(rule, Outcome.NotSelected);
      return;
    }
    const action = rules.actions[rule]!;
    const fault = rules.faults[rule] === 1;
    if (fault) this.keepOptions(bytes, info);
    const pathMtu = action.mode === ActionMode.ClampToPmtu ? this.pathMtu(bytes, info, table, row, outIfIndex) : 0;

    const result = this.result;
    if (rules.dryRun[rule] === 1) {
      // Rewrite a copy: count and log what would change, send the packet unchanged.
      const scratch = this.scratch;
      const end = info.ipEnd;
      for (let k = start; k < end; k++) scratch[k - start] = bytes[k]!;
      parsePacket(scratch, 0, end - start, this.scratchInfo);
      outcome = rewriteMss(scratch, this.scratchInfo, action, pathMtu, TAILROOM, result);
    } else {
      outcome = rewriteMss(bytes, info, action, pathMtu, TAILROOM, result);
      if (isChange(outcome)) table[row + Row.newLength] = result.length;
    }
    counters.countOutcome(rule, outcome);
    // The histograms hold every MSS a rule saw and sent, left alone (already at or below) included:
    // README "## Metrics", "MSS as received" / "as sent".
    if (isChange(outcome)) {
      // A stripped option leaves no MSS to observe (the peer assumes its default).
      if (result.newMss >= 0) counters.observeMss(rule, result.oldMss, result.newMss);
      if (fault) {
        // A dry run's would-be bytes are in the scratch copy.
        const dry = rules.dryRun[rule] === 1;
        if (this.log.isInfoEnabled) this.logFault(rule, outcome, dry ? this.scratch : bytes, dry ? this.scratchInfo : info);
      } else if (this.log.isDebugEnabled) this.logChange(rule, outcome, bytes, info);
    } else if (outcome === Outcome.AlreadyAtOrBelow) {
      counters.observeMss(rule, result.oldMss, result.newMss);
    }
  }

  private keepOptions(bytes: Uint8Array, info: PacketInfo): void {
    const from = info.l4Offset + TCP_MIN_HEADER_LENGTH;
    const n = info.tcpHeaderLength - TCP_MIN_HEADER_LENGTH;
    const kept = this.optionsBefore;
    for (let k = 0; k < n; k++) kept[k] = bytes[from + k]!;
    this.optionsBeforeLength = n;
  }

  /** One info line per injected fault: enough to find the packet in a capture (flow, option bytes
   * before and after as hex) and the rule that did it. */
  private logFault(rule: number, outcome: number, bytes: Uint8Array, info: PacketInfo): void {
    const result = this.result;
    const rules = this.rules;
    const from = info.l4Offset + TCP_MIN_HEADER_LENGTH;
    this.log.info('fault injected', {
      event: 'fault',
      rule: rules.names[rule],
      mode: rules.actionNames[rule],
      outcome: outcomeNames[outcome],
      dryRun: rules.dryRun[rule] === 1,
      family: info.family,
      flow: flowText(bytes, info),
      direction: info.direction === Direction.SynAck ? 'synack' : 'syn',
      oldMss: result.oldMss,
      newMss: result.newMss,
      optionsBefore: Buffer.from(this.optionsBefore.buffer, 0, this.optionsBeforeLength).toString('hex'),
      optionsAfter: Buffer.from(bytes.buffer, bytes.byteOffset + from, info.tcpHeaderLength - TCP_MIN_HEADER_LENGTH).toString('hex'),
    });
  }

  /**
   * The path MTU for clamp-to-pmtu; the configured floor (as an MTU) when nothing is known. Input
   * interface and mark go along: a forwarded packet's route depends on them (policy routing).
   */
  private pathMtu(bytes: Uint8Array, info: PacketInfo, table: Uint32Array, row: number, outIfIndex: number): number {
    const counters = this.counters;
    const pmtu = this.pmtu;
    const isIpv4 = info.family === 4;
    counters.countPmtuLookup();
    const linkFallbacks = pmtu.linkFallbacks;
    const budgetFallbacks = pmtu.budgetFallbacks;
    const mtu = pmtu.lookup(
      isIpv4 ? 4 : 6,
      bytes,
      info.dstAddrOffset,
      info.srcAddrOffset,
      table[row + Row.indev]!,
      outIfIndex,
      table[row + Row.mark]!,
    );
    if (pmtu.linkFallbacks !== linkFallbacks) counters.countPmtuFallback(PmtuFallback.InterfaceMtu);
    if (pmtu.budgetFallbacks !== budgetFallbacks) counters.countPmtuFallback(PmtuFallback.LookupBudget);
    if (mtu > 0) return mtu;
    counters.countPmtuLookupFailure();
    counters.countPmtuFallback(PmtuFallback.Floor);
    return isIpv4 ? this.floor.ipv4 + IPV4_CLAMP_OVERHEAD : this.floor.ipv6 + IPV6_CLAMP_OVERHEAD;
  }

  private logChange(rule: number, outcome: number, bytes: Uint8Array, info: PacketInfo): void {
    const result = this.result;
    this.log.debug('mss rewritten', {
      rule: this.rules.names[rule],
      outcome: outcomeNames[outcome],
      dryRun: this.rules.dryRun[rule] === 1,
      family: info.family,
      flow: flowText(bytes, info),
      oldMss: result.oldMss,
      newMss: result.newMss,
    });
  }
}

/** "src.port > dst.port" for logs (debug only: allocates). */
export function flowText(bytes: Uint8Array, info: PacketInfo): string {
  return `${addressText(bytes, info.srcAddrOffset, info.addrLength)}.${info.srcPort} > ${addressText(bytes, info.dstAddrOffset, info.addrLength)}.${info.dstPort}`;
}

function addressText(bytes: Uint8Array, at: number, length: number): string {
  if (length === 4) return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[at + i]! << 8) | bytes[at + i + 1]!);
  // RFC 5952: the longest run of two or more zero groups (the first of equals) becomes "::".
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}
