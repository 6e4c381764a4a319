// Reading the configuration from disk: the only place the config layer does I/O. The daemon calls
// loadConfig at start and again on SIGHUP with the same source, and swaps its Config reference only
// when the result is ok (a bad reload leaves the old rules running).
import { readFile, stat } from 'node:fs/promises';
import type { Config } from './config.js';
import type { ConfigFlags } from './flags.js';
import { buildConfig } from './parse.js';
import type { ConfigProblem, ConfigResult } from './problem.js';

export interface ConfigSource {
  /** null: flags only. */
  readonly file: string | null;
  readonly flags: ConfigFlags;
}

const S_IWGRP = 0o020;
const S_IWOTH = 0o002;

export async function loadConfig(source: ConfigSource): Promise<ConfigResult<Config>> {
  if (source.file === null) return buildConfig(null, source.flags);
  const read = await readConfigFile(source.file);
  if (typeof read !== 'string') return { ok: false, problems: [read] };
  return buildConfig({ text: read, name: source.file }, source.flags);
}

/** The file's text, or the problem that stops us from trusting it. */
export async function readConfigFile(file: string): Promise<string | ConfigProblem> {
  const problem = (message: string): ConfigProblem => ({ file, line: null, column: null, path: '', message });
  let text: string;
  try {
    const info = await stat(file);
    if (info.isDirectory()) return problem('is a directory; give the path of a YAML file');
    const insecure = insecureReason(info.mode, info.uid, info.gid, process.getuid?.() ?? -1);
    if (insecure !== null) return problem(insecure);
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return problem('does not exist; check the path, or create it (see README "## Configuration")');
    if (code === 'EACCES') return problem("cannot be read (permission denied); make it readable by the daemon's user");
    return problem(`cannot be read (${code ?? String(error)})`);
  }
  return text;
}

/** Running as root, a file someone else can change decides what root does to every SYN: refuse it. */
export function insecureReason(mode: number, uid: number, gid: number, processUid: number): string | null {
  if (processUid !== 0) return null;
  if (uid !== 0) return `is owned by uid ${uid}, who could change what root runs; chown root it`;
  if ((mode & S_IWOTH) !== 0) return `is writable by every user (mode ${(mode & 0o777).toString(8)}); run chmod o-w on it`;
  if ((mode & S_IWGRP) !== 0 && gid !== 0) {
    return `is writable by group ${gid} (mode ${(mode & 0o777).toString(8)}); run chmod g-w on it`;
  }
  return null;
}
