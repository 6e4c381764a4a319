// The results: medians and ratios per path, a plain-text table for the terminal and the
// "## NFQUEUE path" section of bench/RESULTS.md (other sections of that file are left as they are).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { LatencySample } from './latency.js';
import type { Machine } from './machine.js';
import type { BenchOptions } from './options.js';
import { PATHS, type PathName } from './paths.js';
import type { Family } from './rig.js';
import type { SaturationSample } from './saturation.js';
import { median } from './stats.js';

export interface PathResult {
  path: PathName;
  samples: SaturationSample[];
  /** CPU-per-packet samples at the paced rate (queue paths). */
  paced: SaturationSample[];
  latency: LatencySample[];
  /** Why the path was not measured, if it was not. */
  unavailable?: string;
}

export interface FamilyResult {
  family: Family;
  /** The latency measurements' offered load, SYN/s. */
  loadPps: number;
  paths: PathResult[];
}

export interface BenchResult {
  machine: Machine;
  loadAverage: number;
  options: BenchOptions;
  families: FamilyResult[];
  /** Free-form lines: consumer batch statistics, warnings. */
  notes: string[];
  /** Profiles of the consumers (--perf, --profile): a title and preformatted text each. */
  profiles: { title: string; text: string }[];
}

interface Summary {
  pps: number;
  lossPct: number;
  unmangled: number;
  cpuPerMpkt: number;
  userPerMpkt: number;
  consumerShare: number;
  vsKernel: number;
  vsC: number;
  cpuVsC: number;
  mainThreadPerMpkt: number;
  pacedCpuPerMpkt: number;
  pacedUserPerMpkt: number;
  pacedCpuVsC: number;
  pacedLoss: number;
  p50: number;
  p99: number;
  addedP50: number;
  addedP99: number;
  addedP50VsC: number;
  addedP99VsC: number;
  generatorCoreBusy: number;
  consumerCoreBusy: number;
}

function summarise(family: FamilyResult, result: PathResult): Summary {
  const pps = median(result.samples.map((s) => s.pps));
  const cpuPerMpkt = median(result.samples.map((s) => s.cpuPerMpkt));
  const of = (name: PathName) => family.paths.find((p) => p.path === name);
  const kernel = of('kernel');
  const c = of('c');
  const plain = of('plain');
  const paced = (r: PathResult | undefined) => (r ? median(r.paced.map((s) => s.cpuPerMpkt)) : NaN);
  const p50 = (r: PathResult | undefined) => (r ? median(r.latency.map((l) => l.p50Us)) : NaN);
  const p99 = (r: PathResult | undefined) => (r ? median(r.latency.map((l) => l.p99Us)) : NaN);
  const added = (r: PathResult | undefined, p: (r: PathResult | undefined) => number) => p(r) - p(plain);
  return {
    pps,
    lossPct: median(result.samples.map((s) => (s.loss / s.sent) * 100)),
    unmangled: result.samples.reduce((sum, s) => sum + s.unmangled, 0),
    cpuPerMpkt,
    userPerMpkt: median(result.samples.map((s) => s.userPerMpkt)),
    consumerShare: median(result.samples.map((s) => s.consumerShare)),
    vsKernel: kernel ? pps / median(kernel.samples.map((s) => s.pps)) : NaN,
    vsC: c ? pps / median(c.samples.map((s) => s.pps)) : NaN,
    cpuVsC: c ? cpuPerMpkt / median(c.samples.map((s) => s.cpuPerMpkt)) : NaN,
    mainThreadPerMpkt: median(result.samples.map((s) => s.mainThreadPerMpkt)),
    pacedCpuPerMpkt: paced(result),
    pacedUserPerMpkt: median(result.paced.map((s) => s.userPerMpkt)),
    pacedCpuVsC: paced(result) / paced(c),
    pacedLoss: result.paced.reduce((sum, s) => sum + s.loss, 0),
    p50: p50(result),
    p99: p99(result),
    addedP50: added(result, p50),
    addedP99: added(result, p99),
    addedP50VsC: added(result, p50) / added(c, p50),
    addedP99VsC: added(result, p99) / added(c, p99),
    generatorCoreBusy: median(result.samples.map((s) => s.generatorCoreBusy)),
    consumerCoreBusy: median(result.samples.map((s) => s.consumerCoreBusy)),
  };
}

