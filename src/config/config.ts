// The configuration as the daemon reads it: every value checked, every default filled in, deeply frozen.
// Produced only by parseConfig / buildConfig (src/config/parse.ts); nothing else constructs one, so code
// that holds a Config never re-checks it.
import type { QueueRange } from './queue-range.js';

/** Smallest MSS worth sending: since Linux 5.2 (the SACK Panic fix) a peer raises any advertised MSS
 * below net.ipv4.tcp_min_snd_mss (default 48) to that value (Documentation/networking/ip-sysctl.rst),
 * so a smaller value is ignored rather than obeyed. */
export const MSS_MIN = 48;
// The largest --set-mss iptables' libxt_TCPMSS accepts: 65535 minus the fixed IP header (20 for IPv4,
// 40 for IPv6). Anything larger cannot describe a segment that fits a non-jumbo datagram.
export const MSS_MAX_IPV4 = 65515;
export const MSS_MAX_IPV6 = 65495;

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export type FamilyChoice = 4 | 6 | 'both';
export type DirectionChoice = 'syn' | 'synack' | 'both';
export type ActionChoice = 'set' | 'clamp-to-pmtu' | FaultChoice;
/** Fault injection (README "Fault injection"): oversize is set with allowIncrease, the others break
 * the option itself. */
export type FaultChoice = 'oversize' | 'strip' | 'zero' | 'duplicate';
export const ACTIONS = ['set', 'clamp-to-pmtu', 'oversize', 'strip', 'zero', 'duplicate'] as const;
export const FAULT_ACTIONS: readonly ActionChoice[] = ['oversize', 'strip', 'zero', 'duplicate'];

/** Which of a rule's matches it acts on; the rest are accepted unchanged (outcome not-selected).
 * Every given condition must hold. Counters, the random sequence and the window restart on reload. */
export interface Selection {
  /** Chance per match (or per flow with perFlow), 0 < p <= 1; null: no coin is tossed. */
  readonly probability: number | null;
  /** Seeds the per-rule random sequence (and the flow hash): the same seed, the same choices. */
  readonly seed: number;
  /** Decide once per flow (addresses and ports, either direction) instead of once per packet. */
  readonly perFlow: boolean;
  /** Act on every Nth match (the Nth, 2Nth, ...); 1: every match. */
  readonly every: number;
  /** Act on at most this many packets; null: no cap. */
  readonly maxPackets: number | null;
  /** Seconds after start or reload before the rule acts. */
  readonly after: number;
  /** Seconds, from `after`, that the rule acts; null: for ever. */
  readonly for: number | null;
}

export interface Prefix {
  readonly family: 4 | 6;
  /** As written after normalisation, e.g. "198.51.100.0/24", "fd00::/8". */
  readonly text: string;
  /** Network address bytes (4 or 16), host bits cleared. */
  readonly bytes: readonly number[];
  readonly length: number;
}

export interface PortRange {
  readonly from: number;
  readonly to: number;
}

export interface Mark {
  readonly value: number;
  readonly mask: number;
}

export interface RuleMatch {
  readonly family: FamilyChoice;
  readonly direction: DirectionChoice;
  /** Empty: any address. */
  readonly source: readonly Prefix[];
  readonly destination: readonly Prefix[];
  /** Empty: any port. */
  readonly sourcePort: readonly PortRange[];
  readonly destinationPort: readonly PortRange[];
  readonly inInterface: string | null;
  readonly outInterface: string | null;
  readonly mark: Mark | null;
}

export interface Rule {
  readonly name: string;
  readonly match: RuleMatch;
  readonly action: ActionChoice;
  /** The target for `set` and `oversize`, the appended value for `duplicate`; 0 otherwise. */
  readonly mss: number;
  readonly allowIncrease: boolean;
  /** false: never insert; true: kernel behaviour, min(target, 536 / 1220); a number: insert exactly that. */
  readonly insert: boolean | number;
  /** This rule only counts and logs; the global dryRun overrides it to true. */
  readonly dryRun: boolean;
  /** null: the rule acts on every packet it matches. */
  readonly select: Selection | null;
}

export interface MetricsConfig {
  readonly host: string;
  readonly port: number;
}

export interface FirewallConfig {
  /** The daemon installs, checks, restores and at stop removes its NFQUEUE rules (run --manage-firewall). */
  readonly manage: boolean;
  /** How often the rules are checked. */
  readonly checkIntervalMs: number;
}

export interface Config {
  /** Where the file came from (for logs and reload), or null for flags only. */
  readonly file: string | null;
  /** The first (or only) queue: queues.first. */
  readonly queue: number;
  /** The queues read, one worker thread each (config `queues:`, --queue-balance). */
  readonly queues: QueueRange;
  /** The firewall rules spread flows by CPU rather than by address hash (--queue-cpu-fanout, nft fanout). */
  readonly queueCpuFanout: boolean;
  readonly queueMaxLen: number;
  /** Let the kernel accept packets when the queue is full (NFQA_CFG_F_FAIL_OPEN). */
  readonly failOpen: boolean;
  readonly dryRun: boolean;
  /** null: no metrics endpoint. */
  readonly metrics: MetricsConfig | null;
  readonly log: { readonly level: LogLevel; readonly format: LogFormat };
  /** The MSS clamp-to-pmtu falls back to when no path MTU can be found. */
  readonly pmtu: { readonly floorIpv4: number; readonly floorIpv6: number };
  readonly firewall: FirewallConfig;
  /** Ordered; the first match wins; no match means accept unchanged. */
  readonly rules: readonly Rule[];
}

export const DEFAULTS = {
  queue: 0,
  queueMaxLen: 4096,
  failOpen: true,
  dryRun: false,
  metricsListen: '127.0.0.1:9465',
  logLevel: 'info' as LogLevel,
  logFormat: 'json' as LogFormat,
  /** xt_TCPMSS inserts min(target, 536) for IPv4 and min(target, 1220) for IPv6 (RFC 879, RFC 8200 minimum MTU 1280 - 60). */
  floorIpv4: 536,
  floorIpv6: 1220,
  manageFirewall: false,
  firewallCheckIntervalMs: 5000,
} as const;

/** Checks cost one iptables and one ip6tables listing; more often than this is a typo. */
export const CHECK_INTERVAL_MIN_MS = 100;
/** An hour: beyond that the rules are as good as unwatched. */
export const CHECK_INTERVAL_MAX_MS = 3_600_000;

/** Largest MSS that fits the family a rule selects: with both families the IPv6 bound is the stricter. */
export function mssMaxFor(family: FamilyChoice): number {
  return family === 4 ? MSS_MAX_IPV4 : MSS_MAX_IPV6;
}
