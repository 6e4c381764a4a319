// `mssmangler check-config FILE`: the same parse the daemon does at start and on reload.
import { ExitCode } from '../errors.js';
import { loadConfig } from '../config/load.js';
import { formatProblem } from '../config/problem.js';

export async function checkConfigCommand(file: string): Promise<number> {
  const result = await loadConfig({ file, flags: {} });
  if (result.ok) {
    process.stdout.write('configuration OK\n');
    return ExitCode.Ok;
  }
  for (const problem of result.problems) process.stderr.write(`${formatProblem(problem)}\n`);
  return ExitCode.Usage;
}
