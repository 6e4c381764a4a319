// Throughput at saturation: the generator flat out for a few seconds through one path, then the sink's
// counters, the queue's kernel counters and the consumer's CPU time, read before and after. The same
// sample at a fixed offered rate is the paced mode: CPU per packet at moderate load.
//
// Mangled SYNs per second = SYNs that reached the sink with TARGET_MSS / the generator's sending time.
// When the path is the bottleneck its queue is full the whole time and drains (at most maxLen packets)
// after the generator stops; those count too, an overestimate below 1% at the default length and
// duration, the same for both consumers.
import { PATHS, type PathName } from './paths.js';
import { busyFractions, readCoreTicks } from './cpu-usage.js';
import { generate, type GeneratorOptions } from './generator.js';
import {
  CONSUMER_CPU,
  GENERATOR_CPU,
  processCpu,
  sum,
  threadCpuDelta,
  threadCpuNs,
  type Family,
  type QueueCounts,
  type Rig,
} from './rig.js';

export interface SaturationSample {
  sent: number;
  seconds: number;
  /** SYNs at the sink carrying TARGET_MSS (for plain forwarding: every SYN at the sink). */
  delivered: number;
  /** SYNs at the sink without TARGET_MSS on a rewriting path: must be 0. */
  unmangled: number;
  /** delivered / seconds. */
  pps: number;
  /** sent - everything that reached the sink. */
  loss: number;
  /** Packets the consumer saw (ids handed out minus those the socket could not take); NaN without a queue. */
  processed: number;
  queueDropped: number;
  userDropped: number;
  /** Consumer CPU seconds (user + system, every thread: schedstat) per million packets processed; NaN
   * without a consumer. */
  cpuPerMpkt: number;
  /** The part of it spent on the process's main thread (the daemon's supervisor; the C consumer's
   * only thread when it runs one queue). */
  mainThreadPerMpkt: number;
  /** CPU seconds of each thread over the sample, by thread id. */
  threads: Map<number, number>;
  /** The user-space part of it: the consumers differ here; the system part (netlink, reinjection,
   * forwarding on to the sink) is mostly the same kernel work for both. */
  userPerMpkt: number;
  /** The consumer's CPU time while the generator ran over the generator's time: near 1 when it had its
   * core to itself and needed all of it; well below 1 on a consumer-bound path means other work took
   * the core. */
  consumerShare: number;
  /** Busy fraction of the generator's and the consumer's cores while the generator ran (whole machine). */
  generatorCoreBusy: number;
  consumerCoreBusy: number;
}

/** What a sample sends through: the queues its rule feeds (none: -1 or empty) and whether it rewrites. */
export interface SampleTarget {
  queues: readonly number[];
  rewrites: boolean;
}

export function targetOf(path: PathName): SampleTarget {
  const spec = PATHS[path];
  return { queues: spec.queue >= 0 ? [spec.queue] : [], rewrites: spec.rewrites };
}

/** `count` SYNs as fast as the generator goes (or at options.rate) through `path` or `target`. */
export async function measureSaturation(
  rig: Rig,
  family: Family,
  path: PathName | SampleTarget,
  count: number,
  consumerPid: number | undefined,
  generator: GeneratorOptions = {},
): Promise<SaturationSample> {
  const spec = typeof path === 'string' ? targetOf(path) : path;
  const sinkBefore = await rig.readSink(family);
  const queueBefore = await readQueues(rig, spec.queues);
  const cpuBefore = processCpu(consumerPid);
  const threadsBefore = threadCpuNs(consumerPid);

  const ticksBefore = readCoreTicks();
  const run = await generate(rig, family, count, generator);
  const busy = busyFractions(ticksBefore, readCoreTicks());
  const threadsAtEnd = threadCpuNs(consumerPid);
  await rig.settle(spec.queues);

  const cpuAfter = processCpu(consumerPid);
  const threads = threadCpuDelta(threadsBefore, threadCpuNs(consumerPid));
  const queueAfter = await readQueues(rig, spec.queues);
  const sinkAfter = await rig.readSink(family);

  const rewritten = sinkAfter.rewritten - sinkBefore.rewritten;
  const other = sinkAfter.other - sinkBefore.other;
  const delivered = spec.rewrites ? rewritten : rewritten + other;
  const queue = queueDelta(queueBefore, queueAfter);
  const user = cpuAfter.user - cpuBefore.user;
  const cpu = consumerPid === undefined ? NaN : sum(threads.values());
  return {
    sent: run.sent,
    seconds: run.seconds,
    delivered,
    unmangled: spec.rewrites ? other : 0,
    pps: delivered / run.seconds,
    loss: run.sent - rewritten - other,
    processed: queue.processed,
    queueDropped: queue.queueDropped,
    userDropped: queue.userDropped,
    cpuPerMpkt: (cpu / queue.processed) * 1e6,
    mainThreadPerMpkt: ((threads.get(consumerPid ?? -1) ?? NaN) / queue.processed) * 1e6,
    threads,
    userPerMpkt: (user / queue.processed) * 1e6,
    consumerShare: sum(threadCpuDelta(threadsBefore, threadsAtEnd).values()) / run.seconds,
    generatorCoreBusy: busy[GENERATOR_CPU] ?? NaN,
    consumerCoreBusy: busy[CONSUMER_CPU] ?? NaN,
  };
}

/** The kernel's counters of several queues, summed; null when there are none or one has no reader. */
async function readQueues(rig: Rig, queues: readonly number[]): Promise<QueueCounts | null> {
  if (queues.length === 0) return null;
  const total: QueueCounts = { waiting: 0, queueDropped: 0, userDropped: 0, idSequence: 0 };
  for (const q of queues) {
    const c = await rig.readQueue(q);
    if (!c) return null;
    total.waiting += c.waiting;
    total.queueDropped += c.queueDropped;
    total.userDropped += c.userDropped;
    total.idSequence += c.idSequence;
  }
  return total;
}

function queueDelta(
  before: QueueCounts | null,
  after: QueueCounts | null,
): { processed: number; queueDropped: number; userDropped: number } {
  if (!before || !after) return { processed: NaN, queueDropped: NaN, userDropped: NaN };
  const queueDropped = after.queueDropped - before.queueDropped;
  const userDropped = after.userDropped - before.userDropped;
  // The kernel numbers a packet after the queue-length check (__nfqnl_enqueue_packet): one dropped at
  // a full queue never gets an id; one the socket could not take (user_dropped) has one.
  return { processed: after.idSequence - before.idSequence - userDropped, queueDropped, userDropped };
}
