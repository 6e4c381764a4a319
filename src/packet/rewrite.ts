// The MSS rewrite, in place, on a packet parsePacket described. Ground truth is the kernel's
// net/netfilter/xt_TCPMSS.c (tcpmss_mangle_packet, tcpmss_tg4, tcpmss_tg6): for every well-formed case
// it handles we write the same bytes. Where it is wrong or drops, we do better (README "Semantics").
import * as actionModule from './action.js';
import * as bytesModule from './bytes.js';
import * as checksumModule from './checksum.js';
import * as datagramLengthModule from './datagram-length.js';
import * as faultModule from './fault.js';
import * as ipv4Module from './ipv4.js';
import * as ipv6Module from './ipv6.js';
import * as outcomeModule from './outcome.js';
import type { PacketInfo } from './packet-info.js';
import * as tcpModule from './tcp.js';
import * as tcpOptionsModule from './tcp-options.js';
import type { MssAction } from './action.js';
import type { OutcomeCode } from './outcome.js';

// Imports are read through module-local constants: V8 folds a module-local constant (and the fields
// of the table it holds) into optimized code, but reloads an imported binding on every use. Measured
// on Node 20: about 15% of parsePacket.
const { ActionMode, InsertMode } = actionModule;
const { readU16, writeU16 } = bytesModule;
const { checksumApplyDifference, checksumReplace16, checksumReplace16AtOdd } = checksumModule;
const { MAX_IP_LENGTH_FIELD, growIpv4Length, growIpv6Length } = datagramLengthModule;
const { injectFault } = faultModule;
const { IPV4_MIN_HEADER_LENGTH, IPV4_VERSION } = ipv4Module;
const { IPV6_HEADER_LENGTH } = ipv6Module;
const { Outcome } = outcomeModule;
const { TCP_DATA_OFFSET_UNIT, TCP_DATA_OFFSET_SHIFT, TCP_MAX_HEADER_LENGTH, TCP_MIN_HEADER_LENGTH, TcpField } = tcpModule;
const { MALFORMED_OPTION, MSS_OPTION_HEAD, MSS_OPTION_LENGTH, TcpOptionField, nextMssOption } = tcpOptionsModule;

/** What rewriteMss did; the caller allocates one and reuses it. */
export class RewriteResult {
  outcome = 0;
  /** Length of the datagram after the call: its IP length, plus 4 after an insertion. Bytes the queue
   * handed over past the IP length are not part of it. */
  length = 0;
  /** The MSS a Linux receiver would use before the call (the LAST MSS option; tcp_parse_options
   * keeps overwriting), or -1 when there was none. */
  oldMss = -1;
  /** The same after the call (the inserted value after an insertion), or -1. */
  newMss = -1;
  /** How many MSS options (kind 2, length 4) the header held before the call. */
  mssOptions = 0;
}

/** IP plus TCP fixed headers that xt_TCPMSS subtracts from the path MTU (RFC 6691: fixed headers only). */
export const IPV4_CLAMP_OVERHEAD = IPV4_MIN_HEADER_LENGTH + TCP_MIN_HEADER_LENGTH;
export const IPV6_CLAMP_OVERHEAD = IPV6_HEADER_LENGTH + TCP_MIN_HEADER_LENGTH;
/** The MSS a host assumes when the SYN has no option (RFC 9293 3.7.1: 536 for IPv4, 1220 for IPv6);
 * xt_TCPMSS inserts at most these so an insertion never raises the effective MSS. */
export const IPV4_DEFAULT_MSS = 536;
export const IPV6_DEFAULT_MSS = 1220;
export const MAX_MSS = 0xffff;

/**
 * The MSS the rule aims for, or -1 when ActionMode.ClampToPmtu has no usable path MTU (at or below the
 * fixed headers, or not a number: xt_TCPMSS drops there with "unknown or invalid path-MTU").
 */
export function mssTarget(info: PacketInfo, action: MssAction, pathMtu: number): number {
  if (action.mode === ActionMode.Set) return action.mss;
  const overhead = info.family === IPV4_VERSION ? IPV4_CLAMP_OVERHEAD : IPV6_CLAMP_OVERHEAD;
  if (!(pathMtu > overhead)) return -1;
  const target = pathMtu - overhead;
  return target < MAX_MSS ? target : MAX_MSS;
}

