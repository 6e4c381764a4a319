// The entry of a queue worker thread (new Worker(this file)): load the native binding in this thread
// (a test names a fake module in workerData.nativeModule), log to stdout (forwarded by Node to the
// process's own), and run one QueueWorker until the supervisor says stop.
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../log/logger.js';
import type { NativeBinding } from '../native/contract.js';
import { QueueWorker } from './queue-worker.js';
import type { WorkerInit, WorkerPort } from './worker-protocol.js';

const init = workerData as WorkerInit;
const module = (await import(init.nativeModule ?? '../native/load.js')) as { loadNative(): NativeBinding };
const log = createLogger({ level: init.config.log.level, format: init.config.log.format, base: { queue: init.queue } });
new QueueWorker(module.loadNative(), init, parentPort as unknown as WorkerPort, log).start();
