// TCP options (RFC 9293 3.2): kind, or kind + length + data. A small tokenizer over the option area
// [optionsStart, optionsEnd) of one header, in the shape of gVisor's ParseSynOptions: kinds and lengths
// match exactly, EOL ends the list, and a bad length ends the walk as malformed, so no input can loop.
//
//   +--------+--------+---------+--------+
//   |00000010|00000100|   max seg size   |   MSS: kind 2, length 4
//   +--------+--------+---------+--------+

export const TcpOptionKind = {
  /** End of Option List: what follows is padding (RFC 9293 3.2). */
  Eol: 0,
  Nop: 1,
  Mss: 2,
  /** Window scale (RFC 7323 2.2). */
  WindowScale: 3,
  /** SACK permitted (RFC 2018 2). */
  SackPermitted: 4,
  /** SACK blocks (RFC 2018 3). */
  Sack: 5,
  /** Timestamps (RFC 7323 3.2). */
  Timestamp: 8,
} as const;

export const TcpOptionField = {
  KIND: 0,
  LENGTH: 1,
  /** The MSS value within an MSS option. */
  MSS_VALUE: 2,
  /** The shift count within a window scale option. */
  WINDOW_SCALE_SHIFT: 2,
  /** TSval within a timestamps option (TSecr follows it). */
  TS_VALUE: 2,
} as const;

export const WINDOW_SCALE_OPTION_LENGTH = 3;
export const TIMESTAMP_OPTION_LENGTH = 10;

export const MSS_OPTION_LENGTH = 4;
/** The MSS option as one 32-bit word without its value: kind 2, length 4. */
export const MSS_OPTION_HEAD = (TcpOptionKind.Mss << 8) | MSS_OPTION_LENGTH;
/** Smallest length a kind-length option can have (kind + length bytes). */
export const TCP_OPTION_MIN_LENGTH = 2;

/** nextMssOption: EOL or the end of the option area came before another MSS option. */
export const NO_MORE_OPTIONS = -1;
/** nextMssOption: an option had a length below 2 or ran past the end of the header. */
export const MALFORMED_OPTION = -2;

/**
 * Returns the absolute offset of the next MSS option (kind 2 AND length 4; a kind 2 of any other
 * length is skipped like an unknown option, as Linux tcp_parse_options ignores it) at or after `pos`,
 * NO_MORE_OPTIONS, or MALFORMED_OPTION. `pos` must be the start of an option (or optionsEnd).
 *
 * Unlike xt_TCPMSS's optlen() walk, this stops at EOL: bytes after it are padding, and the Linux
 * receiver stops reading there too. A length below 2 is malformed rather than "step one byte".
 */
export function nextMssOption(bytes: Uint8Array, pos: number, optionsEnd: number): number {
  while (pos < optionsEnd) {
    const kind = bytes[pos]!;
    if (kind === TcpOptionKind.Eol) return NO_MORE_OPTIONS;
    if (kind === TcpOptionKind.Nop) {
      pos += 1;
      continue;
    }
    if (pos + TcpOptionField.LENGTH >= optionsEnd) return MALFORMED_OPTION;
    const length = bytes[pos + TcpOptionField.LENGTH]!;
    if (length < TCP_OPTION_MIN_LENGTH || pos + length > optionsEnd) return MALFORMED_OPTION;
    if (kind === TcpOptionKind.Mss && length === MSS_OPTION_LENGTH) return pos;
    pos += length;
  }
  return NO_MORE_OPTIONS;
}

/**
 * The general step of the same walk, for readers that want every option (explain's option layout):
 * returns the offset of the option after the one at `pos`, NO_MORE_OPTIONS when `pos` holds EOL, or
 * MALFORMED_OPTION when its length is below 2 or runs past `optionsEnd`. `pos` must lie before
 * optionsEnd. The packet path keeps nextMssOption: it is this walk specialised to one kind, and fast.
 */
export function nextTcpOption(bytes: Uint8Array, pos: number, optionsEnd: number): number {
  const kind = bytes[pos]!;
  if (kind === TcpOptionKind.Eol) return NO_MORE_OPTIONS;
  if (kind === TcpOptionKind.Nop) return pos + 1;
  if (pos + TcpOptionField.LENGTH >= optionsEnd) return MALFORMED_OPTION;
  const length = bytes[pos + TcpOptionField.LENGTH]!;
  if (length < TCP_OPTION_MIN_LENGTH || pos + length > optionsEnd) return MALFORMED_OPTION;
  return pos + length;
}