const HEADINGS = [
  'path',
  'SYN/s',
  '× kernel',
  '× C',
  'loss %',
  'CPU s/Mpkt',
  'CPU × C',
  'user s/Mpkt',
  'main thread s/Mpkt',
  'full-core SYN/s',
  'consumer % of core',
  'cores busy %',
  'bound by',
  'paced CPU s/Mpkt',
  'paced × C',
  'paced user s/Mpkt',
  'p50 µs',
  'p99 µs',
  '+p50 µs',
  '+p99 µs',
  '+p50 × C',
  '+p99 × C',
  'loss at load',
];

function rows(family: FamilyResult): string[][] {
  return family.paths.map((result) => {
    const label = PATHS[result.path].label;
    if (result.unavailable) return [label, `not measured: ${result.unavailable}`, ...HEADINGS.slice(2).map(() => '')];
    const s = summarise(family, result);
    const lat = result.latency;
    const latLoss = lat.reduce((sum, l) => sum + l.loss, 0);
    const latSent = lat.reduce((sum, l) => sum + l.sent, 0);
    const latWrong = lat.reduce((sum, l) => sum + l.wrongMss, 0);
    const latBad = lat.reduce((sum, l) => sum + l.badChecksums, 0);
    return [
      label,
      int(s.pps),
      ratio(s.vsKernel),
      ratio(s.vsC),
      fixed(s.lossPct, 1) + (s.unmangled > 0 ? ` (${s.unmangled} unmangled!)` : ''),
      fixed(s.cpuPerMpkt, 2),
      ratio(s.cpuVsC),
      fixed(s.userPerMpkt, 2),
      fixed(s.mainThreadPerMpkt, 3),
      int(1e6 / s.cpuPerMpkt),
      fixed(s.consumerShare * 100, 0),
      `${fixed(s.generatorCoreBusy * 100, 0)}/${fixed(s.consumerCoreBusy * 100, 0)}`,
      boundBy(result.path, s.lossPct),
      fixed(s.pacedCpuPerMpkt, 2) + (s.pacedLoss > 0 ? ` (${s.pacedLoss} lost!)` : ''),
      ratio(s.pacedCpuVsC),
      fixed(s.pacedUserPerMpkt, 2),
      fixed(s.p50, 1),
      fixed(s.p99, 1),
      fixed(s.addedP50, 1),
      fixed(s.addedP99, 1),
      PATHS[result.path].queue >= 0 ? ratio(s.addedP50VsC) : '—',
      PATHS[result.path].queue >= 0 ? ratio(s.addedP99VsC) : '—',
      lat.length ? `${latLoss} of ${latSent}` + (latWrong + latBad > 0 ? ` (${latWrong} wrong MSS, ${latBad} bad checksums!)` : '') : '—',
    ];
  });
}

/** Queue overflow loss above this share of the sent SYNs means the consumer side could not keep up. */
const CONSUMER_BOUND_LOSS_PCT = 0.5;

/**
 * What limited a path's rate. Plain and kernel forwarding run entirely on the generator's core. A queue
 * path that lost packets overflowed its queue: its consumer side fell behind, for lack of capacity
 * (consumer near 100% of its core) or in stalls (well below: it lost its core to other work for tens
 * of milliseconds). One that lost none was limited by the generator's core, which also pays for
 * queueing, and then its SYN/s says nothing about its consumer: compare consumers by CPU s/Mpkt and
 * its inverse, "full-core SYN/s".
 */
function boundBy(path: PathName, lossPct: number): string {
  if (PATHS[path].queue < 0) return 'CPU 0';
  return lossPct > CONSUMER_BOUND_LOSS_PCT ? 'queue full' : 'generator';
}

