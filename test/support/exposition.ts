// Reading a Prometheus exposition text in tests: one sample reader, exact label values.

/**
 * The sum of the samples of `name` in an exposition text whose labels include every pair of `labels`
 * (exact values; other labels are ignored); 0 if there is none.
 */
export function sample(text: string, name: string, labels: Record<string, string | number> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^([^{\s]+)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have: Record<string, string> = {};
    for (const pair of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) have[pair[1]!] = pair[2]!;
    if (Object.entries(labels).every(([k, v]) => have[k] === String(v))) total += Number(m[3]);
  }
  return total;
}
