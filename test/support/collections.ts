// Counts the garbage collections that start while `work` runs, for tests that prove a hot path
// allocates nothing. Only collections whose start falls inside the synchronous run count: the test
// runner's own allocations before and after (reporting, timers) are not the code under test's.
import { PerformanceObserver, performance, type PerformanceEntry } from 'node:perf_hooks';

export async function collectionsDuring(work: () => void): Promise<number> {
  const entries: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => entries.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  const start = performance.now();
  work();
  const end = performance.now();
  // gc entries are delivered asynchronously.
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  return entries.filter((e) => e.startTime >= start && e.startTime <= end).length;
}
