// Run a command to completion and fail loudly with its stderr: lab set-up steps must not fail quietly.
import { execFile } from 'node:child_process';

export interface RunResult {
  stdout: string;
  stderr: string;
}

export function run(command: string, args: readonly string[], input?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`${command} ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
      } else {
        resolve({ stdout, stderr });
      }
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Like run() but never rejects: for cleanup, where a missing object is fine. */
export function runQuiet(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve) => execFile(command, args, () => resolve()));
}
