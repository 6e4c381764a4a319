// The ways the router can treat the benchmark's SYNs, measured side by side.
//
// Every rewriting path matches the same segments on the router's FORWARD hook in the mangle table
// (SYN set, RST clear: the match xt_TCPMSS's documentation asks for) and lowers syngen's MSS 1460 to
// TARGET_MSS. The two consumers listen on their own queue numbers so both can stay bound for the whole
// run and the paths can be interleaved repetition by repetition.

export const TARGET_MSS = 1380;
/** What syngen offers: the MSS of a host on an Ethernet link. */
export const OFFERED_MSS = 1460;
export const C_QUEUE = 0;
export const MSSMANGLER_QUEUE = 1;
export const DAEMON_QUEUE = 2;
export const FLOOR_QUEUE = 3;

export type PathName = 'plain' | 'kernel' | 'c' | 'floor' | 'mssmangler' | 'daemon';
export const PATH_NAMES: readonly PathName[] = ['plain', 'kernel', 'c', 'floor', 'mssmangler', 'daemon'];
/** What `npm run bench` measures without --paths: the daemon as users run it against the C consumer
 * (issue 11), with the addon's I/O floor beside them (what the daemon cannot go below while its packet
 * work is JavaScript); 'mssmangler' (the packet core alone in a bench-only consumer) is on request. */
export const DEFAULT_PATHS: readonly PathName[] = ['plain', 'kernel', 'c', 'floor', 'daemon'];
/** The paths whose consumer reads a queue (CPU per packet, paced mode). */
export const QUEUE_PATHS: readonly PathName[] = ['c', 'floor', 'mssmangler', 'daemon'];

export interface PathSpec {
  name: PathName;
  /** Column heading in the results. */
  label: string;
  /** The router's mangle FORWARD rule after the match, or null for no rule. */
  target: readonly string[] | null;
  /** The NFQUEUE queue number, or -1. */
  queue: number;
  /** Whether the SYNs reach the sink with TARGET_MSS. */
  rewrites: boolean;
}

const SYN_MATCH = ['-p', 'tcp', '--tcp-flags', 'SYN,RST', 'SYN'] as const;

export const PATHS: Readonly<Record<PathName, PathSpec>> = {
  plain: { name: 'plain', label: 'plain forwarding', target: null, queue: -1, rewrites: false },
  kernel: {
    name: 'kernel',
    label: 'kernel TCPMSS',
    target: ['-j', 'TCPMSS', '--set-mss', String(TARGET_MSS)],
    queue: -1,
    rewrites: true,
  },
  // No --queue-bypass: with no consumer bound the kernel drops instead of passing packets unseen.
  c: { name: 'c', label: 'C consumer', target: ['-j', 'NFQUEUE', '--queue-num', String(C_QUEUE)], queue: C_QUEUE, rewrites: true },
  // nfqueue-bindings with no packet work (bench/consumer.ts --resend-unchanged): what any consumer on
  // the addon pays before its JavaScript does anything. The SYNs reach the sink unchanged.
  floor: {
    name: 'floor',
    label: 'addon I/O floor (no packet work)',
    target: ['-j', 'NFQUEUE', '--queue-num', String(FLOOR_QUEUE)],
    queue: FLOOR_QUEUE,
    rewrites: false,
  },
  mssmangler: {
    name: 'mssmangler',
    label: 'mssmangler core consumer',
    target: ['-j', 'NFQUEUE', '--queue-num', String(MSSMANGLER_QUEUE)],
    queue: MSSMANGLER_QUEUE,
    rewrites: true,
  },
  daemon: {
    name: 'daemon',
    label: 'mssmangler run (daemon)',
    target: ['-j', 'NFQUEUE', '--queue-num', String(DAEMON_QUEUE)],
    queue: DAEMON_QUEUE,
    rewrites: true,
  },
};

/** The iptables arguments that append `path`'s rule, or null for plain forwarding. */
export function ruleArgs(path: PathSpec): string[] | null {
  return path.target ? ['-t', 'mangle', '-A', 'FORWARD', ...SYN_MATCH, ...path.target] : null;
}
