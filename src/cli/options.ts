// The command line's options table and the one pure check over parsed flags (jest-cli args.ts): every
// message names the flag and how to fix it, and fits on one line. yargs only parses; it does not judge
// choices or ranges, because its own messages span several lines.
import type { Options } from 'yargs';
import { LOG_FORMATS, LOG_LEVELS, MSS_MAX_IPV4, MSS_MIN } from '../config/config.js';
import type { ConfigFlags } from '../config/flags.js';
import { parseListen } from '../config/field-syntax.js';
import { QUEUE_MAX, QUEUE_MAXLEN_MAX } from '../config/parse.js';
import { parseQueueRange } from '../config/queue-range.js';

export const DIRECTIONS = ['syn', 'synack', 'both'] as const;
export const BACKENDS = ['iptables', 'nft'] as const;
export const FAMILIES = ['4', '6', 'both'] as const;

export const configOption: Options = {
  type: 'string',
  describe: 'YAML configuration file (see README "## Configuration")',
  requiresArg: true,
};

/** Flags that shape the rules; shared by `run` and `rules`. */
export const ruleOptions: Record<string, Options> = {
  config: configOption,
  queue: { type: 'number', describe: 'NFQUEUE number, 0..65535 (default 0)', requiresArg: true },
  'queue-balance': {
    type: 'string',
    describe: 'read queues FIRST:LAST, one worker thread each (iptables --queue-balance)',
    requiresArg: true,
  },
  'queue-cpu-fanout': { type: 'boolean', describe: 'rules spread flows over the queues by CPU (--queue-cpu-fanout, nft fanout)' },
  'set-mss': {
    type: 'number',
    describe: `set the MSS to N (${MSS_MIN}..${MSS_MAX_IPV4}), like iptables TCPMSS --set-mss`,
    requiresArg: true,
  },
  'clamp-mss-to-pmtu': { type: 'boolean', describe: 'set the MSS to the path MTU minus the IP and TCP headers' },
  'allow-increase': { type: 'boolean', describe: 'also raise a smaller MSS (the kernel target never does)' },
  direction: { type: 'string', describe: 'which handshake segments: syn, synack or both (default both)', requiresArg: true },
};

/** Flags only `run` has. */
export const runOptions: Record<string, Options> = {
  ...ruleOptions,
  'dry-run': { type: 'boolean', describe: 'count and log what would change, send every packet unchanged' },
  'metrics-listen': { type: 'string', describe: 'HOST:PORT for /metrics, or off (default 127.0.0.1:9465)', requiresArg: true },
  'log-level': { type: 'string', describe: `one of ${LOG_LEVELS.join(', ')} (default info)`, requiresArg: true },
  'log-format': { type: 'string', describe: 'json (default, journald-friendly) or text', requiresArg: true },
  'fail-open': { type: 'boolean', describe: 'accept packets when the queue is full (default on; --no-fail-open drops them)' },
  'queue-maxlen': { type: 'number', describe: `kernel queue length, 1..${QUEUE_MAXLEN_MAX} (default 4096)`, requiresArg: true },
  'manage-firewall': {
    type: 'boolean',
    describe: 'install the NFQUEUE rules, restore them when they vanish, remove them at stop (docs/firewall.md)',
  },
};

/** Flags only `rules` has (besides ruleOptions). */
export const firewallOptions: Record<string, Options> = {
  backend: { type: 'string', describe: 'iptables (default; also ip6tables) or nft', requiresArg: true },
  family: { type: 'string', describe: '4, 6 or both (default both)', requiresArg: true },
  apply: { type: 'boolean', describe: 'install the rules (idempotent; replaces ours if they differ)' },
  remove: { type: 'boolean', describe: 'delete every rule tagged mssmangler (and nothing else)' },
};

/** The flags as yargs hands them over: any flag may be absent, repeated (an array) or of the wrong type. */
export type Argv = Readonly<Record<string, unknown>>;

function integerProblem(argv: Argv, flag: string, min: number, max: number): string | null {
  const value = argv[flag];
  if (value === undefined) return null;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    return `--${flag} needs an integer ${min}..${max}`;
  }
  if (value < min || value > max) return `--${flag} ${value} is out of range; use ${min}..${max}`;
  return null;
}

