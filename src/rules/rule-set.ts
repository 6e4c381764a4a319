// The configured rules compiled into flat typed arrays, and the matcher that walks them. Built once per
// configuration (start and reload); match() runs per packet and allocates nothing, throws nothing and
// makes no syscall: it reads the address and port bytes in place, where parsePacket located them.
import { ActionMode, InsertMode, type MssAction } from '../packet/action.js';
import { Direction, type DirectionMask } from '../packet/direction.js';
import type { PacketInfo } from '../packet/packet-info.js';
import {
  FAULT_ACTIONS,
  type ActionChoice,
  type Config,
  type DirectionChoice,
  type FamilyChoice,
  type PortRange,
  type Prefix,
  type Rule,
} from '../config/config.js';
import { Selector, type SelectionMemory } from './selector.js';

/** inIfIndex/outIfIndex table values besides a real ifindex (> 0). */
export const IFINDEX_ANY = -1;
/** The rule names an interface that does not exist (yet): the rule matches nothing until it does. */
export const IFINDEX_MISSING = -2;

const FAMILY_BIT_4 = 1;
const FAMILY_BIT_6 = 2;
/** Prefix bytes are stored in 16-byte slots so IPv4 and IPv6 share one table. */
const PREFIX_SLOT = 16;

export class RuleSet {
  readonly count: number;
  readonly rules: readonly Rule[];
  /** Indexed by rule: what to do to the MSS. */
  readonly actions: readonly MssAction[];
  /** Indexed by rule: 1 when the rule (or the whole config) is a dry run. */
  readonly dryRun: Uint8Array;
  readonly names: readonly string[];
  /** Indexed by rule: the config's action name (the `action` metric label, the fault log's mode). */
  readonly actionNames: readonly ActionChoice[];
  /** Indexed by rule: 1 for a fault action (oversize, strip, zero, duplicate): logged at info. */
  readonly faults: Uint8Array;
  /** Whether any rule clamps to the path MTU: only then does a batch need the route cache's clock. */
  readonly clampsToPmtu: boolean;
  /** Indexed by rule: 1 when the rule has `select:`; the handler then asks `selector`. */
  readonly selective: Uint8Array;
  readonly selector: Selector;
  /** Indexed by rule: the interface names, for resolveInterfaces. */
  readonly inInterfaceNames: readonly (string | null)[];
  readonly outInterfaceNames: readonly (string | null)[];
  /** Indexed by rule: IFINDEX_ANY, IFINDEX_MISSING or an ifindex. Updated in place by resolveInterfaces. */
  readonly inIfIndex: Int32Array;
  readonly outIfIndex: Int32Array;

  private readonly familyBits: Uint8Array;
  private readonly directions: Uint8Array;
  private readonly hasMark: Uint8Array;
  private readonly markValue: Int32Array;
  private readonly markMask: Int32Array;
  /** Per rule, [start, end) into the prefix table, for source and destination. */
  private readonly srcStart: Uint32Array;
  private readonly srcEnd: Uint32Array;
  private readonly dstStart: Uint32Array;
  private readonly dstEnd: Uint32Array;
  private readonly prefixFamily: Uint8Array;
  private readonly prefixLength: Uint8Array;
  private readonly prefixBytes: Uint8Array;
  /** Per rule, [start, end) into the port table. */
  private readonly sportStart: Uint32Array;
  private readonly sportEnd: Uint32Array;
  private readonly dportStart: Uint32Array;
  private readonly dportEnd: Uint32Array;
  private readonly portFrom: Uint16Array;
  private readonly portTo: Uint16Array;

