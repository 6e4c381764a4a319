// Which handshake segments a rule selects. A bit mask so that "both" is one compare.
export const Direction = {
  None: 0,
  /** SYN without ACK: the client's offer. */
  Syn: 1,
  /** SYN with ACK: the server's answer. */
  SynAck: 2,
  Both: 3,
} as const;

export type DirectionMask = 0 | 1 | 2 | 3;
