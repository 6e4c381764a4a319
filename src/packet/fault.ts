// Fault injection on the MSS option, for test labs (README "Fault injection"): strip, zero and
// duplicate. Same contract as the rewrite: in place, checksums updated incrementally (never
// recomputed), a malformed option list left untouched, no allocation, no exception.
//
// strip overwrites each MSS option with four NOPs instead of removing it. Both make the peer assume
// the default MSS (536 for IPv4, 1220 for IPv6: RFC 9293 3.7.1, RFC 8200 via RFC 6691); NOPs keep
// the header, IP and TCP lengths, so nothing after the option moves, a SYN carrying data (TFO) can be
// stripped too, and a capture lines up byte for byte with the original except for those four bytes.
import * as actionModule from './action.js';
import * as bytesModule from './bytes.js';
import * as checksumModule from './checksum.js';
import * as datagramLengthModule from './datagram-length.js';
import * as ipv4Module from './ipv4.js';
import * as ipv6Module from './ipv6.js';
import * as outcomeModule from './outcome.js';
import type { MssAction } from './action.js';
import type { OutcomeCode } from './outcome.js';
import type { PacketInfo } from './packet-info.js';
import type { RewriteResult } from './rewrite.js';
import * as tcpModule from './tcp.js';
import * as tcpOptionsModule from './tcp-options.js';

// Module-local constants, as in rewrite.ts (V8 folds them; imported bindings are reloaded per use).
const { ActionMode } = actionModule;
const { readU16, writeU16 } = bytesModule;
const { checksumReplace16, checksumReplace16AtOdd } = checksumModule;
const { MAX_IP_LENGTH_FIELD, growIpLength } = datagramLengthModule;
const { IPV4_VERSION } = ipv4Module;
const { IPV6_HEADER_LENGTH } = ipv6Module;
const { Outcome } = outcomeModule;
const { TCP_DATA_OFFSET_SHIFT, TCP_DATA_OFFSET_UNIT, TCP_MAX_HEADER_LENGTH, TcpField } = tcpModule;
const { MALFORMED_OPTION, MSS_OPTION_HEAD, MSS_OPTION_LENGTH, TcpOptionField, TcpOptionKind, nextMssOption } = tcpOptionsModule;

/** Two NOPs as one 16-bit field: what strip writes over the kind/length and the value. */
const TWO_NOPS = (TcpOptionKind.Nop << 8) | TcpOptionKind.Nop;

/**
 * ActionMode.Strip / Zero / Duplicate on a parsed SYN or SYN/ACK whose direction the action selects
 * (rewriteMss checked it). Every MSS option (kind 2, length 4, before EOL) counts, as in the rewrite.
 * No MSS option: NoMssOption (nothing is inserted; a fault needs an option to break).
 * - Strip: every MSS option becomes four NOPs. Stripped; result.newMss = -1.
 * - Zero: every MSS option becomes 0. Zeroed, or AlreadyAtOrBelow when all are 0 already.
 * - Duplicate: an MSS option with action.mss is inserted right after the last one, so it is the last
 *   one a receiver reads. Like an insertion it needs no payload (HasPayload), a header below 60 bytes
 *   (HeaderFull) and 4 writable bytes after info.ipEnd (NoRoom); `info` then describes the grown packet.
 */
export function injectFault(bytes: Uint8Array, info: PacketInfo, action: MssAction, tailroom: number, result: RewriteResult): OutcomeCode {
  const l4 = info.l4Offset;
  const optionsEnd = l4 + info.tcpHeaderLength;
  let count = 0;
  let first = -1;
  let lastPos = -1;
  let allZero = true;
  let pos = nextMssOption(bytes, l4 + TcpField.OPTIONS, optionsEnd);
  for (; pos >= 0; pos = nextMssOption(bytes, pos + MSS_OPTION_LENGTH, optionsEnd)) {
    if (count === 0) first = pos;
    count++;
    lastPos = pos;
    if (readU16(bytes, pos + TcpOptionField.MSS_VALUE) !== 0) allZero = false;
  }
  if (pos === MALFORMED_OPTION) return Outcome.MalformedOption;
  result.mssOptions = count;
  if (count === 0) return Outcome.NoMssOption;
  const lastValue = readU16(bytes, lastPos + TcpOptionField.MSS_VALUE);
  result.oldMss = lastValue;

  const mode = action.mode;
  if (mode === ActionMode.Strip) {
    stripMssOptions(bytes, l4, optionsEnd, first, count);
    return Outcome.Stripped;
  }
  if (mode === ActionMode.Zero) {
    result.newMss = 0;
    if (allZero) return Outcome.AlreadyAtOrBelow;
    zeroMssOptions(bytes, l4, optionsEnd, first, count);
    return Outcome.Zeroed;
  }
  // Duplicate. The same limits as an insertion (xt_TCPMSS): data after the header would have to move,
  // Data Offset has four bits, and the queue gives 4 bytes of tailroom at most.
  result.newMss = lastValue;
  if (info.payloadLength !== 0) return Outcome.HasPayload;
  if (info.tcpHeaderLength >= TCP_MAX_HEADER_LENGTH) return Outcome.HeaderFull;
  if (tailroom < MSS_OPTION_LENGTH || info.ipEnd + MSS_OPTION_LENGTH > bytes.length) return Outcome.NoRoom;
  const isIpv4 = info.family === IPV4_VERSION;
  if (info.ipEnd - info.start - (isIpv4 ? 0 : IPV6_HEADER_LENGTH) + MSS_OPTION_LENGTH > MAX_IP_LENGTH_FIELD) return Outcome.NoRoom;
  appendMssOption(bytes, info, lastPos + MSS_OPTION_LENGTH, action.mss);
  result.length += MSS_OPTION_LENGTH;
  result.newMss = action.mss;
  return Outcome.Duplicated;
}

