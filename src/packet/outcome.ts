// What happened to one packet. Numbers on the packet path, names in logs and metric labels.
// The order is part of the contract with metrics and tests: append, never renumber.
export const Outcome = {
  /** parsePacket only: a TCP segment the rewrite may look at. Never a final outcome. */
  Parsed: 0,
  /** An MSS option (every one present) was rewritten. */
  Modified: 1,
  /** An MSS option was inserted (the SYN had none). */
  Inserted: 2,
  NotTcp: 3,
  NotSyn: 4,
  /** SYN together with RST or FIN: never a connection attempt we should touch. */
  SynWithRstOrFin: 5,
  DirectionNotSelected: 6,
  /** The MSS is already at or below the target and allowIncrease is off (xt_TCPMSS: never increase). */
  AlreadyAtOrBelow: 7,
  MalformedIp: 8,
  MalformedTcp: 9,
  MalformedOption: 10,
  /** IPv4 with MF or an offset, or IPv6 with a Fragment header: never modified. */
  Fragment: 11,
  /** Under IPv6 AH the rewrite would break the ICV. */
  UnderAh: 12,
  /** IPv6 ESP: the TCP header is encrypted. */
  Encrypted: 13,
  Jumbogram: 14,
  /** No MSS option, and the SYN carries data: inserting would move the data (xt_TCPMSS accepts as is). */
  HasPayload: 15,
  /** No MSS option and no room in the 60-byte TCP header for one. */
  HeaderFull: 16,
  /** No MSS option and the rule does not insert one. */
  NoMssOption: 17,
  /** No MSS option and the buffer has no tailroom for four more bytes. */
  NoRoom: 18,
  /** clamp-to-pmtu with a path MTU at or below the fixed headers (xt_TCPMSS drops; we accept). */
  PathMtuInvalid: 19,
  /** The queue handed over fewer bytes than the packet has (copy range cut it). */
  Truncated: 20,
  /** Daemon: no rule matched. */
  NoRuleMatched: 21,
  /** Daemon: the handler threw; the batch was accepted unchanged. */
  HandlerError: 22,
  /** strip: every MSS option overwritten with NOPs (the peer assumes the default, RFC 9293 3.7.1). */
  Stripped: 23,
  /** zero: every MSS option set to 0. */
  Zeroed: 24,
  /** duplicate: a second MSS option appended after the last one (a Linux receiver uses the last). */
  Duplicated: 25,
  /** Daemon: the rule matched but its selection (probability, every, perFlow, maxPackets, window)
   * passed over this packet; accepted unchanged. */
  NotSelected: 26,
} as const;

export type OutcomeCode = (typeof Outcome)[keyof typeof Outcome];

/** Stable kebab-case names, indexed by code: metric label values and log fields. */
export const outcomeNames: readonly string[] = [
  'parsed',
  'modified',
  'inserted',
  'not-tcp',
  'not-syn',
  'syn-with-rst-or-fin',
  'direction-not-selected',
  'already-at-or-below',
  'malformed-ip',
  'malformed-tcp',
  'malformed-option',
  'fragment',
  'under-ah',
  'encrypted',
  'jumbogram',
  'has-payload',
  'header-full',
  'no-mss-option',
  'no-room',
  'pmtu-invalid',
  'truncated',
  'no-rule-matched',
  'handler-error',
  'stripped',
  'zeroed',
  'duplicated',
  'not-selected',
];

export const OUTCOME_COUNT = outcomeNames.length;

export function isChange(outcome: number): boolean {
  return outcome === Outcome.Modified || outcome === Outcome.Inserted || (outcome >= Outcome.Stripped && outcome <= Outcome.Duplicated);
}
