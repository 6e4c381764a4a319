// What the supervisor and a queue worker say to each other, and nothing else crosses between them:
// configurations (on start and reload), shared-memory handles (counters, selection state) and
// occasional stats. Nothing per packet.
import type { Config } from '../config/config.js';
import type { QueueSocketCounters } from '../metrics/daemon-metrics.js';
import type { CounterMemory } from '../metrics/packet-counters.js';
import type { SelectionMemory } from '../rules/selector.js';

/** One configuration as the supervisor compiled it: every worker gets the same. */
export interface Generation {
  /** Counts reloads from 0 (start); a worker answers with the number it switched to. */
  readonly generation: number;
  readonly config: Config;
  /** When selection windows start (ms, the supervisor's clock): the start or the reload. */
  readonly epoch: number;
  /** Shared by every worker: `every`, `maxPackets` and the random sequences count across queues. */
  readonly selection: SelectionMemory;
}

/** workerData of a queue worker thread. */
export interface WorkerInit extends Generation {
  readonly queue: number;
  /** The worker's counters: the supervisor keeps them across restarts, so series never reset. */
  readonly counters: CounterMemory;
  /** A module whose `loadNative()` gives the native binding; default src/native/load.ts (tests: a fake). */
  readonly nativeModule?: string | undefined;
}

export type ToWorker =
  ({ readonly type: 'reload' } & Generation) | { readonly type: 'stats'; readonly id: number } | { readonly type: 'stop' };

export type FromWorker =
  /** The queue is bound and packets are handled. */
  | { readonly type: 'ready'; readonly queue: number; readonly portId: number }
  /** The queue could not be bound; the worker ends. `code`: an NfQueueError code. */
  | { readonly type: 'failed'; readonly queue: number; readonly code: string; readonly message: string }
  /** The worker handles packets with this generation now; its counters moved to `counters`. */
  | { readonly type: 'reloaded'; readonly generation: number; readonly counters: CounterMemory }
  | { readonly type: 'stats'; readonly id: number; readonly socket: QueueSocketCounters | undefined }
  /** The queue is closed (in-flight packets accepted); the thread ends by itself. */
  | { readonly type: 'stopped'; readonly packets: number };

/** The end of a channel a worker talks through: parentPort in a thread, a MessagePort in tests. */
export interface WorkerPort {
  postMessage(message: FromWorker): void;
  on(event: 'message', listener: (message: ToWorker) => void): unknown;
  close(): void;
}