/** A 16-bit field at `offset` of the TCP segment changed from `from` to `to`: the checksum update for
 * its alignment (the checksummed words start at the TCP header; the pseudo-header is 12 or 40 bytes). */
function replace16(check: number, l4: number, offset: number, from: number, to: number): number {
  return ((offset - l4) & 1) === 0 ? checksumReplace16(check, from, to) : checksumReplace16AtOdd(check, from, to);
}

function stripMssOptions(bytes: Uint8Array, l4: number, optionsEnd: number, first: number, count: number): void {
  let check = readU16(bytes, l4 + TcpField.CHECKSUM);
  let pos = first;
  for (let n = 0; n < count; n++) {
    // The walk goes on from the previous option: its four bytes are NOPs now, which it steps over.
    if (n > 0) pos = nextMssOption(bytes, pos + MSS_OPTION_LENGTH, optionsEnd);
    const valueOffset = pos + TcpOptionField.MSS_VALUE;
    check = replace16(check, l4, pos, MSS_OPTION_HEAD, TWO_NOPS);
    check = replace16(check, l4, valueOffset, readU16(bytes, valueOffset), TWO_NOPS);
    writeU16(bytes, pos, TWO_NOPS);
    writeU16(bytes, valueOffset, TWO_NOPS);
  }
  writeU16(bytes, l4 + TcpField.CHECKSUM, check);
}

function zeroMssOptions(bytes: Uint8Array, l4: number, optionsEnd: number, first: number, count: number): void {
  let check = readU16(bytes, l4 + TcpField.CHECKSUM);
  let pos = first;
  for (let n = 0; n < count; n++) {
    if (n > 0) pos = nextMssOption(bytes, pos + MSS_OPTION_LENGTH, optionsEnd);
    const valueOffset = pos + TcpOptionField.MSS_VALUE;
    const value = readU16(bytes, valueOffset);
    if (value === 0) continue;
    check = replace16(check, l4, valueOffset, value, 0);
    writeU16(bytes, valueOffset, 0);
  }
  writeU16(bytes, l4 + TcpField.CHECKSUM, check);
}

/**
 * Inserts an MSS option at `at` (an option boundary inside the header; no payload, so everything from
 * there to ipEnd is options) and moves the rest back by 4. A shift by 4 keeps every moved byte at the
 * same parity, so the moved words sum as before; the checksum changes by the pseudo-header length,
 * the new option's two fields (at the parity of `at`) and the Data Offset word.
 */
function appendMssOption(bytes: Uint8Array, info: PacketInfo, at: number, value: number): void {
  const l4 = info.l4Offset;
  const ipEnd = info.ipEnd;
  // Back to front, a byte a step: `at` need not be word aligned (an MSS option behind one NOP).
  for (let i = ipEnd - 1; i >= at; i--) bytes[i + MSS_OPTION_LENGTH] = bytes[i]!;
  writeU16(bytes, at, MSS_OPTION_HEAD);
  writeU16(bytes, at + TcpOptionField.MSS_VALUE, value);

  const tcpLength = ipEnd - l4;
  let check = readU16(bytes, l4 + TcpField.CHECKSUM);
  check = checksumReplace16(check, tcpLength, tcpLength + MSS_OPTION_LENGTH);
  check = replace16(check, l4, at, 0, MSS_OPTION_HEAD);
  check = replace16(check, l4, at + TcpOptionField.MSS_VALUE, 0, value);
  const offsetWord = readU16(bytes, l4 + TcpField.DATA_OFFSET);
  const grownOffsetWord = offsetWord + ((MSS_OPTION_LENGTH / TCP_DATA_OFFSET_UNIT) << (TCP_DATA_OFFSET_SHIFT + 8));
  writeU16(bytes, l4 + TcpField.DATA_OFFSET, grownOffsetWord);
  check = checksumReplace16(check, offsetWord, grownOffsetWord);
  writeU16(bytes, l4 + TcpField.CHECKSUM, check);

  growIpLength(bytes, info, MSS_OPTION_LENGTH);
  info.ipEnd = ipEnd + MSS_OPTION_LENGTH;
  info.tcpHeaderLength += MSS_OPTION_LENGTH;
}
