// The only way mssmangler runs another program: one of three firewall binaries, through execFile or
// spawn (never a shell), with every argument checked against a narrow pattern first. Config values that
// reach these arguments were validated already; this is the second lock.
import { spawn } from 'node:child_process';
import { ErrorCode, MssmanglerError } from '../errors.js';

export const FIREWALL_BINARIES = ['iptables', 'ip6tables', 'nft'] as const;
export type FirewallBinary = (typeof FIREWALL_BINARIES)[number];

/** A firewall command that has not finished by then is killed and counts as failed: a wedged iptables
 * (say, waiting on a lock) must not stall the firewall guard's checks for ever. */
export const COMMAND_TIMEOUT_MS = 10_000;

/** Letters, digits and the punctuation prefixes, ports, marks and our options use. No spaces, quotes,
 * shell metacharacters or leading "--" tricks beyond the options we write ourselves. */
const SAFE_ARGUMENT = /^[A-Za-z0-9_.:,/!+-]{1,64}$/;

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Injected so tests can record commands instead of running them. */
export type CommandRunner = (binary: FirewallBinary, args: readonly string[], input?: string) => Promise<CommandResult>;

export function assertSafeArguments(binary: string, args: readonly string[]): asserts binary is FirewallBinary {
  if (!(FIREWALL_BINARIES as readonly string[]).includes(binary)) {
    throw new MssmanglerError(ErrorCode.FirewallUnsafeArgument, `refusing to run "${binary}": only ${FIREWALL_BINARIES.join(', ')}`);
  }
  for (const arg of args) {
    if (!SAFE_ARGUMENT.test(arg)) {
      throw new MssmanglerError(
        ErrorCode.FirewallUnsafeArgument,
        `refusing to pass ${JSON.stringify(arg)} to ${binary}: arguments may only hold letters, digits and _ . : , / ! + -`,
      );
    }
  }
}

/** Runs the binary with arguments and optional stdin; resolves with its exit code (never rejects on a
 * non-zero exit, which callers interpret). A missing binary is an MssmanglerError. */
export const runCommand: CommandRunner = async (binary, args, input) => {
  assertSafeArguments(binary, args);
  return await new Promise<CommandResult>((resolve, reject) => {
    // No stdin pipe unless there is input: ending an empty one raced the command's exit, and about
    // one listing in four (one per family at every scrape) failed that write with EPIPE.
    const child =
      input === undefined
        ? spawn(binary, args, { shell: false, stdio: ['ignore', 'pipe', 'pipe'], timeout: COMMAND_TIMEOUT_MS })
        : spawn(binary, args, { shell: false, stdio: ['pipe', 'pipe', 'pipe'], timeout: COMMAND_TIMEOUT_MS });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (error: NodeJS.ErrnoException) => {
      const why =
        error.code === 'ENOENT'
          ? `${binary} is not installed (or not on PATH); install it (Debian: apt-get install iptables nftables)`
          : `${binary} could not start: ${error.message}`;
      reject(new MssmanglerError(ErrorCode.Firewall, why, { cause: error }));
    });
    child.on('close', (code, signal) =>
      resolve(
        code !== null
          ? { code, stdout, stderr }
          : { code: 1, stdout, stderr: `${stderr}${binary} killed by ${signal} (timeout ${COMMAND_TIMEOUT_MS} ms)` },
      ),
    );
    if (input !== undefined && child.stdin !== null) {
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    }
  });
};
