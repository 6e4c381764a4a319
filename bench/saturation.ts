// Throughput at saturation: the generator flat out for a few seconds through one path, then the sink's
// counters, the queue's kernel counters and the consumer's CPU time, read before and after.
//
// Mangled SYNs per second = SYNs that reached the sink with TARGET_MSS / the generator's sending time.
// When the path is the bottleneck its queue is full the whole time and drains (at most maxLen packets)
// after the generator stops; those count too, an overestimate below 1% at the default length and
// duration, the same for both consumers.
import { PATHS, type PathName } from './paths.js';
import { busyFractions, readCoreTicks } from './cpu-usage.js';
import { generate } from './generator.js';
import { CONSUMER_CPU, GENERATOR_CPU, processCpu, type Family, type QueueCounts, type Rig } from './rig.js';

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
  /** Packets the consumer saw (entered the queue minus those the kernel dropped); NaN without a queue. */
  processed: number;
  queueDropped: number;
  userDropped: number;
  /** Consumer CPU seconds (user + system) per million packets processed; NaN without a consumer. */
  cpuPerMpkt: number;
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

export async function measureSaturation(
  rig: Rig,
  family: Family,
  path: PathName,
  count: number,
  consumerPid: number | undefined,
): Promise<SaturationSample> {
  const spec = PATHS[path];
  const sinkBefore = await rig.readSink(family);
  const queueBefore = spec.queue >= 0 ? await rig.readQueue(spec.queue) : null;
  const cpuBefore = processCpu(consumerPid);

  const ticksBefore = readCoreTicks();
  const run = await generate(rig, family, count);
  const busy = busyFractions(ticksBefore, readCoreTicks());
  const cpuAtEnd = processCpu(consumerPid);
  await rig.settle(spec.queue);

  const cpuAfter = processCpu(consumerPid);
  const queueAfter = spec.queue >= 0 ? await rig.readQueue(spec.queue) : null;
  const sinkAfter = await rig.readSink(family);

  const rewritten = sinkAfter.rewritten - sinkBefore.rewritten;
  const other = sinkAfter.other - sinkBefore.other;
  const delivered = spec.rewrites ? rewritten : rewritten + other;
  const queue = queueDelta(queueBefore, queueAfter);
  const user = cpuAfter.user - cpuBefore.user;
  const cpu = user + cpuAfter.system - cpuBefore.system;
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
    userPerMpkt: (user / queue.processed) * 1e6,
    consumerShare: (cpuAtEnd.user + cpuAtEnd.system - cpuBefore.user - cpuBefore.system) / run.seconds,
    generatorCoreBusy: busy[GENERATOR_CPU] ?? NaN,
    consumerCoreBusy: busy[CONSUMER_CPU] ?? NaN,
  };
}

function queueDelta(
  before: QueueCounts | null,
  after: QueueCounts | null,
): { processed: number; queueDropped: number; userDropped: number } {
  if (!before || !after) return { processed: NaN, queueDropped: NaN, userDropped: NaN };
  const queueDropped = after.queueDropped - before.queueDropped;
  const userDropped = after.userDropped - before.userDropped;
  return { processed: after.idSequence - before.idSequence - queueDropped - userDropped, queueDropped, userDropped };
}
