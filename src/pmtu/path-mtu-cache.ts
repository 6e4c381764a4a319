// The path MTU that clamp-to-pmtu clamps to, as the kernel's TCPMSS target computes it
// (net/netfilter/xt_TCPMSS.c, tcpmss_mangle_packet): the smaller of the MTU of the route the packet
// takes (dst_mtu of its route: PMTU exception, route `mtu` metric, or device MTU) and of the route
// back to its source (tcpmss_reverse_mtu). The caller subtracts the fixed headers.
//
// The packet's own route depends on more than its destination: a forwarded packet was routed by the
// input lookup (source, input interface, mark), so policy routing (`ip rule from/iif/fwmark`) picks
// its table. Answers are therefore cached per (family, destination, source, input interface, output
// interface, mark), each holding both directions, so a hit is one probe. The route back is asked as
// tcpmss_reverse_mtu asks it (destination = the packet's source, nothing else) and also cached per
// address, so a new destination from a known source costs one request.
//
// Answers live in fixed typed arrays with open addressing: a hit reads a few array slots and
// allocates nothing. The clock is read once per batch (beginBatch), not per packet: it costs more
// than a hit. An entry dies when the kernel announces a route, rule or link change (the generation
// word moves; adopted at most once per coalesceMs, so routing-protocol churn does not empty the cache
// on every batch) or when its time is up: PMTU exceptions learned from ICMP are not announced, so no
// answer lives longer than ttlMs.
//
// A miss blocks the event loop for one or two rtnetlink round trips (~10-20 us each). A SYN flood
// from many sources misses on every packet, so a batch asks the kernel at most lookupBudget times;
// past that, lookups are answered from what is known without asking (the output interface's MTU,
// and the input interface's as the way back) and counted as budget fallbacks.
import { GenerationIndex } from '../native/contract.js';
import type { RouteMtuSource } from './route-mtu.js';

export interface PathMtuCacheOptions {
  /** Entries; a power of two. Default 4096. */
  slots?: number;
  /** Longest life of an answer (ms). Default 5000. */
  ttlMs?: number;
  /** Clock in ms, read by beginBatch(); default performance.now. */
  now?: () => number;
  /** Route requests one batch may send to the kernel; default 32. */
  lookupBudget?: number;
  /** A route, rule or link change empties the cache at most once per this many ms; default 100. */
  coalesceMs?: number;
}

/** How an entry's MTU was found. */
const Source = {
  Empty: 0,
  /** The route's MTU (exception, metric or output device). */
  Route: 1,
  /** No route MTU: the output interface's MTU. */
  Link: 2,
  /** Neither: unknown. */
  None: 3,
  /** Not asked (lookup budget spent): the output interface's MTU, never stored. */
  Budget: 4,
} as const;

// Slots looked at for one key before the oldest of them is replaced.
const MaxProbe = 8;
// Key words per entry: destination then source, an IPv6 address each; IPv4 uses the first of each four.
const KeyWords = 8;
// The route back to a source is keyed apart from forward routes.
const ReverseTag = 0x10;
// Link MTUs by interface index (index & LinkMask), tagged with the index and generation.
const LinkSlots = 64;
const LinkMask = LinkSlots - 1;
/** srcOffset for a lookup with no source: the route back to an address. */
const NoSource = -1;

export class PathMtuCache {
  /** lookup() calls. */
  lookups = 0;
  /** Lookups answered from the cache alone. */
  hits = 0;
  /** Lookups that asked the kernel (one or two route requests). */
  misses = 0;
  /** Route requests sent to the kernel. */
  requests = 0;
  /** Lookups with no MTU for the route towards the destination (answered by a fallback or 0). */
  failures = 0;
  /** Failures answered with the output interface's MTU. */
  linkFallbacks = 0;
  /** Lookups answered 0: the caller uses its configured floor. */
  unknown = 0;
  /** Lookups whose route back to the source had no MTU: ignored, as the kernel does. */
  reverseUnknown = 0;
  /** Lookups not asked of the kernel because the batch's lookup budget was spent ('lookup-budget'). */
  budgetFallbacks = 0;
  /** Times the cache was emptied because routes, rules or links changed. */
  generations = 0;

