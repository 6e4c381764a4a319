// The one fake of the native queue: batches laid out exactly as addon/src/queue.cc lays them out (the
// table layout in src/native/contract.ts) and verdicts recorded as the addon would send them. Tests of
// the handler use layBatch/verdictOf directly; tests of the worker and the supervisor use FakeQueue
// through fakeNative(), which also stands in for the route-MTU lookup.
import {
  MIN_BUFFER_BYTES,
  PACKET_ALIGN,
  PacketFlag,
  Row,
  STRIDE,
  TAILROOM,
  Verdict,
  type NativeBinding,
  type NativeQueue,
  type NativeQueueOptions,
  type NativeQueueStats,
  type RouteMtuNative,
  type RouteMtuNativeStats,
} from '../../src/native/contract.js';

/** A route-MTU lookup's counters before any work: what the fakes report. */
export const ZERO_ROUTE_MTU_STATS: RouteMtuNativeStats = Object.freeze({
  routeRequests: 0,
  routeNoMtu: 0,
  routeErrors: 0,
  inputFallbacks: 0,
  linkRequests: 0,
  linkErrors: 0,
  timeouts: 0,
  sendErrors: 0,
  notifications: 0,
  overruns: 0,
});

export interface FakePacket {
  /** IP header first. */
  readonly bytes: Uint8Array;
  /** The length in the kernel; above bytes.length for a truncated copy (then flags gets PacketFlag.truncated). */
  readonly origLength?: number;
  readonly flags?: number;
  /** Netfilter hook; default 2 (FORWARD). */
  readonly hook?: number;
  readonly indev?: number;
  readonly outdev?: number;
  readonly mark?: number;
}

/** Where packet i of a batch starts: 8-byte aligned, TAILROOM writable bytes after each. */
export function nextOffset(at: number, length: number): number {
  return Math.ceil((at + length + TAILROOM) / PACKET_ALIGN) * PACKET_ALIGN;
}

/** Row fields besides where the packet is; what FakePacket says about it, its bytes aside. */
export type RowFields = Omit<FakePacket, 'bytes'>;

/**
 * Describes packet i (at byte `at`, `length` bytes, version nibble `version`) in row i as the addon
 * does: unused fields zero, the truncated flag when the copy is shorter than the packet, verdict
 * pre-filled ACCEPT, new length 0.
 */
export function describeRow(table: Uint32Array, i: number, id: number, at: number, length: number, version: number, p: RowFields): void {
  const row = i * STRIDE;
  table.fill(0, row, row + STRIDE);
  const truncated = p.origLength !== undefined && p.origLength > length;
  table[row + Row.id] = id;
  table[row + Row.offset] = at;
  table[row + Row.length] = length;
  table[row + Row.origLength] = p.origLength ?? length;
  table[row + Row.hook] = p.hook ?? 2;
  table[row + Row.family] = version === 4 || version === 6 ? version : 0;
  table[row + Row.indev] = p.indev ?? 0;
  table[row + Row.outdev] = p.outdev ?? 0;
  table[row + Row.mark] = p.mark ?? 0;
  table[row + Row.flags] = (p.flags ?? 0) | (truncated ? PacketFlag.truncated : 0);
  table[row + Row.verdict] = Verdict.accept;
  table[row + Row.newLength] = 0;
}

/**
 * Copies packets into `bytes` and describes them in `table` as the addon does (aligned offsets,
 * zeroed tailroom after each; describeRow). Returns the count. Ids count from firstId.
 */
export function layBatch(bytes: Uint8Array, table: Uint32Array, packets: readonly FakePacket[], firstId = 1): number {
  let at = 0;
  packets.forEach((p, i) => {
    if ((i + 1) * STRIDE > table.length || at + p.bytes.length + TAILROOM > bytes.length)
      throw new RangeError(`batch of ${packets.length} does not fit`);
    bytes.set(p.bytes, at);
    bytes.fill(0, at + p.bytes.length, at + p.bytes.length + TAILROOM);
    describeRow(table, i, firstId + i, at, p.bytes.length, p.bytes[0]! >> 4, p);
    at = nextOffset(at, p.bytes.length);
  });
  return packets.length;
}

/** What the kernel receives for one packet. */
export interface RecordedVerdict {
  readonly id: number;
  /** Verdict.accept or Verdict.drop. */
  readonly verdict: number;
  /** The packet as sent back (a copy): the new bytes when modified, else the original. */
  readonly bytes: Uint8Array;
  readonly modified: boolean;
  /** The row asked for something the addon refuses (counted as badVerdicts, accepted unchanged). */
  readonly bad: boolean;
}

/** The addon's reading of row i after the handler returned (addon/src/queue.cc, SendVerdicts). */
export function verdictOf(bytes: Uint8Array, table: Uint32Array, i: number): RecordedVerdict {
  const row = i * STRIDE;
  const id = table[row + Row.id]!;
  const offset = table[row + Row.offset]!;
  const length = table[row + Row.length]!;
  const verdict = table[row + Row.verdict]!;
  const newLength = table[row + Row.newLength]!;
  const truncated = (table[row + Row.flags]! & PacketFlag.truncated) !== 0;
  const original = bytes.slice(offset, offset + length);
  const verdictOk = verdict === Verdict.accept || verdict === Verdict.drop;
  if (!verdictOk) return { id, verdict: Verdict.accept, bytes: original, modified: false, bad: true };
  if (newLength === 0) return { id, verdict, bytes: original, modified: false, bad: false };
  // Bounds as the contract states them: at least the IP header, at most length + TAILROOM, never on a truncated copy.
  const ipHeader = bytes[offset]! >> 4 === 4 ? (bytes[offset]! & 0x0f) * 4 : 40;
  if (truncated || newLength < ipHeader || newLength > length + TAILROOM)
    return { id, verdict: Verdict.accept, bytes: original, modified: false, bad: true };
  return { id, verdict, bytes: bytes.slice(offset, offset + newLength), modified: true, bad: false };
}

