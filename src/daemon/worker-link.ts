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

/** Real threads. `nativeModule`: what each thread loads its native binding from (tests: a fake). */
export function threadLauncher(nativeModule?: string): WorkerLauncher {
  return (init) => new Worker(WORKER_THREAD, { workerData: { ...init, nativeModule } }) as WorkerLink;
}
