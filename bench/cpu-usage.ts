// How busy each core was over a sample, from /proc/stat (system-wide, in USER_HZ ticks). On the queue
// paths the generator's core also pays for forwarding into the queue and the consumer's core for the
// reinjection: whichever core is full is the bottleneck, and a path whose generator core is full while
// the consumer core has room measures the generator, not the consumer.
import { readFileSync } from 'node:fs';

export interface CoreTicks {
  busy: number;
  total: number;
}

/** Busy and total ticks per core so far (busy: everything but idle and iowait). */
export function readCoreTicks(): CoreTicks[] {
  const cores: CoreTicks[] = [];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already inside user)
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    cores[Number(m[1])] = { busy: total - f[3]! - f[4]!, total };
  }
  return cores;
}

/** Busy fraction (0..1) of each core between two readings. */
export function busyFractions(before: readonly CoreTicks[], after: readonly CoreTicks[]): number[] {
  return after.map((a, i) => {
    const b = before[i] ?? { busy: 0, total: 0 };
    const total = a.total - b.total;
    return total > 0 ? (a.busy - b.busy) / total : NaN;
  });
}
