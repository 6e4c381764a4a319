// The command-line values that feed a configuration. Flags override the file where both name the same
// value; rule flags (--set-mss, --clamp-mss-to-pmtu, --allow-increase, --direction) apply to every rule
// of the file, and without a file (or a file without rules) make one rule named "cli".

export interface ConfigFlags {
  readonly queue?: number | undefined;
  /** "FIRST:LAST" as iptables writes it. */
  readonly queueBalance?: string | undefined;
  readonly queueCpuFanout?: boolean | undefined;
  readonly queueMaxLen?: number | undefined;
  readonly failOpen?: boolean | undefined;
  readonly dryRun?: boolean | undefined;
  /** HOST:PORT, or "off" for no metrics endpoint. */
  readonly metricsListen?: string | undefined;
  readonly logLevel?: string | undefined;
  readonly logFormat?: string | undefined;
  readonly setMss?: number | undefined;
  readonly clampMssToPmtu?: boolean | undefined;
  readonly allowIncrease?: boolean | undefined;
  readonly direction?: string | undefined;
  readonly manageFirewall?: boolean | undefined;
}

/** The rule made from flags alone. */
export const CLI_RULE_NAME = 'cli';

/** Which flag a config path takes its value from, for problem messages. */
export const FLAG_FOR_FIELD = {
  queue: '--queue',
  queues: '--queue-balance',
  queueCpuFanout: '--queue-cpu-fanout',
  queueMaxLen: '--queue-maxlen',
  failOpen: '--no-fail-open',
  dryRun: '--dry-run',
  metricsListen: '--metrics-listen',
  logLevel: '--log-level',
  logFormat: '--log-format',
  setMss: '--set-mss',
  clampMssToPmtu: '--clamp-mss-to-pmtu',
  allowIncrease: '--allow-increase',
  direction: '--direction',
  manageFirewall: '--manage-firewall',
} as const;

export function hasRuleFlags(flags: ConfigFlags): boolean {
  return flags.setMss !== undefined || flags.clampMssToPmtu === true;
}