/**
 * The value an insertion writes. It obeys the rule like an existing option would, so that a second
 * pass over the result changes nothing: never above the target, and exactly the target with
 * allowIncrease. Within that, InsertMode.Kernel caps at the default MSS a receiver would assume
 * anyway (xt_TCPMSS: RFC 879 536 for IPv4, 1220 for IPv6), InsertMode.Value at insertMss.
 */
export function insertedMss(isIpv4: boolean, action: MssAction, target: number): number {
  if (action.allowIncrease) return target;
  const cap = action.insertMode === InsertMode.Value ? action.insertMss : isIpv4 ? IPV4_DEFAULT_MSS : IPV6_DEFAULT_MSS;
  return target < cap ? target : cap;
}

/**
 * Applies `action` in place to the packet `info` describes (parsePacket returned Parsed for it) and
 * returns the outcome (also in result.outcome). Checksums are updated incrementally, never recomputed,
 * so a packet that arrived with a bad checksum leaves with one off by the same amount.
 *
 * Rule for MSS options (every kind 2 / length 4 option before EOL counts):
 * - without allowIncrease each option above the target is lowered to it, options at or below stay;
 *   nothing above the target: AlreadyAtOrBelow (xt_TCPMSS: "never increase", equal left alone);
 * - with allowIncrease every option is set to exactly the target; all equal already: AlreadyAtOrBelow.
 * With one option this is exactly xt_TCPMSS; the kernel looks only at the first of several.
 *
 * Without an MSS option, insertion as xt_TCPMSS does it (when action.insertMode is not Off) needs no
 * payload (HasPayload), a header below 60 bytes (HeaderFull) and 4 writable bytes after info.ipEnd:
 * `tailroom` says how many the caller has (NoRoom). On insertion `info` is updated (ipEnd and
 * tcpHeaderLength grow by 4) so it keeps describing the packet.
 */
export function rewriteMss(
  bytes: Uint8Array,
  info: PacketInfo,
  action: MssAction,
  pathMtu: number,
  tailroom: number,
  result: RewriteResult,
): OutcomeCode {
  result.length = info.ipEnd - info.start;
  result.oldMss = -1;
  result.newMss = -1;
  result.mssOptions = 0;
  return (result.outcome = rewrite(bytes, info, action, pathMtu, tailroom, result));
}

function rewrite(
  bytes: Uint8Array,
  info: PacketInfo,
  action: MssAction,
  pathMtu: number,
  tailroom: number,
  result: RewriteResult,
): OutcomeCode {
  if ((info.direction & action.directions) === 0) return Outcome.DirectionNotSelected;
  if (action.mode >= ActionMode.Strip) return injectFault(bytes, info, action, tailroom, result);
  const target = mssTarget(info, action, pathMtu);
  if (target < 0) return Outcome.PathMtuInvalid;

  const l4 = info.l4Offset;
  const optionsEnd = l4 + info.tcpHeaderLength;
  const allowIncrease = action.allowIncrease;

  // First pass: validate the whole option list and decide, so a malformed list is left untouched.
  let count = 0;
  let first = -1;
  let last = -1;
  let change = false;
  let pos = nextMssOption(bytes, l4 + TcpField.OPTIONS, optionsEnd);
  for (; pos >= 0; pos = nextMssOption(bytes, pos + MSS_OPTION_LENGTH, optionsEnd)) {
    const value = readU16(bytes, pos + TcpOptionField.MSS_VALUE);
    if (count === 0) first = pos;
    count++;
    last = value;
    if (value > target || (allowIncrease && value !== target)) change = true;
  }
  if (pos === MALFORMED_OPTION) return Outcome.MalformedOption;
  result.mssOptions = count;

  if (count > 0) {
    result.oldMss = last;
    if (!change) {
      result.newMss = last;
      return Outcome.AlreadyAtOrBelow;
    }
    result.newMss = setMssOptions(bytes, l4, optionsEnd, first, count, target, allowIncrease);
    return Outcome.Modified;
  }

  if (action.insertMode === InsertMode.Off) return Outcome.NoMssOption;
  // xt_TCPMSS: data after the header would have to move, and the SYN might grow past the MTU.
  if (info.payloadLength !== 0) return Outcome.HasPayload;
  // xt_TCPMSS: "tcph->doff has 4 bits, do not wrap it to 0".
  if (info.tcpHeaderLength >= TCP_MAX_HEADER_LENGTH) return Outcome.HeaderFull;
  if (tailroom < MSS_OPTION_LENGTH || info.ipEnd + MSS_OPTION_LENGTH > bytes.length) return Outcome.NoRoom;
  const isIpv4 = info.family === IPV4_VERSION;
  // Only a pathological IPv6 extension-header chain gets here: the 16-bit length field would wrap.
  if (info.ipEnd - info.start - (isIpv4 ? 0 : IPV6_HEADER_LENGTH) + MSS_OPTION_LENGTH > MAX_IP_LENGTH_FIELD) return Outcome.NoRoom;
  const value = insertedMss(isIpv4, action, target);
  insertMssOption(bytes, info, value);
  result.length += MSS_OPTION_LENGTH;
  result.newMss = value;
  return Outcome.Inserted;
}

