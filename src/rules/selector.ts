// Per-rule selection for fault injection (config `select:`, README "Fault injection"): which of the
// packets a rule matches it acts on. Flat typed arrays indexed by rule, built once per configuration,
// so a reload starts every counter, random sequence and time window afresh. select() runs per matched
// packet: no allocation, no exception, no syscall (the caller reads the clock once per batch).
//
// With several queue workers, `every`, `maxPackets` and the random sequence mean what they mean with
// one queue: their state (SelectionMemory) is shared memory that every worker's Selector updates with
// Atomics, lock-free (a worker that dies mid-update cannot wedge the others). Windows count from one
// epoch the supervisor hands out; per-flow choices hash only the flow, never the queue.
import type { PacketInfo } from '../packet/packet-info.js';
import type { Rule } from '../config/config.js';

/** 2^32: a probability p becomes the threshold p * 2^32 for a uniform 32-bit number. */
const U32_RANGE = 0x100000000;
/** The golden-ratio increment of a Weyl sequence (2^32 / phi, odd). */
const GOLDEN = 0x9e3779b9;
/** The same step as an int32: Atomics.add with an argument above 2^31 (a heap number) allocated per call. */
const GOLDEN_I32 = GOLDEN | 0;

/** MurmurHash3's 32-bit finalizer (fmix32): every input bit flips each output bit with probability
 * about 1/2. Over a Weyl sequence it is a small, fast, seedable generator; over packet words a hash.
 *
 * Every 32-bit value here is kept as a SIGNED int32 (`| 0`) between functions: V8 keeps those as
 * small integers, while an unsigned value of 2^31 or more, passed or returned, is boxed in a heap
 * number (an allocation per packet). `>>> 0` only where a value is compared, never passed on. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function endpointHash(bytes: Uint8Array, at: number, length: number, port: number, seed: number): number {
  let h = seed ^ port;
  for (let i = 0; i < length; i += 4) {
    const word = (bytes[at + i]! << 24) | (bytes[at + i + 1]! << 16) | (bytes[at + i + 2]! << 8) | bytes[at + i + 3]!;
    h = fmix32(((h ^ word) + GOLDEN) | 0);
  }
  return h;
}

/**
 * A 32-bit hash of the flow (addresses and ports, read in place) under `seed` (an int32), as a signed
 * int32 (`>>> 0` for the unsigned value). Symmetric: a SYN and its SYN/ACK, and every retransmission
 * of either, hash alike, so a flow gets one treatment.
 */
export function flowHash(bytes: Uint8Array, info: PacketInfo, seed: number): number {
  const a = endpointHash(bytes, info.srcAddrOffset, info.addrLength, info.srcPort, seed);
  const b = endpointHash(bytes, info.dstAddrOffset, info.addrLength, info.dstPort, seed);
  // Addition commutes: the order of the endpoints does not matter.
  return fmix32(((a + b) | 0) ^ seed);
}

/**
 * A selection cap above this acts as this: the count is a signed 32-bit word, which Atomics can keep
 * and V8 keeps unboxed (an unsigned one above 2^31 would be a heap number: an allocation per packet).
 */
export const MAX_PACKETS_CAP = 0x7fffffff;

/**
 * The state of the rules' selections that several threads share (posted as is: typed arrays over a
 * SharedArrayBuffer arrive as views of the same memory). Made once per compiled configuration.
 */
export interface SelectionMemory {
  /** Weyl-sequence state of each rule's generator (int32). */
  readonly state: Int32Array;
  /** Matches since the last selected one, per rule: 0..every-1 (int32; see MAX_PACKETS_CAP on why signed). */
  readonly sinceEvery: Int32Array;
  /** Packets selected so far, per rule (stops at the cap). */
  readonly selected: Int32Array;
}

export function selectionMemory(rules: readonly Rule[]): SelectionMemory {
  const n = rules.length;
  const state = new Int32Array(new SharedArrayBuffer(4 * n));
  rules.forEach((r, i) => (state[i] = (r.select?.seed ?? 0) | 0));
  return { state, sinceEvery: new Int32Array(new SharedArrayBuffer(4 * n)), selected: new Int32Array(new SharedArrayBuffer(4 * n)) };
}