  private readonly source: RouteMtuSource;
  private readonly state: Uint32Array;
  private readonly mask: number;
  private readonly ttlMs: number;
  private readonly clock: () => number;
  private readonly lookupBudget: number;
  private readonly coalesceMs: number;
  private readonly keys: Uint32Array;
  private readonly tag: Uint8Array;
  private readonly inIf: Uint32Array;
  private readonly outIf: Uint32Array;
  private readonly mark: Uint32Array;
  private readonly kind: Uint8Array;
  private readonly mtu: Uint32Array;
  /** Forward entries: the MTU of the route back to the source (0: unknown). */
  private readonly back: Uint32Array;
  private readonly generation: Uint32Array;
  private readonly expires: Float64Array;
  private readonly linkIndex = new Uint32Array(LinkSlots);
  private readonly linkMtu = new Uint32Array(LinkSlots);
  private readonly linkGeneration = new Uint32Array(LinkSlots);

  // Per batch (beginBatch): the time, the requests left, the generation entries must carry.
  private nowMs: number;
  private budgetLeft: number;
  private gen = 1;
  private seenRaw: number;
  private adoptedAt = -Infinity;

  constructor(source: RouteMtuSource, options: PathMtuCacheOptions = {}) {
    const slots = options.slots ?? 4096;
    if (!Number.isInteger(slots) || slots < MaxProbe || slots > 1 << 20 || (slots & (slots - 1)) !== 0) {
      throw new RangeError(`slots must be a power of two from ${MaxProbe} to ${1 << 20}, not ${slots}`);
    }
    const ttlMs = options.ttlMs ?? 5000;
    if (!(ttlMs >= 0 && ttlMs <= 3_600_000)) throw new RangeError(`ttlMs must be from 0 to 3600000, not ${ttlMs}`);
    const lookupBudget = options.lookupBudget ?? 32;
    if (!Number.isInteger(lookupBudget) || lookupBudget < 0 || lookupBudget > 100_000) {
      throw new RangeError(`lookupBudget must be an integer from 0 to 100000, not ${lookupBudget}`);
    }
    const coalesceMs = options.coalesceMs ?? 100;
    if (!(coalesceMs >= 0 && coalesceMs <= 60_000)) throw new RangeError(`coalesceMs must be from 0 to 60000, not ${coalesceMs}`);
    this.source = source;
    this.state = source.state;
    this.mask = slots - 1;
    this.ttlMs = ttlMs;
    this.clock = options.now ?? (() => performance.now());
    this.lookupBudget = lookupBudget;
    this.coalesceMs = coalesceMs;
    this.keys = new Uint32Array(slots * KeyWords);
    this.tag = new Uint8Array(slots);
    this.inIf = new Uint32Array(slots);
    this.outIf = new Uint32Array(slots);
    this.mark = new Uint32Array(slots);
    this.kind = new Uint8Array(slots);
    this.mtu = new Uint32Array(slots);
    this.back = new Uint32Array(slots);
    this.generation = new Uint32Array(slots);
    this.expires = new Float64Array(slots);
    this.nowMs = this.clock();
    this.budgetLeft = lookupBudget;
    this.seenRaw = this.state[GenerationIndex]!;
  }

  /**
   * Once per batch, before its lookups: reads the clock (or takes now, in ms), refills the lookup
   * budget and adopts a new generation if routes, rules or links changed and the last one was adopted
   * at least coalesceMs ago. lookup() uses this time until the next call.
   */
  beginBatch(now: number = this.clock()): void {
    this.nowMs = now;
    this.budgetLeft = this.lookupBudget;
    const raw = this.state[GenerationIndex]!;
    // now < adoptedAt: a clock that went back (a test's); adopt rather than wait.
    if (raw !== this.seenRaw && (now - this.adoptedAt >= this.coalesceMs || now < this.adoptedAt)) {
      this.seenRaw = raw;
      this.gen = (this.gen + 1) >>> 0 || 1;
      this.adoptedAt = now;
      this.generations++;
    }
  }

  /**
   * The path MTU for a packet whose destination address is at bytes[dstOffset..] and source address
   * at bytes[srcOffset..] (4 or 16 bytes by family), that came in through interface inIfIndex (0 when
   * locally sent) and leaves through outIfIndex (0 if unknown), with firewall mark `mark`; 0 when
   * unknown. The offsets must be inside bytes (the packet parser promises it). Call beginBatch()
   * first in every batch.
   */
  lookup(
    family: 4 | 6,
    bytes: Uint8Array,
    dstOffset: number,
    srcOffset: number,
    inIfIndex: number,
    outIfIndex: number,
    mark: number,
  ): number {
    this.lookups++;
    // A forward entry holds the whole answer (both directions): a hit is one probe.
    const slot = this.find(family, bytes, dstOffset, srcOffset, inIfIndex, outIfIndex, mark);
    if (slot >= 0) {
      this.hits++;
      return this.answer(this.kind[slot]!, this.mtu[slot]!, this.back[slot]!, false);
    }
    return this.miss(~slot, family, bytes, dstOffset, srcOffset, inIfIndex, outIfIndex, mark);
  }

