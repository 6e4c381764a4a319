// `mssmangler explain A [B] [--json]`: which box changed the MSS, from one or two packet captures
// (docs/explain.md). A is the capture nearer the client, B nearer the server.
import { ExitCode } from '../errors.js';
import { explainCaptures } from '../explain/explain.js';
import { Progress } from '../explain/progress.js';
import { writeJsonReport, writeTextReport } from '../explain/report-output.js';
import { wantsColour } from '../explain/text-report.js';
import type { Argv } from './options.js';

export async function explainCommand(argv: Argv): Promise<number> {
  const pathA = String(argv['a']);
  const pathB = typeof argv['b'] === 'string' ? argv['b'] : null;
  const progress = Progress.enabled(process.stderr) ? new Progress(process.stderr, pathB === null ? [pathA] : [pathA, pathB]) : null;
  let explained;
  try {
    explained = await explainCaptures(
      pathA,
      pathB,
      progress === null ? {} : { onProgress: (c, read, total) => progress.update(c, read, total) },
    );
  } finally {
    progress?.done();
  }
  const { pairs, twoCaptures, captures } = explained;
  // A capture cut mid-record (tcpdump killed, a disk full) still explains what it holds; say so.
  for (const capture of captures) {
    if (capture.summary.truncatedAt !== null) {
      process.stderr.write(
        `mssmangler: ${capture.path}: capture ends mid-record at byte ${capture.summary.truncatedAt}; explained the ${capture.summary.packets} packets before it\n`,
      );
    }
  }
  const write = (text: string): void => void process.stdout.write(text);
  if (argv.json === true) writeJsonReport(pairs, twoCaptures, write);
  else writeTextReport(pairs, twoCaptures, { colour: wantsColour(process.stdout, process.env) }, write);
  return ExitCode.Ok;
}
