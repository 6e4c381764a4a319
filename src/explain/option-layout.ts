// What the option area of a SYN or SYN/ACK says, read in one walk: the layout in p0f's names (the
// order of kinds is a stack fingerprint, and survives NAT), the MSS, the window scale and the TSval.
// The TSval is copied by no middlebox we know of except SYN proxies, so it is the best evidence for
// matching a handshake across two captures.
import { readU16, readU32 } from '../packet/bytes.js';
import {
  MALFORMED_OPTION,
  MSS_OPTION_LENGTH,
  TIMESTAMP_OPTION_LENGTH,
  TcpOptionField,
  TcpOptionKind,
  WINDOW_SCALE_OPTION_LENGTH,
  nextTcpOption,
} from '../packet/tcp-options.js';

export interface OptionFacts {
  /** Kinds in order, comma-separated: mss, nop, ws, sok, sack, ts, eol, others as ?N (p0f). */
  layout: string;
  /** The value of the last MSS option (kind 2, length 4; a Linux receiver uses the last), or null. */
  mss: number | null;
  wscale: number | null;
  tsVal: number | null;
  /** True when the walk stopped at a bad length: the layout ends with the kind that broke it. */
  malformed: boolean;
}

/** p0f's names (p0f.fp "olayout"); unknown kinds are written ?N. */
const KIND_NAMES: Readonly<Record<number, string>> = {
  [TcpOptionKind.Eol]: 'eol',
  [TcpOptionKind.Nop]: 'nop',
  [TcpOptionKind.Mss]: 'mss',
  [TcpOptionKind.WindowScale]: 'ws',
  [TcpOptionKind.SackPermitted]: 'sok',
  [TcpOptionKind.Sack]: 'sack',
  [TcpOptionKind.Timestamp]: 'ts',
};

export function optionKindName(kind: number): string {
  return KIND_NAMES[kind] ?? `?${kind}`;
}

// Layout strings repeat (a handful of stacks send most SYNs): one string object each.
const interned = new Map<string, string>();

/** Reads the option area [start, end) of one TCP header. */
export function readOptionFacts(bytes: Uint8Array, start: number, end: number): OptionFacts {
  let text = '';
  let mss: number | null = null;
  let wscale: number | null = null;
  let tsVal: number | null = null;
  let malformed = false;
  for (let pos = start; pos >= 0 && pos < end;) {
    const kind = bytes[pos]!;
    text = text === '' ? optionKindName(kind) : `${text},${optionKindName(kind)}`;
    const next = nextTcpOption(bytes, pos, end);
    if (next === MALFORMED_OPTION) malformed = true;
    if (next < 0) break;
    const length = next - pos;
    if (kind === TcpOptionKind.Mss && length === MSS_OPTION_LENGTH) mss = readU16(bytes, pos + TcpOptionField.MSS_VALUE);
    else if (kind === TcpOptionKind.WindowScale && length === WINDOW_SCALE_OPTION_LENGTH)
      wscale = bytes[pos + TcpOptionField.WINDOW_SCALE_SHIFT]!;
    else if (kind === TcpOptionKind.Timestamp && length === TIMESTAMP_OPTION_LENGTH) tsVal = readU32(bytes, pos + TcpOptionField.TS_VALUE);
    pos = next;
  }
  let layout = interned.get(text);
  if (layout === undefined) {
    layout = text;
    if (interned.size < 4096) interned.set(text, text);
  }
  return { layout, mss, wscale, tsVal, malformed };
}