/** The targets of issue 11 for the daemon (`mssmangler run`) against the C consumer, as met / missed lines. */
function targets(family: FamilyResult): string[] {
  const daemon = family.paths.find((p) => p.path === 'daemon');
  const c = family.paths.find((p) => p.path === 'c' && !p.unavailable);
  if (!daemon || daemon.unavailable || !c) return [];
  const s = summarise(family, daemon);
  const generatorBound = boundBy('c', summarise(family, c).lossPct) === 'generator' && boundBy('daemon', s.lossPct) === 'generator';
  const verdict = (value: number, ok: boolean) => (Number.isFinite(value) ? (ok ? 'met' : 'MISSED') : 'not measured');
  const lines = [
    `throughput at saturation ≥ 1.0 × C consumer: ${ratio(s.vsC)} → ${verdict(s.vsC, s.vsC >= 1.0)}${generatorBound ? ' (both generator-bound: compare CPU per packet instead)' : ''}`,
    `CPU per packet at saturation ≤ 1.1 × C consumer: ${ratio(s.cpuVsC)} → ${verdict(s.cpuVsC, s.cpuVsC <= 1.1)}`,
    `CPU per packet at ${int(daemon.paced[0] ? daemon.paced[0].sent / daemon.paced[0].seconds : NaN)} SYN/s paced ≤ 1.1 × C consumer: ${ratio(s.pacedCpuVsC)} → ${verdict(s.pacedCpuVsC, s.pacedCpuVsC <= 1.1)}`,
    `added latency p50 at ${int(family.loadPps)} SYN/s ≤ 1.1 × C consumer's (median of ${daemon.latency.length}): ${ratio(s.addedP50VsC)} → ${verdict(s.addedP50VsC, s.addedP50VsC <= 1.1)}`,
    `added latency p99 ≤ 1.2 × C consumer's (median of ${daemon.latency.length}): ${ratio(s.addedP99VsC)} → ${verdict(s.addedP99VsC, s.addedP99VsC <= 1.2)}`,
  ];
  // The same ratios for the addon with no packet work: what no consumer on nfqueue-bindings gets below,
  // whatever its JavaScript does (up to the noise between samples).
  const floor = family.paths.find((p) => p.path === 'floor' && !p.unavailable);
  if (floor) {
    const f = summarise(family, floor);
    lines.push(
      `for comparison, the addon's I/O floor (no packet work) against the C consumer: CPU per packet ${ratio(f.cpuVsC)} at saturation,` +
        ` ${ratio(f.pacedCpuVsC)} paced; added latency p50 ${ratio(f.addedP50VsC)}, p99 ${ratio(f.addedP99VsC)}`,
    );
  }
  return lines;
}

export function formatText(result: BenchResult): string {
  const out: string[] = [];
  for (const family of result.families) {
    const o = result.options;
    out.push(
      `\nIPv${family.family}: ${o.reps} × ${o.seconds} s at saturation; ${o.reps} × ${o.pacedSeconds} s at ${int(o.pacedRate)} SYN/s paced;` +
        ` ${o.latencyReps} × ${o.latencySeconds} s of latency at ${int(family.loadPps)} SYN/s (bursts of ${o.latencyBurst})`,
    );
    const table = [HEADINGS, ...rows(family)];
    const widths = HEADINGS.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length)));
    for (const row of table) out.push(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
    for (const line of targets(family)) out.push(`  target: ${line}`);
  }
  for (const note of result.notes) out.push(`note: ${note}`);
  for (const p of result.profiles) out.push('', `${p.title}:`, p.text);
  return out.join('\n');
}

