// What a rule does to the MSS, in the form the packet path reads: plain numbers, made once when the
// configuration is parsed, never per packet. Validation of user input happens in the config layer.
import type { DirectionMask } from './direction.js';

export const ActionMode = {
  /** --set-mss N */
  Set: 0,
  /** --clamp-mss-to-pmtu: path MTU minus the fixed IP and TCP headers (RFC 6691). */
  ClampToPmtu: 1,
  // Fault injection (README "Fault injection"). `oversize` needs no mode of its own: it is Set with
  // allowIncrease, compiled so in src/rules/rule-set.ts.
  /** Every MSS option overwritten with NOPs: the peer falls back to 536 / 1220 (RFC 9293 3.7.1). */
  Strip: 2,
  /** Every MSS option set to 0. */
  Zero: 3,
  /** A second MSS option with `mss` appended after the last one; a Linux receiver uses the last
   * (tcp_parse_options keeps overwriting). */
  Duplicate: 4,
} as const;

export const InsertMode = {
  /** Leave a SYN without an MSS option alone. */
  Off: 0,
  /** As xt_TCPMSS: insert min(target, 536) for IPv4, min(target, 1220) for IPv6. */
  Kernel: 1,
  /** Insert exactly insertMss. */
  Value: 2,
} as const;

export interface MssAction {
  readonly mode: (typeof ActionMode)[keyof typeof ActionMode];
  /** Target MSS for ActionMode.Set; the appended value for ActionMode.Duplicate. */
  readonly mss: number;
  /** Off by default: like xt_TCPMSS, never raise an MSS (and leave an equal one alone). */
  readonly allowIncrease: boolean;
  readonly directions: DirectionMask;
  readonly insertMode: (typeof InsertMode)[keyof typeof InsertMode];
  /** The value for InsertMode.Value. */
  readonly insertMss: number;
}
