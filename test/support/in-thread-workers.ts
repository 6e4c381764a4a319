// Queue workers in the test's own thread: the real QueueWorker over fake queues, behind a link that
// behaves like a worker_threads Worker (messages cloned and delivered on a later turn, 'exit' after
// the last message). crash() plays a thread that died: the queue socket closes (as the addon's
// environment cleanup hook closes it), then 'error' and 'exit' 1. A manual clock steps restarts.
import { EventEmitter } from 'node:events';
import { QueueWorker } from '../../src/daemon/queue-worker.js';
import type { Clock } from '../../src/daemon/supervisor.js';
import type { WorkerLauncher, WorkerLink } from '../../src/daemon/worker-link.js';
import type { FromWorker, ToWorker, WorkerInit, WorkerPort } from '../../src/daemon/worker-protocol.js';
import type { Logger } from '../../src/log/logger.js';
import { fakeNative, type FakeNative, type FakeQueue } from './fake-queue.js';

export class InThreadLink extends EventEmitter implements WorkerLink {
  private ended = false;
  private readonly inbox = new EventEmitter();

  constructor(
    readonly init: WorkerInit,
    private readonly native: FakeNative,
    log: Logger,
  ) {
    super();
    const port: WorkerPort = {
      postMessage: (message: FromWorker) => this.deliver(() => this.emit('message', structuredClone(message))),
      on: (_event: 'message', listener: (message: ToWorker) => void) => this.inbox.on('message', listener),
      close: () => this.end(0),
    };
    // As a thread would, start after the constructor returned (the supervisor attaches listeners first).
    setImmediate(() => new QueueWorker(native.binding, structuredClone(init), port, log).start());
  }

  postMessage(message: ToWorker): void {
    this.deliver(() => this.inbox.emit('message', structuredClone(message)));
  }

  /** The thread died: its queue closes, then 'error' and 'exit' 1. */
  crash(err: Error = new Error('worker crashed')): void {
    this.native.queues.get(this.init.queue)?.close();
    this.deliver(() => this.emit('error', err));
    this.end(1);
  }

  terminate(): Promise<number> {
    this.native.queues.get(this.init.queue)?.close();
    this.end(1);
    return Promise.resolve(1);
  }

  private end(code: number): void {
    if (this.ended) return;
    this.ended = true;
    this.deliver(() => this.emit('exit', code), true);
  }

  private deliver(fn: () => void, evenAfterEnd = false): void {
    const ended = this.ended;
    setImmediate(() => {
      if (!ended || evenAfterEnd) fn();
    });
  }
}

export class InThreadWorkers {
  readonly native = fakeNative();
  /** Every link ever launched, in order. */
  readonly links: InThreadLink[] = [];
  readonly launch: WorkerLauncher = (init) => {
    const link = new InThreadLink(init, this.native, this.log);
    this.links.push(link);
    return link;
  };

  constructor(private readonly log: Logger) {}

  /** The latest link of a queue. */
  link(queue: number): InThreadLink {
    const found = this.links.filter((l) => l.init.queue === queue).at(-1);
    if (found === undefined) throw new Error(`no worker for queue ${queue}`);
    return found;
  }

  queue(queue: number): FakeQueue {
    const q = this.native.queues.get(queue);
    if (q === undefined) throw new Error(`queue ${queue} is not bound`);
    return q;
  }
}

/** A clock that moves only when told. */
export class ManualClock implements Clock {
  private time = 1_000_000;
  private timers: { at: number; fn: () => void; live: boolean }[] = [];

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): () => void {
    const timer = { at: this.time + ms, fn, live: true };
    this.timers.push(timer);
    return () => (timer.live = false);
  }

  /** Moves time on and runs what fell due, in order. */
  advance(ms: number): void {
    this.time += ms;
    const due = this.timers.filter((t) => t.live && t.at <= this.time).sort((a, b) => a.at - b.at);
    this.timers = this.timers.filter((t) => !due.includes(t));
    for (const t of due) if (t.live) t.fn();
  }

  /** Timers still waiting. */
  get pending(): number {
    return this.timers.filter((t) => t.live).length;
  }
}
