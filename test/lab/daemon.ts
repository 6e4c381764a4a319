// The real mssmangler inside a lab: the one way lab tests start the daemon (`mssmangler run` through the
// built CLI in the router namespace), its JSON log lines, its firewall rules (`mssmangler rules
// --apply`), and the one reader of its /metrics (fetched from inside the router: the daemon listens on
// that namespace's loopback).
import { fileURLToPath } from 'node:url';
import type { Lab } from './lab.js';
import type { TrackedProcess } from './process-group.js';

/** The one reader of an exposition text, for lab and unit tests alike. */
export { sample } from '../support/exposition.js';

/** The built CLI (dist/src/cli/main.js), by absolute path: the daemon runs from `ip netns exec`. */
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** The daemon's default metrics address, as the router namespace sees it. */
export const METRICS_URL = 'http://127.0.0.1:9465/metrics';

/**
 * How long to wait for the daemon's "started" line. Node alone starts in well under a second, but in
 * several seconds while the whole suite runs on 2 cores.
 */
export const STARTUP_TIMEOUT_MS = 20_000;

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

/** `mssmangler rules --apply ARGS` inside the router (e.g. ['--config', file] or ['--set-mss', '1380']). */
export async function applyRules(lab: Lab, args: readonly string[]): Promise<void> {
  await lab.exec('router', process.execPath, [CLI, 'rules', '--apply', ...args]);
}

export interface DaemonOptions {
  /** Runs node under this command (e.g. setpriv and its flags); without it node runs directly. */
  wrapper?: readonly string[];
  /** The daemon's environment (default: the test's), e.g. a PATH whose iptables is iptables-legacy. */
  env?: NodeJS.ProcessEnv;
}

export interface RunningDaemon {
  readonly process: TrackedProcess;
  /** The JSON log lines so far. */
  logLines(): Array<Record<string, unknown>>;
  /** Waits for a log line whose msg is `message` after the first `skip` such lines. */
  waitForLog(message: string | RegExp, skip?: number, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/** Starts `mssmangler run --log-format json ARGS` in the router and waits for its "started" line. */
export async function startDaemon(lab: Lab, args: readonly string[], options: DaemonOptions = {}): Promise<RunningDaemon> {
  const argv = [...(options.wrapper ?? []), process.execPath, CLI, 'run', '--log-format', 'json', ...args];
  const child = lab.spawn('router', argv[0]!, argv.slice(1), options.env ? { env: options.env } : {});
  const logLines = (): Array<Record<string, unknown>> => jsonLines(child.stdout);
  const daemon: RunningDaemon = {
    process: child,
    logLines,
    async waitForLog(message, skip = 0, timeoutMs = STARTUP_TIMEOUT_MS) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hits = logLines().filter((l) => (typeof message === 'string' ? l['msg'] === message : message.test(String(l['msg']))));
        if (hits.length > skip) return hits[skip]!;
        if (!child.running) throw new Error(`daemon exited: ${child.stderr.trim()} ${child.stdout.trim()}`);
        if (Date.now() > deadline)
          throw new Error(`no log line ${String(message)} within ${timeoutMs} ms; log:\n${child.stdout}${child.stderr}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
  await daemon.waitForLog('started');
  return daemon;
}

/** The daemon's /metrics text (or another path of its server), fetched from inside the router. */
export async function scrape(lab: Lab, url = METRICS_URL): Promise<string> {
  return fetchInRouter(lab, url);
}
