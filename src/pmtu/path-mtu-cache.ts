// The path MTU that clamp-to-pmtu clamps to, as the kernel's TCPMSS target computes it
// (net/netfilter/xt_TCPMSS.c, tcpmss_mangle_packet): the smaller of the MTU of the route the packet
// takes (dst_mtu of its route: PMTU exception, route `mtu` metric, or device MTU) and of the route
// back to its source (tcpmss_reverse_mtu). The caller subtracts the fixed headers.
//
// Answers are cached per (family, address, output interface) in fixed typed arrays with open
// addressing: a hit reads a few array slots and allocates nothing. An entry dies when the kernel
// announces a route or link change (the generation word moves) or when its time is up: PMTU
// exceptions learned from ICMP are not announced, so no answer lives longer than ttlMs.
import { GenerationIndex } from './native.js';
import type { RouteMtuSource } from './route-mtu.js';

export interface PathMtuCacheOptions {
  /** Entries; a power of two. Default 4096. */
  slots?: number;
  /** Longest life of an answer (ms). Default 5000. */
  ttlMs?: number;
  /** Clock in ms; default performance.now. */
  now?: () => number;
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
} as const;

// Slots looked at for one key before the oldest of them is replaced.
const MaxProbe = 8;
// Key words per entry: an IPv6 address; an IPv4 address uses the first.
const KeyWords = 4;

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

  private readonly source: RouteMtuSource;
  private readonly state: Uint32Array;
  private readonly mask: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly keys: Uint32Array;
  private readonly family: Uint8Array;
  private readonly oif: Uint32Array;
  private readonly kind: Uint8Array;
  private readonly mtu: Uint32Array;
  private readonly generation: Uint32Array;
  private readonly expires: Float64Array;

  constructor(source: RouteMtuSource, options: PathMtuCacheOptions = {}) {
    const slots = options.slots ?? 4096;
    if (!Number.isInteger(slots) || slots < MaxProbe || slots > 1 << 20 || (slots & (slots - 1)) !== 0) {
      throw new RangeError(`slots must be a power of two from ${MaxProbe} to ${1 << 20}, not ${slots}`);
    }
    const ttlMs = options.ttlMs ?? 5000;
    if (!(ttlMs >= 0 && ttlMs <= 3_600_000)) throw new RangeError(`ttlMs must be from 0 to 3600000, not ${ttlMs}`);
    this.source = source;
    this.state = source.state;
    this.mask = slots - 1;
    this.ttlMs = ttlMs;
    this.now = options.now ?? (() => performance.now());
    this.keys = new Uint32Array(slots * KeyWords);
    this.family = new Uint8Array(slots);
    this.oif = new Uint32Array(slots);
    this.kind = new Uint8Array(slots);
    this.mtu = new Uint32Array(slots);
    this.generation = new Uint32Array(slots);
    this.expires = new Float64Array(slots);
  }

  /**
   * The path MTU for a packet whose destination address is at bytes[dstOffset..] and source address
   * at bytes[srcOffset..] (4 or 16 bytes by family), leaving through interface outIfIndex (0 if
   * unknown); 0 when unknown. The offsets must be inside bytes (the packet parser promises it).
   */
  lookup(family: 4 | 6, bytes: Uint8Array, dstOffset: number, srcOffset: number, outIfIndex: number): number {
    this.lookups++;
    const now = this.now();
    const gen = this.state[GenerationIndex]!;
    let asked = false;

    let slot = this.find(family, bytes, dstOffset, outIfIndex, gen, now);
    if (slot < 0) {
      slot = ~slot;
      asked = true;
      this.requests++;
      let mtu = this.source.route(family, bytes, dstOffset, outIfIndex);
      let kind: number = Source.Route;
      if (mtu === 0) {
        mtu = this.source.linkMtu(outIfIndex);
        kind = mtu === 0 ? Source.None : Source.Link;
      }
      this.fill(slot, kind, mtu, gen, now);
    }
    const forwardKind = this.kind[slot]!;
    const forward = this.mtu[slot]!;

    slot = this.find(family, bytes, srcOffset, 0, gen, now);
    if (slot < 0) {
      slot = ~slot;
      asked = true;
      this.requests++;
      const mtu = this.source.route(family, bytes, srcOffset, 0);
      this.fill(slot, mtu === 0 ? Source.None : Source.Route, mtu, gen, now);
    }
    const reverse = this.mtu[slot]!;

    if (asked) this.misses++;
    else this.hits++;
    if (reverse === 0) this.reverseUnknown++;
    if (forwardKind !== Source.Route) {
      this.failures++;
      if (forwardKind === Source.None) {
        this.unknown++;
        return 0;
      }
      this.linkFallbacks++;
    }
    return reverse !== 0 && reverse < forward ? reverse : forward;
  }

  /** Forgets every answer. */
  clear(): void {
    this.kind.fill(Source.Empty);
  }

  /** Entries in use (for tests and debugging; scans the table). */
  get size(): number {
    let n = 0;
    for (let i = 0; i <= this.mask; i++) if (this.kind[i] !== Source.Empty) n++;
    return n;
  }

  // The slot holding a live answer for the key, or ~slot of the slot to fill: the key's own dead
  // entry, an empty one, or else the probed entry that is dead or expires first. Entries are never
  // removed, so an empty slot ends the probe.
  private find(family: number, bytes: Uint8Array, offset: number, oif: number, gen: number, now: number): number {
    const w0 = word(bytes, offset);
    let w1 = 0;
    let w2 = 0;
    let w3 = 0;
    if (family === 6) {
      w1 = word(bytes, offset + 4);
      w2 = word(bytes, offset + 8);
      w3 = word(bytes, offset + 12);
    }
    let h = Math.imul(family ^ Math.imul(oif, 0x9e3779b1), 0x85ebca6b);
    h = Math.imul(h ^ w0, 0xcc9e2d51);
    h = Math.imul(h ^ (h >>> 15) ^ w1, 0x1b873593);
    h = Math.imul(h ^ (h >>> 13) ^ w2, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 16) ^ w3, 0xc2b2ae35);
    h ^= h >>> 16;
    this.keyFamily = family;
    this.keyOif = oif;
    this.key0 = w0;
    this.key1 = w1;
    this.key2 = w2;
    this.key3 = w3;

    const keys = this.keys;
    let victim = -1;
    let victimExpires = Infinity;
    for (let p = 0; p < MaxProbe; p++) {
      const s = (h + p) & this.mask;
      if (this.kind[s] === Source.Empty) return victimExpires === -Infinity ? ~victim : ~s;
      const live = this.generation[s] === gen && this.expires[s]! > now;
      if (
        this.family[s] === family && this.oif[s] === oif &&
        keys[s * KeyWords] === w0 && keys[s * KeyWords + 1] === w1 &&
        keys[s * KeyWords + 2] === w2 && keys[s * KeyWords + 3] === w3
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

  // The key of the last find(), which fill() stores.
  private keyFamily = 0;
  private keyOif = 0;
  private key0 = 0;
  private key1 = 0;
  private key2 = 0;
  private key3 = 0;

  private fill(slot: number, kind: number, mtu: number, gen: number, now: number): void {
    this.family[slot] = this.keyFamily;
    this.oif[slot] = this.keyOif;
    const k = slot * KeyWords;
    this.keys[k] = this.key0;
    this.keys[k + 1] = this.key1;
    this.keys[k + 2] = this.key2;
    this.keys[k + 3] = this.key3;
    this.kind[slot] = kind;
    this.mtu[slot] = mtu;
    this.generation[slot] = gen;
    this.expires[slot] = now + this.ttlMs;
  }
}

/** Four bytes at offset as one big-endian unsigned word. */
function word(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}