  /** `now`: the clock (Date.now(), ms) selection windows count from: start or reload. */
  constructor(config: Config, now = 0, selection?: SelectionMemory) {
    const rules = config.rules;
    const n = rules.length;
    this.count = n;
    this.rules = rules;
    this.names = rules.map((r) => r.name);
    this.actions = Object.freeze(rules.map(compileAction));
    this.clampsToPmtu = this.actions.some((a) => a.mode === ActionMode.ClampToPmtu);
    this.actionNames = rules.map((r) => r.action);
    this.faults = Uint8Array.from(rules, (r) => (FAULT_ACTIONS.includes(r.action) ? 1 : 0));
    this.selective = Uint8Array.from(rules, (r) => (r.select === null ? 0 : 1));
    this.selector = new Selector(rules, now, selection);
    this.dryRun = Uint8Array.from(rules, (r) => (r.dryRun || config.dryRun ? 1 : 0));
    this.inInterfaceNames = rules.map((r) => r.match.inInterface);
    this.outInterfaceNames = rules.map((r) => r.match.outInterface);
    this.inIfIndex = Int32Array.from(rules, (r) => (r.match.inInterface === null ? IFINDEX_ANY : IFINDEX_MISSING));
    this.outIfIndex = Int32Array.from(rules, (r) => (r.match.outInterface === null ? IFINDEX_ANY : IFINDEX_MISSING));
    this.familyBits = Uint8Array.from(rules, (r) => familyBits(r.match.family));
    this.directions = Uint8Array.from(rules, (r) => directionMask(r.match.direction));
    this.hasMark = Uint8Array.from(rules, (r) => (r.match.mark === null ? 0 : 1));
    this.markValue = Int32Array.from(rules, (r) => (r.match.mark === null ? 0 : r.match.mark.value | 0));
    this.markMask = Int32Array.from(rules, (r) => (r.match.mark === null ? 0 : r.match.mark.mask | 0));

    const prefixes: Prefix[] = [];
    const ranges = (list: readonly Prefix[]): [number, number] => {
      const start = prefixes.length;
      prefixes.push(...list);
      return [start, prefixes.length];
    };
    this.srcStart = new Uint32Array(n);
    this.srcEnd = new Uint32Array(n);
    this.dstStart = new Uint32Array(n);
    this.dstEnd = new Uint32Array(n);
    rules.forEach((r, i) => {
      [this.srcStart[i], this.srcEnd[i]] = ranges(r.match.source);
      [this.dstStart[i], this.dstEnd[i]] = ranges(r.match.destination);
    });
    this.prefixFamily = Uint8Array.from(prefixes, (p) => p.family);
    this.prefixLength = Uint8Array.from(prefixes, (p) => p.length);
    this.prefixBytes = new Uint8Array(prefixes.length * PREFIX_SLOT);
    prefixes.forEach((p, e) => this.prefixBytes.set(p.bytes, e * PREFIX_SLOT));

    const ports: PortRange[] = [];
    const portRanges = (list: readonly PortRange[]): [number, number] => {
      const start = ports.length;
      ports.push(...list);
      return [start, ports.length];
    };
    this.sportStart = new Uint32Array(n);
    this.sportEnd = new Uint32Array(n);
    this.dportStart = new Uint32Array(n);
    this.dportEnd = new Uint32Array(n);
    rules.forEach((r, i) => {
      [this.sportStart[i], this.sportEnd[i]] = portRanges(r.match.sourcePort);
      [this.dportStart[i], this.dportEnd[i]] = portRanges(r.match.destinationPort);
    });
    this.portFrom = Uint16Array.from(ports, (p) => p.from);
    this.portTo = Uint16Array.from(ports, (p) => p.to);
  }