  // Not cached: ask the kernel while the batch's budget lasts, else answer from interface MTUs.
  private miss(
    slot: number,
    family: 4 | 6,
    bytes: Uint8Array,
    dstOffset: number,
    srcOffset: number,
    inIfIndex: number,
    outIfIndex: number,
    mark: number,
  ): number {
    const gen = this.gen;
    const now = this.nowMs;
    let spent = false;
    let forwardKind: number;
    let forward: number;
    if (this.budgetLeft > 0) {
      this.budgetLeft--;
      this.requests++;
      forward = this.source.route(family, bytes, dstOffset, srcOffset, inIfIndex, outIfIndex, mark);
      forwardKind = Source.Route;
      if (forward === 0) {
        forward = this.interfaceMtu(outIfIndex, gen);
        forwardKind = forward === 0 ? Source.None : Source.Link;
      }
    } else {
      spent = true;
      forward = this.interfaceMtu(outIfIndex, gen);
      forwardKind = forward === 0 ? Source.None : Source.Budget;
    }

    // The route back, cached per address: one source towards many destinations asks for it once.
    let reverse: number;
    let reverseExpires = now + this.ttlMs;
    const r = this.find(family | ReverseTag, bytes, srcOffset, NoSource, 0, 0, 0);
    if (r >= 0) {
      reverse = this.mtu[r]!;
      reverseExpires = this.expires[r]!;
    } else if (this.budgetLeft > 0) {
      this.budgetLeft--;
      this.requests++;
      reverse = this.source.route(family, bytes, srcOffset, NoSource, 0, 0, 0);
      this.fill(
        ~r,
        family | ReverseTag,
        bytes,
        srcOffset,
        NoSource,
        0,
        0,
        0,
        reverse === 0 ? Source.None : Source.Route,
        reverse,
        0,
        reverseExpires,
      );
    } else {
      // The way back from a forwarded packet's sender is usually through the interface it came in by.
      spent = true;
      reverse = inIfIndex === 0 ? 0 : this.interfaceMtu(inIfIndex, gen);
    }

    if (spent) {
      // Estimates, not stored: the next batch asks.
      this.budgetFallbacks++;
      return this.answer(forwardKind, forward, reverse, true);
    }
    this.misses++;
    // Dies with whichever direction expires first.
    this.fill(
      slot,
      family,
      bytes,
      dstOffset,
      srcOffset,
      inIfIndex,
      outIfIndex,
      mark,
      forwardKind,
      forward,
      reverse,
      reverseExpires < now + this.ttlMs ? reverseExpires : now + this.ttlMs,
    );
    return this.answer(forwardKind, forward, reverse, false);
  }

  // The smaller of both directions, counting how it was found.
  private answer(forwardKind: number, forward: number, reverse: number, estimated: boolean): number {
    if (reverse === 0 && !estimated) this.reverseUnknown++;
    if (forwardKind === Source.None) {
      this.failures++;
      this.unknown++;
      return 0;
    }
    if (forwardKind === Source.Link) {
      this.failures++;
      this.linkFallbacks++;
    }
    return reverse !== 0 && reverse < forward ? reverse : forward;
  }

  /** Forgets every answer. */
  clear(): void {
    this.kind.fill(Source.Empty);
    this.linkIndex.fill(0);
  }

  /** Entries in use (for tests and debugging; scans the table). */
  get size(): number {
    let n = 0;
    for (let i = 0; i <= this.mask; i++) if (this.kind[i] !== Source.Empty) n++;
    return n;
  }

  // The MTU of interface ifindex (0 when unknown), kept per generation. RouteMtu caches it too, so
  // asking costs a kernel request only the first time after a link change.
  private interfaceMtu(ifindex: number, gen: number): number {
    if (ifindex === 0) return 0;
    const s = ifindex & LinkMask;
    if (this.linkIndex[s] === ifindex && this.linkGeneration[s] === gen) return this.linkMtu[s]!;
    const mtu = this.source.linkMtu(ifindex);
    this.linkIndex[s] = ifindex;
    this.linkMtu[s] = mtu;
    this.linkGeneration[s] = gen;
    return mtu;
  }