/** Stats with every field 0. */
export function zeroStats(): NativeQueueStats {
  return {
    packets: 0,
    batches: 0,
    batchMax: 0,
    batchHistogram: new Array(12).fill(0),
    bytes: 0,
    wakeups: 0,
    budgetYields: 0,
    lingerWaits: 0,
    recvCalls: 0,
    recvErrors: 0,
    enobufs: 0,
    idGaps: 0,
    truncated: 0,
    accepted: 0,
    dropped: 0,
    modified: 0,
    badVerdicts: 0,
    verdictMessages: 0,
    verdictSends: 0,
    sendErrors: 0,
    verdictErrors: 0,
    lastVerdictErrno: 0,
    callbackErrors: 0,
    startupAccepted: 0,
    closeAccepted: 0,
    otherMessages: 0,
  };
}

/** One bound fake queue: deliver() plays the addon's receive, callback and verdict steps. */
export class FakeQueue implements NativeQueue {
  readonly portId: number;
  isOpen = true;
  readonly verdicts: RecordedVerdict[] = [];
  private readonly counts = zeroStats();
  private nextId = 1;

  constructor(
    readonly queueNum: number,
    private readonly buffer: Uint8Array,
    private readonly table: Uint32Array,
    private readonly onBatch: (count: number) => void,
    private readonly onError: ((err: unknown) => void) | undefined,
    readonly options: NativeQueueOptions,
    private readonly onClose: () => void,
  ) {
    this.portId = 10_000 + queueNum;
    if (buffer.byteLength < MIN_BUFFER_BYTES) throw new RangeError('buffer below MIN_BUFFER_BYTES');
  }

  /** One batch through the handler; returns its verdicts (also appended to `verdicts`). */
  deliver(packets: readonly FakePacket[]): RecordedVerdict[] {
    if (!this.isOpen) throw new Error(`fake queue ${this.queueNum} is closed`);
    const rows = Math.floor(this.table.length / STRIDE);
    const out: RecordedVerdict[] = [];
    for (let from = 0; from < packets.length; from += rows) {
      const part = packets.slice(from, from + rows);
      const count = layBatch(this.buffer, this.table, part, this.nextId);
      this.nextId += count;
      let threw = false;
      try {
        this.onBatch(count);
      } catch (err) {
        threw = true;
        this.counts.callbackErrors++;
        if (this.onError === undefined) throw err;
        this.onError(err);
      }
      for (let i = 0; i < count; i++) {
        // A handler that threw has its whole batch accepted unchanged.
        if (threw) {
          const row = i * STRIDE;
          this.table[row + Row.verdict] = Verdict.accept;
          this.table[row + Row.newLength] = 0;
        }
        const v = verdictOf(this.buffer, this.table, i);
        this.counts.packets++;
        if (v.bad) this.counts.badVerdicts++;
        if (v.verdict === Verdict.drop) this.counts.dropped++;
        else this.counts.accepted++;
        if (v.modified) this.counts.modified++;
        out.push(v);
      }
      this.counts.batches++;
    }
    this.verdicts.push(...out);
    return out;
  }

  close(): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.onClose();
  }

  stats(): NativeQueueStats {
    return { ...this.counts, batchHistogram: [...this.counts.batchHistogram] };
  }
}

/** A route lookup that knows one MTU for every route and link. */
class FixedRouteMtu implements RouteMtuNative {
  isOpen = true;
  constructor(
    readonly state: Uint32Array,
    private readonly mtu: number,
  ) {}
  route(): number {
    return this.mtu;
  }
  linkMtu(): number {
    return this.mtu;
  }
  close(): void {
    this.isOpen = false;
  }
  stats(): RouteMtuNativeStats {
    return { ...ZERO_ROUTE_MTU_STATS };
  }
}

export interface FakeNative {
  readonly binding: Pick<NativeBinding, 'Queue' | 'RouteMtu'>;
  /** The open queues, by number. */
  readonly queues: Map<number, FakeQueue>;
  /** Queue numbers whose bind fails as the addon's does (NFQ_ERR_QUEUE_BUSY). */
  readonly busy: Set<number>;
}

/** A native binding over fake queues (one per number, as the kernel allows) and a fixed route MTU. */
export function fakeNative(options: { mtu?: number } = {}): FakeNative {
  const queues = new Map<number, FakeQueue>();
  const busy = new Set<number>();
  const mtu = options.mtu ?? 1500;
  class Queue extends FakeQueue {
    constructor(
      queueNum: number,
      buffer: Uint8Array,
      table: Uint32Array,
      onBatch: (count: number) => void,
      onError: ((err: unknown) => void) | undefined,
      opts: NativeQueueOptions,
    ) {
      if (busy.has(queueNum) || queues.has(queueNum)) {
        throw Object.assign(new Error(`queue ${queueNum} is bound by another socket`), { code: 'NFQ_ERR_QUEUE_BUSY', errno: 1 });
      }
      super(queueNum, buffer, table, onBatch, onError, opts, () => queues.delete(queueNum));
      queues.set(queueNum, this);
    }
  }
  class RouteMtu extends FixedRouteMtu {
    constructor(state: Uint32Array) {
      super(state, mtu);
    }
  }
  return { binding: { Queue, RouteMtu }, queues, busy };
}