export function formatMarkdown(result: BenchResult): string {
  const m = result.machine;
  const o = result.options;
  const out: string[] = [
    '## NFQUEUE path',
    '',
    `Measured ${m.date} on ${m.cpus} × ${m.cpuModel}, Linux ${m.kernel}, Node ${m.node}; load average ${result.loadAverage.toFixed(2)} at the start.`,
    `Command: \`npm run bench${o.argv.length ? ' -- ' + o.argv.join(' ') : ''}\` (${o.reps} repetitions of ${o.seconds} s per path at saturation` +
      ` and of ${o.pacedSeconds} s at ${int(o.pacedRate)} SYN/s paced (bursts of ${o.pacedBurst}), ${o.latencyReps} latency runs of ${o.latencySeconds} s (bursts of ${o.latencyBurst}); medians;` +
      ` batch ${o.batch}, queue length ${o.maxLen}, fail-open off).`,
    '',
  ];
  for (const family of result.families) {
    out.push(`### IPv${family.family}`, '');
    out.push(
      `Latency and "loss at load" at ${int(family.loadPps)} SYN/s offered (${o.loadFraction} × the slowest path's saturation rate, in bursts of ${o.latencyBurst}), ${o.latencyReps} runs of ${o.latencySeconds} s: medians of each run's p50 and p99.`,
      '',
    );
    out.push(`| ${HEADINGS.join(' | ')} |`, `| ${HEADINGS.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`);
    for (const row of rows(family)) out.push(`| ${row.join(' | ')} |`);
    out.push('');
    const t = targets(family);
    if (t.length) out.push('Targets (issue 11), `mssmangler run` against the C consumer:', '', ...t.map((l) => `- ${l}`), '');
    out.push('<details><summary>Samples (SYN/s, loss, consumer CPU s per M packets, consumer % of its core)</summary>', '');
    for (const p of family.paths) {
      if (p.unavailable) continue;
      const samples = p.samples
        .map((s) => `${int(s.pps)} / ${s.loss} / ${fixed(s.cpuPerMpkt, 2)} / ${fixed(s.consumerShare * 100, 0)}`)
        .join('; ');
      out.push(`- ${PATHS[p.path].label}: ${samples}`);
      if (p.paced.length)
        out.push(
          `  - paced (offered SYN/s / loss / CPU s/Mpkt / main thread s/Mpkt): ${p.paced.map((s) => `${int(s.sent / s.seconds)} / ${s.loss} / ${fixed(s.cpuPerMpkt, 2)} / ${fixed(s.mainThreadPerMpkt, 3)}`).join('; ')}`,
        );
      if (p.latency.length)
        out.push(`  - latency (p50 / p99 µs): ${p.latency.map((l) => `${fixed(l.p50Us, 1)} / ${fixed(l.p99Us, 1)}`).join('; ')}`);
    }
    out.push('', '</details>', '');
  }
  if (result.notes.length) out.push('Notes from the run:', '', ...result.notes.map((n) => `- ${n}`), '');
  if (result.profiles.length) {
    out.push("### Where the consumers' time goes", '');
    for (const p of result.profiles) out.push(`${p.title}:`, '', '```', p.text, '```', '');
  }
  out.push(METHOD);
  return out.join('\n');
}