  // The slot holding a live answer for the key, or ~slot of the slot to fill: the key's own dead
  // entry, an empty one, or else the probed entry that is dead or expires first. Entries are never
  // removed, so an empty slot ends the probe. tag is the family, with ReverseTag for the way back;
  // srcOffset is NoSource for the way back.
  private find(tag: number, bytes: Uint8Array, dstOffset: number, srcOffset: number, inIf: number, outIf: number, mark: number): number {
    const gen = this.gen;
    const now = this.nowMs;
    const d0 = word(bytes, dstOffset);
    const s0 = srcOffset >= 0 ? word(bytes, srcOffset) : 0;
    let d1 = 0;
    let d2 = 0;
    let d3 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let h = Math.imul(tag ^ Math.imul(outIf ^ (inIf << 12), 0x9e3779b1) ^ mark, 0x85ebca6b);
    h = Math.imul(h ^ d0, 0xcc9e2d51);
    h = Math.imul(h ^ (h >>> 15) ^ s0, 0x1b873593);
    if ((tag & 15) === 6) {
      d1 = word(bytes, dstOffset + 4);
      d2 = word(bytes, dstOffset + 8);
      d3 = word(bytes, dstOffset + 12);
      if (srcOffset >= 0) {
        s1 = word(bytes, srcOffset + 4);
        s2 = word(bytes, srcOffset + 8);
        s3 = word(bytes, srcOffset + 12);
      }
      h = Math.imul(h ^ (h >>> 13) ^ d1 ^ Math.imul(s1, 0xc2b2ae35), 0x85ebca6b);
      h = Math.imul(h ^ (h >>> 16) ^ d2 ^ Math.imul(s2, 0x9e3779b1), 0xc2b2ae35);
      h = Math.imul(h ^ (h >>> 15) ^ d3 ^ Math.imul(s3, 0x85ebca6b), 0xcc9e2d51);
    }
    h ^= h >>> 16;

    const keys = this.keys;
    let victim = -1;
    let victimExpires = Infinity;
    for (let p = 0; p < MaxProbe; p++) {
      const s = (h + p) & this.mask;
      if (this.kind[s] === Source.Empty) return victimExpires === -Infinity ? ~victim : ~s;
      const live = this.generation[s] === gen && this.expires[s]! > now;
      const k = s * KeyWords;
      if (
        keys[k] === d0 &&
        keys[k + 4] === s0 &&
        this.tag[s] === tag &&
        this.outIf[s] === outIf &&
        this.inIf[s] === inIf &&
        this.mark[s] === mark &&
        keys[k + 1] === d1 &&
        keys[k + 2] === d2 &&
        keys[k + 3] === d3 &&
        keys[k + 5] === s1 &&
        keys[k + 6] === s2 &&
        keys[k + 7] === s3
      ) {
        return live ? s : ~s;
      }
      const e = live ? this.expires[s]! : -Infinity;
      if (e < victimExpires) {
        victimExpires = e;
        victim = s;
      }
    }
    return ~victim;
  }

  // Stores an answer under the key find() was given (read again from the bytes: misses are rare).
  private fill(
    slot: number,
    tag: number,
    bytes: Uint8Array,
    dstOffset: number,
    srcOffset: number,
    inIf: number,
    outIf: number,
    mark: number,
    kind: number,
    mtu: number,
    back: number,
    expires: number,
  ): void {
    const v6 = (tag & 15) === 6;
    const keys = this.keys;
    const k = slot * KeyWords;
    keys.fill(0, k, k + KeyWords);
    keys[k] = word(bytes, dstOffset);
    if (v6) {
      keys[k + 1] = word(bytes, dstOffset + 4);
      keys[k + 2] = word(bytes, dstOffset + 8);
      keys[k + 3] = word(bytes, dstOffset + 12);
    }
    if (srcOffset >= 0) {
      keys[k + 4] = word(bytes, srcOffset);
      if (v6) {
        keys[k + 5] = word(bytes, srcOffset + 4);
        keys[k + 6] = word(bytes, srcOffset + 8);
        keys[k + 7] = word(bytes, srcOffset + 12);
      }
    }
    this.tag[slot] = tag;
    this.inIf[slot] = inIf;
    this.outIf[slot] = outIf;
    this.mark[slot] = mark;
    this.kind[slot] = kind;
    this.mtu[slot] = mtu;
    this.back[slot] = back;
    this.generation[slot] = this.gen;
    this.expires[slot] = expires;
  }
}

/** Four bytes at offset as one big-endian unsigned word. */
function word(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}