function choiceProblem(argv: Argv, flag: string, choices: readonly string[]): string | null {
  const value = argv[flag];
  if (value === undefined) return null;
  if (choices.includes(String(value))) return null;
  return `--${flag} ${String(value)} is not allowed; use one of ${choices.join(', ')}`;
}

/** null when the flags make sense together, else one line naming the flag and the fix. Pure. */
export function checkArgv(argv: Argv): string | null {
  const command = Array.isArray(argv._) ? String(argv._[0] ?? '') : '';
  for (const [key, value] of Object.entries(argv)) {
    // yargs also stores each flag under a camelCase alias: report the --kebab-case one only.
    if (key !== '_' && key.length > 1 && !/[$A-Z]/.test(key) && Array.isArray(value)) {
      return `--${key} was given ${value.length} times; give it once`;
    }
  }
  const problems = [
    integerProblem(argv, 'queue', 0, QUEUE_MAX),
    integerProblem(argv, 'queue-maxlen', 1, QUEUE_MAXLEN_MAX),
    integerProblem(argv, 'set-mss', MSS_MIN, MSS_MAX_IPV4),
    choiceProblem(argv, 'direction', DIRECTIONS),
    choiceProblem(argv, 'log-level', LOG_LEVELS),
    choiceProblem(argv, 'log-format', LOG_FORMATS),
    choiceProblem(argv, 'backend', BACKENDS),
    choiceProblem(argv, 'family', FAMILIES),
  ];
  const first = problems.find((p) => p !== null);
  if (first !== undefined && first !== null) return first;
  if (argv['set-mss'] !== undefined && argv['clamp-mss-to-pmtu'] === true) {
    return '--set-mss and --clamp-mss-to-pmtu are exclusive: pick one';
  }
  if (argv['queue-balance'] !== undefined) {
    if (argv.queue !== undefined)
      return '--queue and --queue-balance are exclusive: --queue-balance FIRST:LAST already names the first queue';
    const range = parseQueueRange(String(argv['queue-balance']), ':');
    if (typeof range === 'string') return `--queue-balance: ${range}`;
  }
  if (argv.apply === true && argv.remove === true) return '--apply and --remove are exclusive: pick one';
  const listen = argv['metrics-listen'];
  if (typeof listen === 'string' && listen !== 'off') {
    const parsed = parseListen(listen);
    if (typeof parsed === 'string') return `--metrics-listen: ${parsed}; write e.g. 127.0.0.1:9465, [::1]:9465 or off`;
  }
  if (typeof argv.config === 'string' && argv.config === '') return '--config needs a file name';
  const ruleFlags = argv['set-mss'] !== undefined || argv['clamp-mss-to-pmtu'] === true;
  const needsRules = command === 'run' || (command === 'rules' && argv.remove !== true);
  if (needsRules && argv.config === undefined && !ruleFlags) {
    return `${command} needs rules: give --config FILE, or --set-mss N or --clamp-mss-to-pmtu`;
  }
  if (argv.config === undefined && !ruleFlags) {
    if (argv['allow-increase'] !== undefined) return '--allow-increase needs a rule: add --set-mss N or --clamp-mss-to-pmtu';
    if (argv.direction !== undefined) return '--direction needs a rule: add --set-mss N or --clamp-mss-to-pmtu';
  }
  return null;
}

/** The parsed flags in the config layer's terms. */
export function configFlags(argv: Argv): ConfigFlags {
  const num = (k: string): number | undefined => (typeof argv[k] === 'number' ? (argv[k] as number) : undefined);
  const str = (k: string): string | undefined => (typeof argv[k] === 'string' ? (argv[k] as string) : undefined);
  const bool = (k: string): boolean | undefined => (typeof argv[k] === 'boolean' ? (argv[k] as boolean) : undefined);
  return {
    queue: num('queue'),
    queueBalance: str('queue-balance'),
    queueCpuFanout: bool('queue-cpu-fanout'),
    queueMaxLen: num('queue-maxlen'),
    failOpen: bool('fail-open'),
    dryRun: bool('dry-run'),
    metricsListen: str('metrics-listen'),
    logLevel: str('log-level'),
    logFormat: str('log-format'),
    setMss: num('set-mss'),
    clampMssToPmtu: argv['clamp-mss-to-pmtu'] === true ? true : undefined,
    allowIncrease: bool('allow-increase'),
    direction: str('direction'),
    manageFirewall: bool('manage-firewall'),
  };
}
