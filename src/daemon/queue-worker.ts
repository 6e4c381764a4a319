// One queue worker: the queue, its packet handler and its route-MTU lookup, in one thread (a
// worker_thread in the daemon, the test's own thread in unit tests). The native parts come in as a
// parameter; the supervisor talks to it only through `port` (worker-protocol.ts). It counts into the
// shared memory the supervisor handed it and selects with the shared selection state.
import type { Config } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import { PacketCounters } from '../metrics/packet-counters.js';
import type { NativeBinding } from '../native/contract.js';
import { PathMtuCache } from '../pmtu/path-mtu-cache.js';
import { RouteMtu } from '../pmtu/route-mtu.js';
import { NfQueue } from '../queue/queue.js';
import { NfQueueError } from '../queue/queue-error.js';
import { resolveInterfaces } from '../rules/interfaces.js';
import { compileRules, type RuleSet } from '../rules/rule-set.js';
import { PacketHandler, type MssFloor } from './packet-handler.js';
import type { Generation, ToWorker, WorkerInit, WorkerPort } from './worker-protocol.js';

/** How often links are re-resolved and the queue's verdict errors folded into the counters. */
const HOUSEKEEPING_MS = 1000;

export class QueueWorker {
  private readonly counters: PacketCounters;
  private rules: RuleSet;
  private routes: RouteMtu | undefined;
  private queue: NfQueue | undefined;
  private handler: PacketHandler | undefined;
  private housekeeping: NodeJS.Timeout | undefined;
  private routeGeneration = -1;
  private verdictErrorsSeen = 0;
  private handlerErrorsLogged = 0;

  constructor(
    private readonly native: Pick<NativeBinding, 'Queue' | 'RouteMtu'>,
    private readonly init: WorkerInit,
    private readonly port: WorkerPort,
    private readonly log: Logger,
  ) {
    this.counters = PacketCounters.over(init.counters);
    this.rules = compileRules(init.config, init.epoch, init.selection);
  }

  /** Binds the queue and answers `ready`, or `failed` (then the caller ends the thread). */
  start(): boolean {
    const { config, queue } = this.init;
    this.resolveLinks();
    try {
      this.routes = new RouteMtu({ native: this.native.RouteMtu });
      this.routeGeneration = this.routes.generation;
      this.handler = new PacketHandler(this.rules, this.counters, new PathMtuCache(this.routes), floorOf(config), this.log);
      this.queue = new NfQueue(
        this.native,
        { queue, maxLen: config.queueMaxLen, failOpen: config.failOpen, onError: (err) => this.onHandlerError(err) },
        this.handler.handle,
      );
    } catch (err) {
      this.routes?.close();
      const code = err instanceof NfQueueError ? err.code : 'ERR_INTERNAL';
      this.port.postMessage({ type: 'failed', queue, code, message: err instanceof Error ? err.message : String(err) });
      this.port.close();
      return false;
    }
    this.port.on('message', (message) => this.onMessage(message));
    this.housekeeping = setInterval(() => this.houseKeep(), HOUSEKEEPING_MS);
    this.housekeeping.unref();
    this.log.info('queue bound', { queue, maxLen: config.queueMaxLen, failOpen: config.failOpen, portId: this.queue.portId });
    this.port.postMessage({ type: 'ready', queue, portId: this.queue.portId });
    return true;
  }

  private onMessage(message: ToWorker): void {
    switch (message.type) {
      case 'reload':
        this.reload(message);
        break;
      case 'stats': {
        const q = this.queue;
        this.port.postMessage({ type: 'stats', id: message.id, socket: q?.isOpen ? q.stats() : undefined });
        break;
      }
      case 'stop':
        this.stop();
        break;
    }
  }

  /** The supervisor checked and compiled this configuration already; here it only takes effect. */
  private reload(next: Generation): void {
    const rules = compileRules(next.config, next.epoch, next.selection);
    this.resolveLinks(rules);
    // Between batches: the next batch sees the new rules and the counters' new rows whole.
    this.counters.setRules(labelsOf(next.config));
    this.handler?.setRules(rules, floorOf(next.config));
    this.rules = rules;
    this.log.setLevel(next.config.log.level);
    this.port.postMessage({ type: 'reloaded', generation: next.generation, counters: this.counters.memory() });
  }

  private stop(): void {
    if (this.housekeeping) clearInterval(this.housekeeping);
    // Closing the queue accepts everything in flight before it unbinds.
    const packets = this.queue?.stats().packets ?? 0;
    this.queue?.close();
    this.routes?.close();
    this.port.postMessage({ type: 'stopped', packets });
    this.port.close();
  }

  private houseKeep(): void {
    const routes = this.routes;
    if (routes?.isOpen && routes.generation !== this.routeGeneration) {
      // Links come and go: the route watcher's generation moves on every link or route change.
      this.routeGeneration = routes.generation;
      this.resolveLinks();
    }
    const queue = this.queue;
    if (queue?.isOpen) {
      const verdictErrors = queue.stats().verdictErrors;
      if (verdictErrors > this.verdictErrorsSeen) {
        this.counters.countVerdictErrors(verdictErrors - this.verdictErrorsSeen);
        this.verdictErrorsSeen = verdictErrors;
      }
    }
  }

  private resolveLinks(rules: RuleSet = this.rules): void {
    const { missing } = resolveInterfaces(rules);
    // Every worker resolves the same names: the first queue speaks for all of them.
    if (missing.length > 0 && this.init.queue === this.init.config.queues.first) {
      this.log.warn('interfaces not present; rules naming them match nothing until they appear', { missing });
    }
  }

  private onHandlerError(err: unknown): void {
    this.counters.countHandlerError();
    // The addon already accepted the batch unchanged. Log the first few, then every thousandth.
    this.handlerErrorsLogged++;
    if (this.handlerErrorsLogged <= 10 || this.handlerErrorsLogged % 1000 === 0) {
      this.log.error('packet handler threw; the batch was accepted unchanged', {
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
        count: this.handlerErrorsLogged,
      });
    }
  }
}

export function labelsOf(config: Config): { name: string; action: string }[] {
  return config.rules.map((r) => ({ name: r.name, action: r.action }));
}

function floorOf(config: Config): MssFloor {
  return { ipv4: config.pmtu.floorIpv4, ipv6: config.pmtu.floorIpv6 };
}
