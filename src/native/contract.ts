// The whole contract with our native code, in one file (node-pty's native.d.ts): nfqueue_bindings.node
// (addon/: the queue and the route-MTU lookup) and sd_notify.node (systemd notifications). The queue's
// table layout below is also in addon/src/layout.h; load.ts compares the two once, at load time.
// Everything above src/native/ takes these as parameters (serialport style), so it can be tested with
// a double: test/support/fake-queue.ts lays batches out exactly as described here.
//
// ---- The queue ----
//
//
// How a batch flows: C++ copies each queued packet (IP header first) into `buffer` at 8-byte aligned
// offsets, with TAILROOM writable bytes after it, describes it in one row of `table` (STRIDE uint32 per
// row, fields in Row), pre-fills the row's verdict with ACCEPT and its new length with 0, and calls
// onBatch(count) once. The handler may rewrite the bytes in place and set Row.verdict / Row.newLength.
// When onBatch returns, C++ sends every verdict of the batch, in arrival order, in one sendmsg.

/** Fields of one descriptor-table row: table[row * STRIDE + Row.field]. */
export const Row = {
  /** Kernel packet id (informational: C++ keeps its own copy for the verdict). */
  id: 0,
  /** Byte offset of the packet (IP header first) in the buffer. */
  offset: 1,
  /** Bytes of the packet in the buffer. */
  length: 2,
  /** Length of the packet in the kernel; larger than `length` only when the copy was truncated. */
  origLength: 3,
  /** Netfilter hook: 0 PRE_ROUTING, 1 LOCAL_IN, 2 FORWARD, 3 LOCAL_OUT, 4 POST_ROUTING. */
  hook: 4,
  /** 4 or 6 (from the packet's ethertype), 0 for anything else. */
  family: 5,
  /** Input interface index, 0 if none. */
  indev: 6,
  /** Output interface index, 0 if none. */
  outdev: 7,
  /** The skb mark. */
  mark: 8,
  /** PacketFlag bits. */
  flags: 9,
  /** Written by the handler: Verdict.accept (pre-filled) or Verdict.drop. Anything else counts as a bad verdict and accepts. */
  verdict: 10,
  /**
   * Written by the handler: 0 = packet unchanged (pre-filled); otherwise the packet's new length, whose
   * bytes are at `offset`. At least the IP header (IPv4 IHL; IPv6 40 when a transport header follows,
   * else no shrinking), at most length + TAILROOM; ignored (and counted) for a truncated packet.
   */
  newLength: 11,
} as const;

/** uint32 per row; fields 12..15 are reserved. */
export const STRIDE = 16;

export const PacketFlag = {
  /** The copy is shorter than the packet: the packet can be accepted or dropped but not modified. */
  truncated: 1 << 0,
  /** NFQA_SKB_CSUMNOTREADY: checksums left to the device (does not happen with GSO off). */
  csumNotReady: 1 << 1,
  /** NFQA_SKB_CSUM_NOTVERIFIED: the receive checksum was not verified by the device. */
  csumNotVerified: 1 << 2,
  /** NFQA_SKB_GSO. */
  gso: 1 << 3,
} as const;

/** Netfilter verdicts (NF_DROP, NF_ACCEPT in linux/netfilter.h). */
export const Verdict = { drop: 0, accept: 1 } as const;

/** Writable bytes after every packet in the buffer (room to grow a packet in place, e.g. an MSS insert). */
export const TAILROOM = 64;
/** Packets start at offsets that are multiples of this. */
export const PACKET_ALIGN = 8;
/** The smallest buffer the addon accepts: one maximal packet copy (65531 bytes) plus tailroom and alignment. */
export const MIN_BUFFER_BYTES = 65531 + TAILROOM + PACKET_ALIGN;

