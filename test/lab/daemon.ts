// The real mssmangler inside a lab: the built CLI's path, its JSON log lines, and its /metrics read from
// inside the router namespace (the daemon listens on that namespace's loopback).
import { fileURLToPath } from 'node:url';
import type { Lab } from './lab.js';

/** The built CLI (dist/src/cli/main.js), whatever the test's working directory. */
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** The JSON lines a process printed (other lines, e.g. from npm, are skipped). */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** GET a URL from inside the router namespace with node's fetch (no curl needed). */
export async function fetchInRouter(lab: Lab, url: string): Promise<string> {
  const script = `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(2000) }).then((r) => r.text()).then((t) => process.stdout.write(t))`;
  const { stdout } = await lab.exec('router', process.execPath, ['-e', script]);
  return stdout;
}