const METHOD = `### Method

- Lab: three network namespaces on veth (test/lab/lab.ts): generator → router → sink, IPv4 and IPv6,
  offloads off. The generator is tools/syngen.c (raw socket, sendmmsg), sending Linux-shaped SYNs
  (MSS 1460, SACK-permitted, timestamps, window scale) with distinct source ports and sequence numbers.
- Paths, each a single rule in the router's mangle FORWARD chain matching \`-p tcp --tcp-flags SYN,RST SYN\`:
  none (plain forwarding); \`-j TCPMSS --set-mss 1380\` (kernel); \`-j NFQUEUE --queue-num 0\` with
  bench/c-consumer.c (raw netlink, recvmmsg batches, one sendmsg of verdicts per batch); \`--queue-num 2\`
  with the daemon itself, \`mssmangler run --queue 2 --set-mss 1380 --direction syn --no-fail-open
  --queue-maxlen 4096 --metrics-listen 127.0.0.1:9465 --log-level warn\`: supervisor, a worker thread
  for the queue, rules, counters and logging as users run it. The metrics server is on (the default)
  and scraped once, after the samples, for the daemon's batch sizes: an idle server costs nothing per
  packet, and the supervisor's periodic work (the event-loop-lag timer of the default metrics) shows
  in the "main thread" column. \`--queue-num 3\` with bench/consumer.ts \`--resend-unchanged\`, the
  addon's I/O floor: nfqueue-bindings and one JavaScript call per batch that resends every packet as it
  came (payload in the verdict, as for a rewrite) without parsing it. No consumer built on the addon
  does less, so its ratios to the C consumer are the least the daemon can reach (single samples scatter
  around them). On request (\`--paths ...,mssmangler\`) \`--queue-num 1\` with bench/consumer.ts: the
  packet core alone (parsePacket/rewriteMss per packet) on the main thread, to tell what the daemon
  adds. The consumers stay bound for the whole run so repetitions interleave the paths (the order
  rotates each repetition). No \`--queue-bypass\`; every consumer binds with fail-open
  OFF, so a full queue drops and the drop shows as loss instead of unmangled packets slipping through.
- Cores: the generator runs on CPU 0 (taskset), and with it every bit of kernel forwarding its sends
  trigger (veth delivers in the sender's softirq context): plain and kernel-TCPMSS forwarding are paid
  on CPU 0. Each consumer runs on CPU 1, where its verdicts also forward the packet on to the sink.
- Throughput: SYNs that reached the sink carrying MSS 1380, counted by an iptables rule with the
  \`tcpmss\` match in the sink's raw PREROUTING chain (a second rule counts any other SYN; both drop, so the
  sink never answers), divided by the generator's sending time. Every sample is flat out for the set time
  (the packet count comes from a warm-up run per path, which also warms up the JIT). Loss = sent − SYNs
  at the sink; for the queue paths it is mostly the kernel's queue_dropped.
- CPU: the run time of every thread of the consumer process (/proc/PID/task/*/schedstat, exact, not
  tick-sampled) over the sample, per million packets the consumer handled (id_sequence − user_dropped
  from /proc/net/netfilter/nfnetlink_queue: a packet dropped at a full queue gets no id). Kernel work done in the consumer's sendmsg
  (reinjecting and forwarding the packet) counts, for every consumer alike; "user s/Mpkt" is the
  user-space part (utime from /proc/PID/stat, tick-sampled), where they differ. The daemon's figure
  includes all its threads (supervisor, queue worker, JIT compiler, GC), all pinned to CPU 1; "main
  thread" is the supervisor's share (for the C consumer, its only thread).
- Paced: the same CPU measurement while the generator offers a fixed rate (default 50,000 SYN/s, in
  bursts of 8 SYNs every 160 µs), one sample per repetition and queue path, interleaved. Well below
  saturation the batches are small and what each wake-up costs (poll, JavaScript call, event-loop
  turn) weighs more than at saturation.
- "full-core SYN/s" = 10^6 / (CPU s/Mpkt): the rate the consumer would sustain with a whole core to
  itself, counting the kernel work its syscalls do. "bound by": plain and kernel forwarding run entirely
  on CPU 0; a queue path that lost more than 0.5% overflowed its queue (the consumer side was the limit);
  one that lost less was limited by CPU 0, which also pays for queueing, and then its SYN/s does not
  compare the consumers: their CPU s/Mpkt does.
- "consumer % of core": the consumer's CPU time while the generator ran, over the generator's time. A consumer-bound path (loss > 0) whose consumer got well under 100% lost
  its core to other work on the machine: its throughput says more about the machine than the consumer.
- "cores busy %": how busy the generator's core (CPU 0) and the consumer's core (CPU 1) were while the
  generator ran, from /proc/stat (whole machine, so anything else running shows up too). On the queue
  paths CPU 0 also pays for forwarding into the queue (building and sending the netlink message) and
  CPU 1 for the consumer and the reinjection; whichever is full is the bottleneck. A queue path whose
  CPU 0 is full while CPU 1 has room is limited by the generator side, not by its consumer: compare the
  consumers by CPU s/Mpkt then.
- Latency: tcpdump on the router's two interfaces (in on the generator side, out on the sink side,
  nanosecond kernel timestamps, pinned to CPU 0) while the generator offers a fixed load; each SYN's
  out-time minus its in-time, matched by source port and sequence number. "+p50/+p99" subtract plain
  forwarding's figure. The same captures check every forwarded SYN's MSS and TCP checksum. Several
  runs per path (\`--latency-reps\`, default 5), interleaved; the table shows the median of the runs'
  p50s and of their p99s (p99 swings several-fold between runs on a shared machine). "+p50 × C" is
  the daemon's added p50 over the C consumer's. The generator spaces the SYNs evenly
  (\`--latency-burst\`, default 1): a burst arrives at line rate, so with bursts of 64 (the default
  before 2026-12-06) the p50 measured the queue behind half a burst, a throughput figure, more than
  the delay a SYN meets at the offered load.
`;

/** Replaces the section under `heading` (up to the next `## `) in the results file, or appends it. */
export function writeSection(file: string, section: string, heading = '## NFQUEUE path'): void {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# mssmangler benchmark results\n';
  const start = text.indexOf(`\n${heading}\n`);
  let next: string;
  if (start < 0) {
    next = `${text.trimEnd()}\n\n${section.trimEnd()}\n`;
  } else {
    const after = text.indexOf('\n## ', start + heading.length + 1);
    const tail = after < 0 ? '' : `\n${text.slice(after + 1)}`;
    next = `${text.slice(0, start).trimEnd()}\n\n${section.trimEnd()}\n${tail}`;
  }
  writeFileSync(file, next);
}

function int(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—';
}

function fixed(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '—';
}

function ratio(n: number): string {
  return Number.isFinite(n) ? `${n.toFixed(2)}×` : '—';
}
