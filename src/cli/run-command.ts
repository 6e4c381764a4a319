// `mssmangler run`: build the configuration from the file and flags, then hand over to the daemon.
import { resolve } from 'node:path';
import { ExitCode } from '../errors.js';
import type { ConfigSource } from '../config/load.js';
import { loadConfig } from '../config/load.js';
import { formatProblem } from '../config/problem.js';
import { startDaemon } from '../daemon/daemon.js';
import { configFlags, type Argv } from './options.js';

export async function runCommand(argv: Argv): Promise<number> {
  const source: ConfigSource = {
    // Absolute, so a reload finds the same file whatever the working directory is by then.
    file: typeof argv.config === 'string' ? resolve(argv.config) : null,
    flags: configFlags(argv),
  };
  const result = await loadConfig(source);
  if (!result.ok) {
    for (const problem of result.problems) process.stderr.write(`${formatProblem(problem)}\n`);
    return ExitCode.Usage;
  }
  await startDaemon(result.config, { source });
  return ExitCode.Ok;
}
