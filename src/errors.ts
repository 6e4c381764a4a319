// One error class for everything mssmangler reports to an operator, with a stable string code (the
// undici `UND_ERR_*` pattern). The codes double as log fields and metric label values, so they are part
// of the interface: add codes, never rename one. A malformed packet is not an error: it is a counted
// outcome (src/packet/outcome.ts).

export const ErrorCode = {
  /** A flag is missing, unknown, out of range, or conflicts with another. */
  Usage: 'ERR_USAGE',
  /** The configuration file parsed but describes something impossible, or is not YAML. */
  ConfigInvalid: 'ERR_CONFIG_INVALID',
  /** The configuration file cannot be read (missing, permissions, a directory). */
  ConfigUnreadable: 'ERR_CONFIG_UNREADABLE',
  /** Running as root with a configuration file that other users can change. */
  ConfigInsecure: 'ERR_CONFIG_INSECURE',
  /** The process lacks CAP_NET_ADMIN (binding a queue, changing the firewall). */
  Permission: 'ERR_PERMISSION',
  /** Another process holds the NFQUEUE number. */
  QueueBusy: 'ERR_QUEUE_BUSY',
  /** The metrics listen address is in use or cannot be bound. */
  MetricsListen: 'ERR_METRICS_LISTEN',
  /** A firewall command (iptables, ip6tables, nft) failed or is missing. */
  Firewall: 'ERR_FIREWALL',
  /** A name or number that would reach a firewall command failed validation. */
  FirewallUnsafeArgument: 'ERR_FIREWALL_UNSAFE_ARGUMENT',
  /** A packet capture file cannot be read: missing, not pcap or pcapng, an unsupported link type, or
   * damaged (an impossible length). A capture that merely ends mid-record is not this error. */
  CaptureInvalid: 'ERR_CAPTURE_INVALID',
  /** A placeholder the integration has not filled in yet. */
  NotImplemented: 'ERR_NOT_IMPLEMENTED',
  /** Anything else: a bug. */
  Internal: 'ERR_INTERNAL',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Process exit codes, documented in README "## Exit codes". */
export const ExitCode = {
  Ok: 0,
  /** Runtime failure after a valid start (and anything unexpected). */
  Runtime: 1,
  /** Bad command line or configuration: nothing was started. */
  Usage: 2,
  /** Missing privilege (CAP_NET_ADMIN). */
  Permission: 3,
  /** A resource is held by someone else: the queue number or the metrics port. */
  Busy: 4,
  /** A firewall command failed (rules --apply / --remove). */
  Firewall: 5,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

const exitCodeByErrorCode: Readonly<Record<ErrorCodeValue, ExitCodeValue>> = {
  ERR_USAGE: ExitCode.Usage,
  ERR_CONFIG_INVALID: ExitCode.Usage,
  ERR_CONFIG_UNREADABLE: ExitCode.Usage,
  ERR_CONFIG_INSECURE: ExitCode.Usage,
  ERR_PERMISSION: ExitCode.Permission,
  ERR_QUEUE_BUSY: ExitCode.Busy,
  ERR_METRICS_LISTEN: ExitCode.Busy,
  ERR_FIREWALL: ExitCode.Firewall,
  ERR_FIREWALL_UNSAFE_ARGUMENT: ExitCode.Usage,
  ERR_CAPTURE_INVALID: ExitCode.Usage,
  ERR_NOT_IMPLEMENTED: ExitCode.Runtime,
  ERR_INTERNAL: ExitCode.Runtime,
};

export class MssmanglerError extends Error {
  readonly code: ErrorCodeValue;
  /** Extra lines (every configuration problem), printed after the message. */
  readonly details: readonly string[];

  constructor(code: ErrorCodeValue, message?: string, options?: { cause?: unknown; details?: readonly string[] }) {
    super(message ?? code, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MssmanglerError';
    this.code = code;
    this.details = options?.details ?? [];
  }
}

export function exitCodeFor(error: unknown): ExitCodeValue {
  if (error instanceof MssmanglerError) return exitCodeByErrorCode[error.code];
  return ExitCode.Runtime;
}