  /**
   * The index of the first rule that selects this packet, or -1 (accept unchanged).
   * Precondition: parsePacket filled `info` for the packet in `bytes` (family, direction, ports and
   * address offsets). inIfIndex/outIfIndex are the queue's indev/outdev (0 when there is none), mark the
   * packet's firewall mark as the queue reports it.
   */
  match(bytes: Uint8Array, info: PacketInfo, inIfIndex: number, outIfIndex: number, mark: number): number {
    const familyBit = info.family === 4 ? FAMILY_BIT_4 : info.family === 6 ? FAMILY_BIT_6 : 0;
    for (let r = 0; r < this.count; r++) {
      if ((this.familyBits[r]! & familyBit) === 0) continue;
      if ((this.directions[r]! & info.direction) === 0) continue;
      const wantIn = this.inIfIndex[r]!;
      if (wantIn !== IFINDEX_ANY && wantIn !== inIfIndex) continue;
      const wantOut = this.outIfIndex[r]!;
      if (wantOut !== IFINDEX_ANY && wantOut !== outIfIndex) continue;
      if (this.hasMark[r] === 1 && (mark & this.markMask[r]!) !== this.markValue[r]) continue;
      if (!this.portIn(info.srcPort, this.sportStart[r]!, this.sportEnd[r]!)) continue;
      if (!this.portIn(info.dstPort, this.dportStart[r]!, this.dportEnd[r]!)) continue;
      if (!this.addressIn(bytes, info.srcAddrOffset, info.family, this.srcStart[r]!, this.srcEnd[r]!)) continue;
      if (!this.addressIn(bytes, info.dstAddrOffset, info.family, this.dstStart[r]!, this.dstEnd[r]!)) continue;
      return r;
    }
    return -1;
  }

  /** An empty list matches any port. */
  private portIn(port: number, start: number, end: number): boolean {
    if (start === end) return true;
    for (let e = start; e < end; e++) {
      if (port >= this.portFrom[e]! && port <= this.portTo[e]!) return true;
    }
    return false;
  }

  /** An empty list matches any address. */
  private addressIn(bytes: Uint8Array, offset: number, family: number, start: number, end: number): boolean {
    if (start === end) return true;
    for (let e = start; e < end; e++) {
      if (this.prefixFamily[e] !== family) continue;
      const length = this.prefixLength[e]!;
      const base = e * PREFIX_SLOT;
      const whole = length >>> 3;
      let i = 0;
      while (i < whole && bytes[offset + i] === this.prefixBytes[base + i]) i++;
      if (i < whole) continue;
      const rest = length & 7;
      if (rest !== 0 && (bytes[offset + whole]! & ((0xff00 >>> rest) & 0xff)) !== this.prefixBytes[base + whole]) continue;
      return true;
    }
    return false;
  }
}

/**
 * `now`: when selection windows start. `selection`: the selection state shared with the other queue
 * workers of the same configuration (fresh when absent).
 */
export function compileRules(config: Config, now = Date.now(), selection?: SelectionMemory): RuleSet {
  return new RuleSet(config, now, selection);
}

function familyBits(family: FamilyChoice): number {
  return family === 4 ? FAMILY_BIT_4 : family === 6 ? FAMILY_BIT_6 : FAMILY_BIT_4 | FAMILY_BIT_6;
}

export function directionMask(direction: DirectionChoice): DirectionMask {
  return direction === 'syn' ? Direction.Syn : direction === 'synack' ? Direction.SynAck : Direction.Both;
}

/** The packet core's view of a rule. Directions repeat the match so rewriteMss agrees with the matcher. */
export function compileAction(rule: Rule): MssAction {
  return Object.freeze({
    mode: actionMode(rule.action),
    mss: rule.mss,
    // oversize is set with allowIncrease (the config layer forces it on; this keeps it so for any Rule).
    allowIncrease: rule.allowIncrease || rule.action === 'oversize',
    directions: directionMask(rule.match.direction),
    insertMode: rule.insert === false ? InsertMode.Off : rule.insert === true ? InsertMode.Kernel : InsertMode.Value,
    insertMss: typeof rule.insert === 'number' ? rule.insert : 0,
  });
}

function actionMode(action: ActionChoice): MssAction['mode'] {
  switch (action) {
    case 'set':
    case 'oversize':
      return ActionMode.Set;
    case 'clamp-to-pmtu':
      return ActionMode.ClampToPmtu;
    case 'strip':
      return ActionMode.Strip;
    case 'zero':
      return ActionMode.Zero;
    case 'duplicate':
      return ActionMode.Duplicate;
  }
}
