// What a rule does to the MSS, in the form the packet path reads: plain numbers, made once when the
// configuration is parsed, never per packet. Validation of user input happens in the config layer.
import type { DirectionMask } from './direction.js';

export const ActionMode = {
  /** --set-mss N */
  Set: 0,
  /** --clamp-mss-to-pmtu: path MTU minus the fixed IP and TCP headers (RFC 6691). */
  ClampToPmtu: 1,
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
  /** Target MSS for ActionMode.Set. */
  readonly mss: number;
  /** Off by default: like xt_TCPMSS, never raise an MSS (and leave an equal one alone). */
  readonly allowIncrease: boolean;
  readonly directions: DirectionMask;
  readonly insertMode: (typeof InsertMode)[keyof typeof InsertMode];
  /** The value for InsertMode.Value. */
  readonly insertMss: number;
}
