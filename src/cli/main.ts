#!/usr/bin/env node
// The mssmangler command: parse flags, build the configuration, hand over to the daemon or print/apply
// firewall rules. Every failure ends as one line (or one line per config problem) and a documented
// exit code (README "## Exit codes"; src/errors.ts ExitCode).
import { readFileSync } from 'node:fs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ErrorCode, ExitCode, MssmanglerError, exitCodeFor } from '../errors.js';
import { checkArgv, firewallOptions, ruleOptions, runOptions, type Argv } from './options.js';
import { checkConfigCommand } from './check-config-command.js';
import { explainCommand } from './explain-command.js';
import { rulesCommand } from './rules-command.js';
import { runCommand } from './run-command.js';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** What checkArgv's message travels in through yargs. */
class CheckError extends Error {}

export async function main(args: readonly string[]): Promise<number> {
  let exitCode: number = ExitCode.Ok;
  const setExit = (code: number): void => {
    exitCode = code;
  };
  const parser = yargs([...args])
    .scriptName('mssmangler')
    .usage('$0 <command> [options]\n\nRewrite the TCP MSS option of SYN and SYN/ACK segments from an NFQUEUE.')
    .command(
      'run',
      'run the daemon: bind the queue and rewrite MSS options by the rules',
      (y) =>
        y
          .options(runOptions)
          .example('$0 run --set-mss 1380', 'one rule: every queued SYN and SYN/ACK gets MSS 1380 at most')
          .example('$0 run --clamp-mss-to-pmtu --direction syn --queue 3', 'clamp SYNs from queue 3 to the path MTU')
          .example('$0 run --config /etc/mssmangler/config.yaml --log-level debug', 'rules from a file, flags override it'),
      async (argv) => setExit(await runCommand(argv as Argv)),
    )
    .command(
      'check-config <file>',
      'check a configuration file: "configuration OK", or every problem with its line',
      (y) =>
        y
          .positional('file', { type: 'string', describe: 'YAML configuration file' })
          .example('$0 check-config /etc/mssmangler/config.yaml', 'exit 0 when valid, 2 with one line per problem'),
      async (argv) => setExit(await checkConfigCommand(String(argv.file))),
    )
    .command(
      'rules',
      'print (or --apply / --remove) the firewall rules that queue what the rules need',
      (y) =>
        y
          .options({ ...ruleOptions, ...firewallOptions })
          .example('$0 rules --set-mss 1380', 'print the iptables and ip6tables commands')
          .example('$0 rules --config config.yaml --backend nft', 'print an nft -f script instead')
          .example('$0 rules --config config.yaml --apply', 'install them (idempotent)')
          .example('$0 rules --remove', 'delete every rule tagged mssmangler'),
      async (argv) => setExit(await rulesCommand(argv as Argv)),
    )
    .command(
      'explain <a> [b]',
      'which box changed the MSS: compare the handshakes in a capture near the client (A) and one near the server (B)',
      (y) =>
        y
          .positional('a', { type: 'string', describe: 'capture nearer the client (pcap or pcapng)' })
          .positional('b', { type: 'string', describe: 'capture nearer the server (optional)' })
          .options({ json: { type: 'boolean', describe: 'print one JSON document (docs/explain.md describes its fields)' } })
          .example('$0 explain client.pcap server.pcapng', 'match the handshakes of both captures and say what changed between them')
          .example('$0 explain client.pcap --json', 'every handshake of one capture as JSON'),
      async (argv) => setExit(await explainCommand(argv as Argv)),
    )
    .example('$0 run --set-mss 1380', 'clamp every queued SYN and SYN/ACK to MSS 1380')
    .example('$0 check-config /etc/mssmangler/config.yaml', 'validate a configuration file')
    .example('$0 rules --set-mss 1380 --apply', 'install the NFQUEUE rules that feed the daemon')
    .example('$0 explain client.pcap server.pcap', 'say which box between two capture points changed the MSS')
    .epilogue(
      'Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error, 3 missing privilege, 4 queue or port busy, 5 firewall command failed.',
    )
    .demandCommand(1, 'give a command: run, check-config, rules or explain')
    .check((argv) => {
      const problem = checkArgv(argv as Argv);
      if (problem !== null) throw new CheckError(problem);
      return true;
    })
    .strict()
    .help()
    .alias('h', 'help')
    .version(packageVersion())
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .showHelpOnFail(false)
    .fail((message, error) => {
      // yargs routes its own validation (YError), our check, and errors from handlers through here:
      // only the first two are usage errors.
      if (error instanceof MssmanglerError) throw error;
      if (error !== undefined && error !== null && !(error instanceof CheckError) && error.name !== 'YError') throw error;
      if (error instanceof CheckError) throw new MssmanglerError(ErrorCode.Usage, error.message);
      throw new MssmanglerError(ErrorCode.Usage, usageLine(message ?? error?.message ?? 'bad command line', args));
    });
  try {
    await parser.parseAsync();
  } catch (error) {
    return report(error);
  }
  return exitCode;
}

const COMMANDS = ['run', 'check-config', 'rules', 'explain'];

/** yargs' own messages, made one line that names the flag (with its dashes) and the fix. */
export function usageLine(message: string, args: readonly string[]): string {
  const line = message.replace(/\s*\n\s*/g, ' ').trim();
  const command = args.find((a) => COMMANDS.includes(a));
  const help = command === undefined ? 'mssmangler --help' : `mssmangler ${command} --help`;
  const unknown = /^Unknown arguments?: (.*)$/.exec(line);
  if (unknown !== null) {
    const names = unknown[1]!.split(', ');
    const flags = names.filter((n) => args.some((a) => a === `--${n}` || a.startsWith(`--${n}=`) || a === `-${n}`));
    if (flags.length > 0) {
      const shown = flags.map((f) => (f.length === 1 ? `-${f}` : `--${f}`)).join(', ');
      return `unknown flag ${shown}; ${help} lists the flags`;
    }
    return command === undefined
      ? `unknown command ${names[0]}; use one of ${COMMANDS.join(', ')}`
      : `unexpected argument ${names.join(' ')}; ${help} shows the usage`;
  }
  if (/^Not enough non-option arguments/.test(line) && command === 'check-config') {
    return 'check-config needs a FILE: mssmangler check-config /etc/mssmangler/config.yaml';
  }
  if (/^Not enough non-option arguments/.test(line) && command === 'explain') {
    return 'explain needs a capture: mssmangler explain client.pcap [server.pcap]';
  }
  if (/^Not enough arguments following: (.*)$/.test(line)) {
    const flag = /following: (.*)$/.exec(line)![1]!;
    return `--${flag} needs a value; ${help} describes it`;
  }
  return `${line}; ${help} shows the usage`;
}

export function report(error: unknown): number {
  if (error instanceof MssmanglerError) {
    process.stderr.write(`mssmangler: ${error.message}\n`);
    for (const line of error.details) process.stderr.write(`${line}\n`);
    return exitCodeFor(error);
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`mssmangler: unexpected failure (ERR_INTERNAL): ${message}\n`);
  return ExitCode.Runtime;
}

main(hideBin(process.argv)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.exitCode = report(error);
  },
);