export class Selector {
  /** Any rule with a time window: the caller then reads the clock once per batch. */
  readonly timed: boolean;
  /** Clock value (Date.now(), ms) the windows count from: start or reload. */
  readonly epoch: number;
  private readonly threshold: Float64Array;
  private readonly perFlow: Uint8Array;
  /** Seeds as int32 (see fmix32 on why signed). */
  private readonly seed: Int32Array;
  /** Shared with the other workers' Selectors of the same configuration. */
  readonly memory: SelectionMemory;
  private readonly state: Int32Array;
  private readonly every: Float64Array;
  private readonly sinceEvery: Int32Array;
  private readonly maxPackets: Float64Array;
  private readonly selected: Int32Array;
  private readonly fromMs: Float64Array;
  private readonly untilMs: Float64Array;

  constructor(rules: readonly Rule[], epoch: number, memory: SelectionMemory = selectionMemory(rules)) {
    this.epoch = epoch;
    const sel = rules.map((r) => r.select ?? null);
    this.timed = sel.some((s) => s !== null && (s.after > 0 || s.for !== null));
    this.threshold = Float64Array.from(sel, (s) => (s?.probability == null ? U32_RANGE : s.probability * U32_RANGE));
    this.perFlow = Uint8Array.from(sel, (s) => (s?.perFlow === true ? 1 : 0));
    this.seed = Int32Array.from(sel, (s) => (s?.seed ?? 0) | 0);
    this.memory = memory;
    this.state = memory.state;
    this.every = Float64Array.from(sel, (s) => s?.every ?? 1);
    this.sinceEvery = memory.sinceEvery;
    this.maxPackets = Float64Array.from(sel, (s) => (s?.maxPackets == null ? Infinity : Math.min(s.maxPackets, MAX_PACKETS_CAP)));
    this.selected = memory.selected;
    this.fromMs = Float64Array.from(sel, (s) => (s === null ? 0 : s.after * 1000));
    this.untilMs = Float64Array.from(sel, (s) => (s === null || s.for === null ? Infinity : (s.after + s.for) * 1000));
  }

  /** The next number of rule r's generator: 32 uniform bits, as a signed int32. */
  next(r: number): number {
    // Atomics.add returns the previous state: every thread takes the next step of one sequence.
    const s = (Atomics.add(this.state, r, GOLDEN_I32) + GOLDEN_I32) | 0;
    return fmix32(s);
  }

  /** Counts a match towards `every`; true for every Nth one (the Nth, 2Nth, ...), across threads. */
  private everyNth(r: number): boolean {
    const every = this.every[r]!;
    if (every === 1) return true;
    const since = this.sinceEvery;
    for (;;) {
      const old = Atomics.load(since, r);
      // every is at most 2^32 - 1: past 2^31 the count wraps into negative int32s, compared unsigned.
      const next = (old + 1) >>> 0 === every ? 0 : (old + 1) | 0;
      if (Atomics.compareExchange(since, r, old, next) === old) return next === 0;
    }
  }

  /** Takes one of the cap's packets; false once the cap is spent, across threads. */
  private underCap(r: number): boolean {
    const cap = this.maxPackets[r]!;
    if (cap === Infinity) return true;
    const selected = this.selected;
    for (;;) {
      const old = Atomics.load(selected, r);
      if (old >= cap) return false;
      if (Atomics.compareExchange(selected, r, old, old + 1) === old) return true;
    }
  }

  /**
   * Whether rule r acts on this packet, which it matched. `now` is the clock (ms, Date.now())
   * when `timed`, else ignored. In order: the window, every Nth match (counted inside the window), the
   * coin (per packet, or per flow), the cap. Only a selected packet counts towards maxPackets.
   */
  select(r: number, bytes: Uint8Array, info: PacketInfo, now: number): boolean {
    if (this.timed) {
      const t = now - this.epoch;
      if (t < this.fromMs[r]! || t >= this.untilMs[r]!) return false;
    }
    if (!this.everyNth(r)) return false;
    const threshold = this.threshold[r]!;
    if (threshold < U32_RANGE) {
      const x = this.perFlow[r] === 1 ? flowHash(bytes, info, this.seed[r]!) : this.next(r);
      if (x >>> 0 >= threshold) return false;
    }
    return this.underCap(r);
  }
}