/** Options as the addon reads them (NfQueue fills every one after validating). */
export interface NativeQueueOptions {
  /** Kernel queue length (NFQA_CFG_QUEUE_MAXLEN). */
  maxLen: number;
  /** NFQA_CFG_F_FAIL_OPEN: when the queue or the socket is full, the kernel accepts instead of dropping. */
  failOpen: boolean;
  /** Socket receive buffer in bytes; 0 = sized from maxLen (maxLen x 4 KiB, at least 1 MiB). */
  rcvBuf: number;
  /** Packets per event-loop wake-up before yielding to timers and other I/O (checked between batches). */
  maxPacketsPerWake: number;
  /** Send a run of unmodified accepts as one NFQNL_MSG_VERDICT_BATCH message. */
  batchVerdicts: boolean;
  /**
   * Milliseconds one wake-up may go on waiting in the addon for the next packets (each wait at most
   * 2 ms, and never past a due timer) instead of returning to the event loop when the socket is
   * empty; 0 = return at once.
   */
  lingerMs: number;
}

/** Counters kept by the addon (plain numbers, read at scrape time). */
export interface NativeQueueStats {
  packets: number;
  batches: number;
  batchMax: number;
  /** Batches by size, 12 buckets: [1], [2,3], [4,7], ..., [1024,2047], [2048, inf). */
  batchHistogram: number[];
  bytes: number;
  wakeups: number;
  /** Wake-ups that stopped at maxPacketsPerWake. */
  budgetYields: number;
  /** Receives that waited in the addon for packets (lingerMs) rather than return to the event loop. */
  lingerWaits: number;
  recvCalls: number;
  recvErrors: number;
  enobufs: number;
  /** Packet ids skipped: the kernel could not deliver them (socket buffer full; fail-open passed them). */
  idGaps: number;
  truncated: number;
  accepted: number;
  dropped: number;
  modified: number;
  /** Rows with an impossible verdict or new length (below the IP header, above length + TAILROOM, or on a truncated copy): sent as accept, unchanged. */
  badVerdicts: number;
  verdictMessages: number;
  verdictSends: number;
  /** Verdict sendmsg failures after the retry; the next sendmsg accepts their packets unchanged. */
  sendErrors: number;
  /** NLMSG_ERROR answers to verdicts (e.g. ENOENT after an interface went down). */
  verdictErrors: number;
  lastVerdictErrno: number;
  /** Batches whose handler threw: accepted unchanged. */
  callbackErrors: number;
  /** Packets that arrived before the bind was acknowledged: accepted unchanged. */
  startupAccepted: number;
  /** Packets in flight at close(): accepted unchanged. */
  closeAccepted: number;
  otherMessages: number;
}

/** One bound queue. */
export interface NativeQueue {
  /**
   * Stops polling, accepts every packet still in flight, unbinds, closes the socket. Idempotent.
   * Called from inside onBatch, it takes effect right after that batch's verdicts are sent.
   */
  close(): void;
  stats(): NativeQueueStats;
  /** The netlink port id of the socket (as shown in /proc/net/netfilter/nfnetlink_queue). */
  readonly portId: number;
  readonly isOpen: boolean;
}

export interface NativeQueueConstructor {
  /**
   * Binds queue `queueNum` and starts polling on the calling thread's event loop. Throws an Error whose
   * `code` is a NativeErrorCode. `buffer` and `table` must stay owned by the caller, unchanged in size
   * and never transferred, for the life of the queue. onError receives what onBatch threw (after the
   * batch was accepted unchanged); without it the error becomes an uncaught exception.
   */
  new (
    queueNum: number,
    buffer: Uint8Array,
    table: Uint32Array,
    onBatch: (count: number) => void,
    onError: ((err: unknown) => void) | undefined,
    options: NativeQueueOptions,
  ): NativeQueue;
}

/** The addon's copy of the numbers above. */
export interface NativeLayout {
  stride: number;
  id: number;
  offset: number;
  length: number;
  origLength: number;
  hook: number;
  family: number;
  indev: number;
  outdev: number;
  mark: number;
  flags: number;
  verdict: number;
  newLength: number;
  flagTruncated: number;
  flagCsumNotReady: number;
  flagCsumNotVerified: number;
  flagGso: number;
  verdictDrop: number;
  verdictAccept: number;
  tailroom: number;
  packetAlign: number;
  minBufferBytes: number;
}

