// NfQueue: one bound NFQUEUE queue. It owns the packet buffer and the descriptor table (allocated once,
// here), validates options once, and calls the handler once per batch with the same QueueBatch object
// every time. The binding is a parameter, so this class is tested with a double (test/queue/).
import { MIN_BUFFER_BYTES, STRIDE, type NativeBinding, type NativeQueue, type NativeQueueStats } from '../native/contract.js';
import { readFileSync } from 'node:fs';
import { NFQUEUE_PROC_PATH, parseQueueStats, type QueueStats } from './queue-stats.js';
import { fromNative, NfQueueError } from './queue-error.js';

/**
 * What the handler sees. `bytes` and `table` are the same objects for the life of the queue; only
 * `count` changes. Rows 0..count-1 of `table` describe this batch (layout: Row in binding.ts).
 */
export interface QueueBatch {
  readonly bytes: Uint8Array;
  readonly table: Uint32Array;
  count: number;
}

/**
 * Called once per batch. Writes Row.verdict / Row.newLength per row (pre-filled: accept, unchanged)
 * and may rewrite packet bytes in place. Must not keep `batch` contents past its return: the next
 * batch reuses the buffer. If it throws, the whole batch is accepted unchanged and onError is called.
 */
export type BatchHandler = (batch: QueueBatch) => void;

export interface NfQueueOptions {
  /** Queue number, as in `iptables -j NFQUEUE --queue-num N`. */
  queue: number;
  /** Kernel queue length. Default 4096. */
  maxLen?: number;
  /** Let packets through unchanged when the queue or socket is full. Default true. */
  failOpen?: boolean;
  /** Rows in the descriptor table: the largest batch. Default 256. */
  batchSize?: number;
  /** Packet buffer bytes. Default 4 MiB. */
  bufferBytes?: number;
  /** Socket receive buffer; 0 = from maxLen. Default 0. */
  rcvBuf?: number;
  /**
   * Packets per event-loop wake-up before timers and other I/O get a turn (checked between batches,
   * so the last batch may go past it). Default 1024: four full batches, a few ms. Counted in packets:
   * under load batches are small, and a budget in batches sent the queue back through the event loop
   * every few dozen packets (bench/RESULTS.md, "Per-wake budget").
   */
  maxPacketsPerWake?: number;
  /** Send runs of unmodified accepts as one batch verdict. Default true. */
  batchVerdicts?: boolean;
  /**
   * How long (ms) one wake-up may go on waiting in the addon for the next packets when the socket is
   * empty, rather than go back to the event loop; each wait lasts at most 2 ms and never past a due
   * timer. Default 10: a turn of Node's event loop costs more than the few packets a batch carries
   * at moderate rates (bench/RESULTS.md, "Waiting in the addon"). Timers, messages and other I/O on
   * this thread then wait at most about lingerMs + 2 ms. 0 = go back at once.
   */
  lingerMs?: number;
  /** Receives what the handler threw. Without it, a throwing handler is an uncaught exception. */
  onError?: (err: unknown) => void;
}

export const NfQueueDefaults = {
  maxLen: 4096,
  failOpen: true,
  batchSize: 256,
  bufferBytes: 4 * 1024 * 1024,
  rcvBuf: 0,
  maxPacketsPerWake: 1024,
  batchVerdicts: true,
  lingerMs: 10,
} as const;

/** Synchronous read of the kernel's line (the async reader in metrics/ serves scrapes). */
function kernelQueueStats(queue: number, path = NFQUEUE_PROC_PATH): QueueStats | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  return parseQueueStats(text).find((s) => s.queue === queue);
}

function intOption(name: string, value: number | undefined, dflt: number, min: number, max: number): number {
  const v = value ?? dflt;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new NfQueueError('NFQ_ERR_INVALID_OPTION', `${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return v;
}

export class NfQueue {
  readonly queue: number;
  readonly batch: QueueBatch;
  private readonly native: NativeQueue;

  /** Binds the queue; throws NfQueueError (codes in queue-error.ts). */
  constructor(binding: Pick<NativeBinding, 'Queue'>, options: NfQueueOptions, handler: BatchHandler) {
    this.queue = intOption('queue', options.queue, -1, 0, 65535);
    const maxLen = intOption('maxLen', options.maxLen, NfQueueDefaults.maxLen, 1, 1 << 24);
    const batchSize = intOption('batchSize', options.batchSize, NfQueueDefaults.batchSize, 1, 65536);
    const bufferBytes = intOption('bufferBytes', options.bufferBytes, NfQueueDefaults.bufferBytes, MIN_BUFFER_BYTES, 1 << 30);
    const rcvBuf = intOption('rcvBuf', options.rcvBuf, NfQueueDefaults.rcvBuf, 0, 1 << 30);
    const maxPacketsPerWake = intOption('maxPacketsPerWake', options.maxPacketsPerWake, NfQueueDefaults.maxPacketsPerWake, 1, 1 << 24);
    const lingerMs = intOption('lingerMs', options.lingerMs, NfQueueDefaults.lingerMs, 0, 1000);

    const batch: QueueBatch = {
      bytes: new Uint8Array(bufferBytes),
      table: new Uint32Array(batchSize * STRIDE),
      count: 0,
    };
    this.batch = batch;
    const onBatch = (count: number): void => {
      batch.count = count;
      handler(batch);
    };
    try {
      this.native = new binding.Queue(this.queue, batch.bytes, batch.table, onBatch, options.onError, {
        maxLen,
        failOpen: options.failOpen ?? NfQueueDefaults.failOpen,
        rcvBuf,
        maxPacketsPerWake,
        batchVerdicts: options.batchVerdicts ?? NfQueueDefaults.batchVerdicts,
        lingerMs,
      });
    } catch (err) {
      throw this.explain(fromNative(err));
    }
  }

  get portId(): number {
    return this.native.portId;
  }

  get isOpen(): boolean {
    return this.native.isOpen;
  }

  /** Accepts everything in flight, unbinds and closes. Idempotent. */
  close(): void {
    this.native.close();
  }

  stats(): NativeQueueStats {
    return this.native.stats();
  }

  /** The kernel's counters for this queue in the caller's network namespace (undefined once unbound). */
  kernelStats(path?: string): QueueStats | undefined {
    return kernelQueueStats(this.queue, path);
  }

  /** Adds who holds a busy queue: the kernel's line names the holder's netlink port (usually its pid). */
  private explain(err: unknown): unknown {
    if (err instanceof NfQueueError && err.code === 'NFQ_ERR_QUEUE_BUSY') {
      const holder = kernelQueueStats(this.queue);
      if (holder) {
        return new NfQueueError(err.code, `${err.message} [held by netlink port ${holder.peerPortId}, usually the pid of the holder]`, {
          cause: err.cause,
          errno: err.errno,
        });
      }
    }
    return err;
  }
}