/** Second pass over the `count` MSS options from `first` (the walk already validated them): each is
 * set to the target when above it, or always with allowIncrease. Returns the last option's value. */
function setMssOptions(
  bytes: Uint8Array,
  l4: number,
  optionsEnd: number,
  first: number,
  count: number,
  target: number,
  allowIncrease: boolean,
): number {
  let check = readU16(bytes, l4 + TcpField.CHECKSUM);
  let pos = first;
  let last = -1;
  for (let n = 0; n < count; n++) {
    if (n > 0) pos = nextMssOption(bytes, pos + MSS_OPTION_LENGTH, optionsEnd);
    const valueOffset = pos + TcpOptionField.MSS_VALUE;
    const value = readU16(bytes, valueOffset);
    last = allowIncrease || value > target ? target : value;
    if (last === value) continue;
    writeU16(bytes, valueOffset, last);
    // The checksum words start at the TCP header (the pseudo-header is 12 or 40 bytes, even).
    check = ((valueOffset - l4) & 1) === 0 ? checksumReplace16(check, value, last) : checksumReplace16AtOdd(check, value, last);
  }
  writeU16(bytes, l4 + TcpField.CHECKSUM, check);
  return last;
}

/** Inserts an MSS option as xt_TCPMSS does, once rewrite has checked there is no payload, room in the
 * header and 4 writable bytes after info.ipEnd. Updates `info` to describe the grown packet. */
function insertMssOption(bytes: Uint8Array, info: PacketInfo, value: number): void {
  const l4 = info.l4Offset;
  const optionsStart = l4 + TcpField.OPTIONS;
  const ipEnd = info.ipEnd;
  // The option goes first, the others move back by 4 (no payload, so they end at ipEnd). Back to
  // front, four bytes a step (the option area is whole 32-bit words): at most 40 bytes, for which
  // V8's C++ builtin TypedArray.prototype.copyWithin costs more than the copy.
  for (let i = ipEnd - MSS_OPTION_LENGTH; i >= optionsStart; i -= MSS_OPTION_LENGTH) {
    bytes[i + 7] = bytes[i + 3]!;
    bytes[i + 6] = bytes[i + 2]!;
    bytes[i + 5] = bytes[i + 1]!;
    bytes[i + 4] = bytes[i]!;
  }
  writeU16(bytes, optionsStart, MSS_OPTION_HEAD);
  writeU16(bytes, optionsStart + TcpOptionField.MSS_VALUE, value);

  // The kernel makes three checksum updates: the pseudo-header TCP length, the new option word (from
  // zero) and the data-offset word. One update with all their terms gives the same checksum bit for
  // bit (checksumApplyDifference) and folds once instead of three times.
  const tcpLength = ipEnd - l4;
  const offsetWord = readU16(bytes, l4 + TcpField.DATA_OFFSET);
  const grownOffsetWord = offsetWord + ((MSS_OPTION_LENGTH / TCP_DATA_OFFSET_UNIT) << (TCP_DATA_OFFSET_SHIFT + 8));
  writeU16(bytes, l4 + TcpField.DATA_OFFSET, grownOffsetWord);
  const difference =
    (~tcpLength & 0xffff) +
    tcpLength +
    MSS_OPTION_LENGTH +
    0xffff +
    MSS_OPTION_HEAD +
    0xffff +
    value +
    (~offsetWord & 0xffff) +
    grownOffsetWord;
  const checkOffset = l4 + TcpField.CHECKSUM;
  writeU16(bytes, checkOffset, checksumApplyDifference(readU16(bytes, checkOffset), difference));

  if (info.family === IPV4_VERSION) growIpv4Length(bytes, info.start, MSS_OPTION_LENGTH);
  else growIpv6Length(bytes, info.start, MSS_OPTION_LENGTH);

  info.ipEnd = ipEnd + MSS_OPTION_LENGTH;
  info.tcpHeaderLength += MSS_OPTION_LENGTH;
}