/** `code` of the errors the addon throws from the constructor. */
export type NativeErrorCode =
  /** Another netlink socket (another process, or another open queue in this one) holds the queue. */
  | 'NFQ_ERR_QUEUE_BUSY'
  /** CAP_NET_ADMIN is missing (in the user namespace owning the network namespace). */
  | 'NFQ_ERR_PERMISSION'
  /** The kernel has no nfnetlink / nfnetlink_queue. */
  | 'NFQ_ERR_UNSUPPORTED'
  /** The kernel did not answer the bind within 2 s. */
  | 'NFQ_ERR_TIMEOUT'
  /** Any other socket or netlink failure (the message says which call and errno). */
  | 'NFQ_ERR_SOCKET';

/** The layout fields where the addon and this file disagree (empty when they agree). */
export function layoutMismatches(layout: NativeLayout): string[] {
  const expected: NativeLayout = {
    stride: STRIDE,
    ...Row,
    flagTruncated: PacketFlag.truncated,
    flagCsumNotReady: PacketFlag.csumNotReady,
    flagCsumNotVerified: PacketFlag.csumNotVerified,
    flagGso: PacketFlag.gso,
    verdictDrop: Verdict.drop,
    verdictAccept: Verdict.accept,
    tailroom: TAILROOM,
    packetAlign: PACKET_ALIGN,
    minBufferBytes: MIN_BUFFER_BYTES,
  };
  const bad: string[] = [];
  for (const key of Object.keys(expected) as Array<keyof NativeLayout>) {
    if (layout[key] !== expected[key]) bad.push(`${key}: addon ${String(layout[key])}, contract.ts ${expected[key]}`);
  }
  return bad;
}

// ---- The route-MTU lookup (addon/src/route_mtu.cc) ----
// C++ checks only types; the values are checked in src/pmtu/route-mtu.ts before they cross.

/** Index of the generation word in the state array: C++ adds one for every batch of route, rule or link changes. */
export const GenerationIndex = 0;

export interface RouteMtuNativeOptions {
  /** How long one rtnetlink request may wait for its answer (ms). */
  timeoutMs?: number;
}

export interface RouteMtuNativeStats {
  routeRequests: number;
  routeNoMtu: number;
  routeErrors: number;
  inputFallbacks: number;
  linkRequests: number;
  linkErrors: number;
  timeouts: number;
  sendErrors: number;
  notifications: number;
  overruns: number;
}

export interface RouteMtuNative {
  /**
   * MTU of the route towards the address at bytes[dstOffset..] (4 or 16 bytes) from the one at
   * bytes[srcOffset..] (-1: no source), as the kernel routes it: the input lookup when iif is not 0,
   * else the output lookup through oif if not 0; with firewall mark `mark`. 0 when unknown.
   */
  route(family: 4 | 6, bytes: Uint8Array, dstOffset: number, srcOffset: number, iif: number, oif: number, mark: number): number;
  /** MTU of interface ifindex; 0 when there is no such interface. */
  linkMtu(ifindex: number): number;
  close(): void;
  stats(): RouteMtuNativeStats;
  readonly isOpen: boolean;
}

export type RouteMtuNativeConstructor = new (state: Uint32Array, options?: RouteMtuNativeOptions) => RouteMtuNative;

// ---- systemd notifications (addon/src/sd_notify.cc) ----

/** Sends one datagram to an AF_UNIX datagram socket (Node cannot); throws on failure. */
export interface SdNotifyBinding {
  sdNotify(socketPath: string, message: string): void;
}

// ---- Everything native, as one injectable value ----

/** The exports of nfqueue_bindings.node. */
export interface NativeBinding {
  Queue: NativeQueueConstructor;
  RouteMtu: RouteMtuNativeConstructor;
  layout: NativeLayout;
}
