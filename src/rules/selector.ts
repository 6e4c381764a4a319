// Per-rule selection for fault injection (config `select:`, README "Fault injection"): which of the
// packets a rule matches it acts on. Flat typed arrays indexed by rule, built once per configuration,
// so a reload starts every counter, random sequence and time window afresh. select() runs per matched
// packet: no allocation, no exception, no syscall (the caller reads the clock once per batch).
import type { PacketInfo } from '../packet/packet-info.js';
import type { Rule } from '../config/config.js';

/** 2^32: a probability p becomes the threshold p * 2^32 for a uniform 32-bit number. */
const U32_RANGE = 0x100000000;
/** The golden-ratio increment of a Weyl sequence (2^32 / phi, odd). */
const GOLDEN = 0x9e3779b9;

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

export class Selector {
  /** Any rule with a time window: the caller then reads the clock once per batch. */
  readonly timed: boolean;
  /** Clock value (Date.now(), ms) the windows count from: start or reload. */
  readonly epoch: number;
  private readonly threshold: Float64Array;
  private readonly perFlow: Uint8Array;
  /** Seeds as int32 (see fmix32 on why signed). */
  private readonly seed: Int32Array;
  /** Weyl-sequence state of each rule's generator. */
  private readonly state: Int32Array;
  private readonly every: Float64Array;
  private readonly matches: Float64Array;
  private readonly maxPackets: Float64Array;
  private readonly selected: Float64Array;
  private readonly fromMs: Float64Array;
  private readonly untilMs: Float64Array;

  constructor(rules: readonly Rule[], epoch: number) {
    this.epoch = epoch;
    const sel = rules.map((r) => r.select ?? null);
    this.timed = sel.some((s) => s !== null && (s.after > 0 || s.for !== null));
    this.threshold = Float64Array.from(sel, (s) => (s?.probability == null ? U32_RANGE : s.probability * U32_RANGE));
    this.perFlow = Uint8Array.from(sel, (s) => (s?.perFlow === true ? 1 : 0));
    this.seed = Int32Array.from(sel, (s) => (s?.seed ?? 0) | 0);
    this.state = Int32Array.from(sel, (s) => (s?.seed ?? 0) | 0);
    this.every = Float64Array.from(sel, (s) => s?.every ?? 1);
    this.matches = new Float64Array(rules.length);
    this.maxPackets = Float64Array.from(sel, (s) => s?.maxPackets ?? Infinity);
    this.selected = new Float64Array(rules.length);
    this.fromMs = Float64Array.from(sel, (s) => (s === null ? 0 : s.after * 1000));
    this.untilMs = Float64Array.from(sel, (s) => (s === null || s.for === null ? Infinity : (s.after + s.for) * 1000));
  }

  /** The next number of rule r's generator: 32 uniform bits, as a signed int32. */
  next(r: number): number {
    const s = (this.state[r]! + GOLDEN) | 0;
    this.state[r] = s;
    return fmix32(s);
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
    const n = ++this.matches[r]!;
    if (n % this.every[r]! !== 0) return false;
    const threshold = this.threshold[r]!;
    if (threshold < U32_RANGE) {
      const x = this.perFlow[r] === 1 ? flowHash(bytes, info, this.seed[r]!) : this.next(r);
      if (x >>> 0 >= threshold) return false;
    }
    if (this.selected[r]! >= this.maxPackets[r]!) return false;
    this.selected[r]!++;
    return true;
  }
}
