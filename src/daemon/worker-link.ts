// How the supervisor reaches a queue worker: a worker_threads Worker in the daemon, or (in unit tests)
// a QueueWorker running in the test's own thread behind a MessageChannel. The supervisor sees only
// this interface, which a Worker already satisfies.
import { Worker } from 'node:worker_threads';
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol.js';

export interface WorkerLink {
  postMessage(message: ToWorker): void;
  on(event: 'message', listener: (message: FromWorker) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  terminate(): Promise<number>;
}

/** Starts one worker for init.queue. */
export type WorkerLauncher = (init: WorkerInit) => WorkerLink;

/** From dist/src/daemon/ to the compiled thread entry next to this file. */
const WORKER_THREAD = new URL('./worker-thread.js', import.meta.url);

/**
 * A queue worker's young generation (V8's nursery), in MB; Node's default lets it grow to 48. A worker
 * allocates almost nothing per packet, so a nursery that size fills over many minutes, and its pages
 * become resident one by one as it fills: RSS climbed 12 kB/s with an unchanged heap (one queue,
 * 50,000 SYN/s). With a small one, collected every few minutes, it stayed within 1 MB (docs/reliability.md,
 * "Soak"; most of what a two-queue soak showed was the supervisor's old generation, not a worker's).
 */
export const WORKER_YOUNG_GENERATION_MB = 3;

/** Real threads. `nativeModule`: what each thread loads its native binding from (tests: a fake). */
export function threadLauncher(nativeModule?: string): WorkerLauncher {
  return (init) =>
    new Worker(WORKER_THREAD, {
      workerData: { ...init, nativeModule },
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    }) as WorkerLink;
}
