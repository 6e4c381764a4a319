// A metric whose samples are computed when the registry is scraped. prom-client's Registry accepts any
// object with name, help, type and get(); this one lets a histogram be read from bucket counts the
// packet path keeps itself, where prom-client's own Histogram would need observe() per packet and a
// label object per call.
import type { Metric } from 'prom-client';

export type MetricKind = 'counter' | 'gauge' | 'histogram';

export interface Sample {
  /** Defaults to the metric's name; histograms use name_bucket, name_sum, name_count. */
  readonly metricName?: string;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
}

export type SampleReader = () => readonly Sample[] | Promise<readonly Sample[]>;

export class CollectedMetric {
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricKind,
    private readonly read: SampleReader,
  ) {}

  async get(): Promise<{ name: string; help: string; type: MetricKind; aggregator: string; values: readonly Sample[] }> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: await this.read() };
  }

  /** The registry's declared parameter type is a union of its own classes; it only calls get(). */
  asRegistryMetric(): Metric<string> {
    return this as unknown as Metric<string>;
  }
}

/**
 * Samples of one histogram series from non-cumulative slot counts (the last slot is +Inf), in the
 * exposition's cumulative form.
 */
export function histogramSamples(
  name: string,
  labels: Readonly<Record<string, string | number>>,
  bounds: readonly number[],
  slots: Float64Array,
  offset: number,
  sum: number,
  out: Sample[],
): void {
  let cumulative = 0;
  for (let i = 0; i < bounds.length; i++) {
    cumulative += slots[offset + i]!;
    out.push({ metricName: `${name}_bucket`, labels: withLabel(labels, 'le', bounds[i]!), value: cumulative });
  }
  cumulative += slots[offset + bounds.length]!;
  out.push({ metricName: `${name}_bucket`, labels: withLabel(labels, 'le', '+Inf'), value: cumulative });
  out.push({ metricName: `${name}_sum`, labels, value: sum });
  out.push({ metricName: `${name}_count`, labels, value: cumulative });
}

/**
 * A copy of `labels` with one more. Not `{ ...labels, [key]: value }`: on Node 20 (V8 11.3) that
 * clone was measured allocating in the old generation, so every scrape left about 20 kB there (one or
 * two rules) for the next full collection, which comes only after megabytes: the daemon's RSS crept
 * for tens of minutes (docs/reliability.md, "Soak"). A copy built key by key stays young.
 */
export function withLabel(
  labels: Readonly<Record<string, string | number>>,
  key: string,
  value: string | number,
): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const k in labels) out[k] = labels[k]!;
  out[key] = value;
  return out;
}
