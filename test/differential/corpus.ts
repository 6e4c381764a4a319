// The corpus for the differential test: named, crafted SYN and SYN/ACK segments (valid IP and TCP
// checksums unless the case is about a broken header), built for one run's MSS target so that "above",
// "equal" and "below" mean what they say under --set-mss and --clamp-mss-to-pmtu alike.
//
// `divergence` names the cases where mssmangler knowingly does not do what xt_TCPMSS does (docs/semantics.md
// "Differential testing against the kernel"); every other case must come out of the router byte for byte
// as our core plus forwarding makes it.
import {
  EOL,
  NOP,
  SYN,
  SYN_ACK,
  authenticationHeader,
  craftIpv4Tcp,
  craftIpv6Tcp,
  destinationOptions,
  fragmentHeader,
  hopByHop,
  linuxSynOptions,
  mssOption,
  sackPermittedOption,
  timestampOption,
  windowScaleOption,
  type ExtensionHeader,
} from '../packet/craft.js';

export type Family = 4 | 6;

/**
 * - odd-offset: an MSS value at an odd offset in the TCP header (behind one NOP or a window scale);
 *   the kernel's incremental update adds the value unswapped.
 * - duplicate: two MSS options; the kernel only looks at the first, we rewrite every one above target.
 * - after-eol: the only MSS option lies after EOL; the kernel's walk steps over EOL, ours stops there
 *   (padding is not options, RFC 9293 3.2) and so sees no MSS option.
 * - malformed-option: an option length of 0 or past the header; the kernel steps one byte (or leaves
 *   the walk) and carries on, we leave the packet alone.
 * - kernel-drops: a TCP data offset below 5 words or beyond the packet; the kernel drops, we accept.
 * - syn-fin: SYN+FIN matches `--tcp-flags SYN,RST SYN` and the kernel rewrites it; we leave SYN+FIN
 *   (and SYN+RST) alone: not a connection attempt.
 * - under-ah: IPv6 AH; behind iptables-legacy the kernel rewrites (and so breaks the ICV), we do not.
 *   Behind iptables-nft the rule's `-p tcp` does not see through AH, so neither side touches it.
 * - fragment: IPv4 first fragment or IPv6 Fragment header; the kernel rewrites a fragment with offset 0,
 *   we never touch fragments.
 */
export type Divergence =
  'odd-offset' | 'duplicate' | 'after-eol' | 'malformed-option' | 'kernel-drops' | 'syn-fin' | 'fragment' | 'under-ah';

export interface BuildContext {
  family: Family;
  srcPort: number;
  /** The MSS the router's rule aims for in this run (set-mss N, or path MTU minus 40 / 60). */
  target: number;
}

export interface CorpusCase {
  name: string;
  family: Family;
  divergence?: Divergence;
  build(ctx: BuildContext): Uint8Array;
}

/** Lab addresses as bytes: the client sends, the server receives (test/lab/lab.ts). */
const CLIENT4 = [198, 51, 100, 2];
const SERVER4 = [203, 0, 113, 2];
const CLIENT6 = [0xfd, 0, 0, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
const SERVER6 = [0xfd, 0, 0, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
/** The discard port: the server has no listener, it answers with a RST the test ignores. */
const DST_PORT = 9;
/** Above every target of every run (the largest is 1360). */
const ABOVE = 1460;

interface SegmentSpec {
  seq?: number;
  options?: number[];
  flags?: number;
  payload?: number[];
  dataOffsetWords?: number;
  /** Overrides the computed TCP checksum (a segment that arrives broken). */
  tcpChecksum?: number;
  ipOptions?: number[];
  flagsFragment?: number;
  extensionHeaders?: ExtensionHeader[];
}

function segment(ctx: BuildContext, spec: SegmentSpec): Uint8Array {
  const tcp = {
    srcPort: ctx.srcPort,
    dstPort: DST_PORT,
    seq: spec.seq,
    flags: spec.flags ?? SYN,
    ack: (spec.flags ?? SYN) === SYN_ACK ? 0x55667788 : 0,
    options: spec.options ?? [],
    payload: spec.payload ?? [],
    dataOffsetWords: spec.dataOffsetWords,
    tcpChecksum: spec.tcpChecksum,
  };
  if (ctx.family === 4) {
    return craftIpv4Tcp({ ...tcp, src: CLIENT4, dst: SERVER4, ipOptions: spec.ipOptions, flagsFragment: spec.flagsFragment });
  }
  return craftIpv6Tcp({ ...tcp, src: CLIENT6, dst: SERVER6, extensionHeaders: spec.extensionHeaders });
}

type Template = Omit<CorpusCase, 'family'> & { only?: Family };

const ts = (): number[] => timestampOption(0x0a0b0c0d, 0);
const payload = (n: number): number[] => Array.from({ length: n }, (_, i) => (i * 7 + 1) & 0xff);

/** Cases built for both families. Option offsets below are from the start of the TCP header. */
// prettier-ignore
const both: Template[] = [
  { name: 'mss first, linux syn options, above target', build: (c) => segment(c, { options: linuxSynOptions(ABOVE) }) },
  { name: 'syn/ack, mss first, above target', build: (c) => segment(c, { flags: SYN_ACK, options: [...mssOption(ABOVE), NOP, NOP, ...sackPermittedOption(), NOP, ...windowScaleOption(7)] }) },
  { name: 'mss last (value at 38), above target', build: (c) => segment(c, { options: [...sackPermittedOption(), ...ts(), NOP, ...windowScaleOption(7), ...mssOption(ABOVE)] }) },
  { name: 'mss after two nops (value at 24), above target', build: (c) => segment(c, { options: [NOP, NOP, ...mssOption(ABOVE), NOP, NOP] }) },
  { name: 'mss after sack-permitted (value at 24)', build: (c) => segment(c, { options: [...sackPermittedOption(), ...mssOption(ABOVE), NOP, NOP] }) },
  { name: 'mss after timestamps (value at 32)', build: (c) => segment(c, { options: [...ts(), ...mssOption(ABOVE), NOP, NOP] }) },
  { name: 'mss after nop + window scale (value at 26)', build: (c) => segment(c, { options: [NOP, ...windowScaleOption(7), ...mssOption(ABOVE)] }) },
  { name: 'mss after unknown option kind 254', build: (c) => segment(c, { options: [254, 6, 0xde, 0xad, 0xbe, 0xef, ...mssOption(ABOVE), NOP, NOP] }) },
  { name: 'kind 2 with length 3 skipped, then mss', build: (c) => segment(c, { options: [2, 3, 0x05, NOP, ...mssOption(ABOVE)] }) },
  { name: 'mss last in a 60-byte header (option at 56)', build: (c) => segment(c, { options: [...ts(), ...ts(), ...ts(), NOP, NOP, ...sackPermittedOption(), NOP, NOP, ...mssOption(ABOVE)] }) },
  { name: 'mss 65535', build: (c) => segment(c, { options: [...mssOption(0xffff), NOP, ...windowScaleOption(2)] }) },
  { name: 'mss-like bytes inside a timestamp, no real mss: inserted', build: (c) => segment(c, { options: [NOP, NOP, 8, 10, 2, 4, 0x05, 0xb4, 2, 4, 0x05, 0xb4] }) },
  { name: 'mss equal to target: unchanged', build: (c) => segment(c, { options: linuxSynOptions(c.target) }) },
  { name: 'mss below target: unchanged', build: (c) => segment(c, { options: linuxSynOptions(c.target - 100) }) },
  { name: 'mss 0: unchanged', build: (c) => segment(c, { options: mssOption(0) }) },
  { name: 'mss above target with payload', build: (c) => segment(c, { options: linuxSynOptions(ABOVE), payload: payload(13) }) },
  { name: 'syn/ack, mss above target with payload', build: (c) => segment(c, { flags: SYN_ACK, options: mssOption(ABOVE), payload: payload(8) }) },
  { name: 'no options: mss inserted', build: (c) => segment(c, {}) },
  { name: 'no mss, sack/timestamps/wscale: mss inserted before them', build: (c) => segment(c, { options: [...sackPermittedOption(), ...ts(), NOP, ...windowScaleOption(7)] }) },
  { name: 'syn/ack without mss: mss inserted', build: (c) => segment(c, { flags: SYN_ACK, options: [NOP, NOP, ...sackPermittedOption()] }) },
  { name: 'no mss, 56-byte header: inserted up to 60', build: (c) => segment(c, { options: [...ts(), ...ts(), ...ts(), NOP, NOP, ...sackPermittedOption(), NOP, NOP] }) },
  { name: 'no mss, 60-byte header: no room, unchanged', build: (c) => segment(c, { options: [...ts(), ...ts(), ...ts(), NOP, NOP, ...sackPermittedOption(), NOP, NOP, NOP, NOP, NOP, NOP] }) },
  { name: 'no mss, with payload: unchanged', build: (c) => segment(c, { options: [NOP, NOP, ...sackPermittedOption()], payload: payload(10) }) },
  { name: 'mss before eol, eol padding after', build: (c) => segment(c, { options: [...mssOption(ABOVE), EOL, 0, 0, 0] }) },
  { name: 'mss after one nop (value at 23), equal to target: unchanged', build: (c) => segment(c, { options: [NOP, ...mssOption(c.target), NOP, NOP, NOP] }) },
  { name: 'mss after window scale (value at 25), below target: unchanged', build: (c) => segment(c, { options: [...windowScaleOption(7), ...mssOption(c.target - 1), NOP] }) },
  // Incremental updates keep a bad checksum bad by the same amount (no laundering), as the kernel does.
  { name: 'tcp checksum bad on arrival, mss above target', build: (c) => segment(c, { options: linuxSynOptions(ABOVE), tcpChecksum: 0x1234 }) },
  { name: 'tcp checksum bad on arrival, no mss: inserted', build: (c) => segment(c, { options: [NOP, NOP, ...sackPermittedOption()], tcpChecksum: 0xbeef }) },
  { name: 'tcp checksum 0xffff on arrival, mss above target', build: (c) => segment(c, { options: [...mssOption(ABOVE)], tcpChecksum: 0xffff }) },
  // The 0x0000 / 0xffff corner: after the rewrite the one's-complement sum is all ones.
  { name: 'tcp checksum becomes 0x0000 after the rewrite', build: (c) => segment(c, { seq: seqForZeroChecksum(c, [...mssOption(c.target), NOP, NOP, ...sackPermittedOption()]), options: [...mssOption(ABOVE), NOP, NOP, ...sackPermittedOption()] }) },
  { name: 'syn+rst with mss: the rule does not match', build: (c) => segment(c, { flags: SYN | 0x04, options: linuxSynOptions(ABOVE) }) },
  { name: 'ack without syn, with an mss option: the rule does not match', build: (c) => segment(c, { flags: 0x10, options: linuxSynOptions(ABOVE) }) },

  { name: 'mss after one nop (value at 23)', divergence: 'odd-offset', build: (c) => segment(c, { options: [NOP, ...mssOption(ABOVE), NOP, NOP, NOP] }) },
  { name: 'mss after window scale (value at 25)', divergence: 'odd-offset', build: (c) => segment(c, { options: [...windowScaleOption(7), ...mssOption(ABOVE), NOP] }) },
  { name: 'syn/ack, mss after sack-permitted + window scale (value at 27)', divergence: 'odd-offset', build: (c) => segment(c, { flags: SYN_ACK, options: [...sackPermittedOption(), ...windowScaleOption(7), ...mssOption(ABOVE), NOP, NOP, NOP] }) },
  { name: 'duplicate mss, both above target', divergence: 'duplicate', build: (c) => segment(c, { options: [...mssOption(ABOVE), ...mssOption(ABOVE + 20)] }) },
  { name: 'duplicate mss, first below target, second above', divergence: 'duplicate', build: (c) => segment(c, { options: [...mssOption(c.target - 60), NOP, NOP, ...sackPermittedOption(), ...mssOption(ABOVE)] }) },
  { name: 'only mss after eol, no payload', divergence: 'after-eol', build: (c) => segment(c, { options: [EOL, 0, 0, 0, ...mssOption(ABOVE)] }) },
  { name: 'only mss after eol, with payload', divergence: 'after-eol', build: (c) => segment(c, { options: [NOP, NOP, EOL, 0, ...mssOption(ABOVE)], payload: payload(6) }) },
  { name: 'option length 0 before mss', divergence: 'malformed-option', build: (c) => segment(c, { options: [3, 0, ...mssOption(ABOVE), NOP, NOP] }) },
  { name: 'option length 1 before mss', divergence: 'malformed-option', build: (c) => segment(c, { options: [254, 1, NOP, NOP, ...mssOption(ABOVE)] }) },
  { name: 'option running past the header, no mss', divergence: 'malformed-option', build: (c) => segment(c, { options: [NOP, NOP, 8, 30, 0, 0, 0, 0] }) },
  { name: 'syn+fin with mss', divergence: 'syn-fin', build: (c) => segment(c, { flags: SYN | 0x01, options: linuxSynOptions(ABOVE) }) },
  { name: 'tcp data offset 4 (below 5)', divergence: 'kernel-drops', build: (c) => segment(c, { options: mssOption(ABOVE), dataOffsetWords: 4 }) },
  { name: 'tcp data offset 15 beyond a 24-byte segment', divergence: 'kernel-drops', build: (c) => segment(c, { options: mssOption(ABOVE), dataOffsetWords: 15 }) },
];

/** A sequence number that makes the TCP checksum of the segment with `options` come out as 0x0000: the
 * low half of the sequence number is one checksum word, so it absorbs the difference. */
function seqForZeroChecksum(ctx: BuildContext, options: number[]): number {
  const base = 0x11220000;
  const probe = segment(ctx, { seq: base, options });
  const l4 = ctx.family === 4 ? 20 : 40;
  const check = (probe[l4 + 16]! << 8) | probe[l4 + 17]!;
  // check = ~sum; we want sum' = 0xffff, so add ~sum's complement... i.e. add `check` to the word.
  let word = check;
  if (word === 0xffff) word = 0;
  const seq = base + word;
  const verify = segment(ctx, { seq, options });
  if (((verify[l4 + 16]! << 8) | verify[l4 + 17]!) !== 0) throw new Error('seqForZeroChecksum: no zero checksum');
  return seq;
}

/** Router-friendly IPv4 options: the router fills Record Route on the way (ip_forward_options). */
const recordRoute = (slots: number): number[] => [7, 3 + 4 * slots, 4, ...new Array<number>(4 * slots).fill(0)];

// prettier-ignore
const ipv4Only: Template[] = [
  { name: 'ip options: 4 nops (ihl 6), linux syn options', build: (c) => segment(c, { ipOptions: [NOP, NOP, NOP, NOP], options: linuxSynOptions(ABOVE) }) },
  { name: 'ip options: 40 nops (ihl 15), mss', build: (c) => segment(c, { ipOptions: new Array<number>(40).fill(NOP), options: [...mssOption(ABOVE), NOP, NOP, ...sackPermittedOption()] }) },
  { name: 'ip options: nops + eol (ihl 7), no mss: inserted', build: (c) => segment(c, { ipOptions: [NOP, NOP, NOP, EOL, 0, 0, 0, 0], options: [...sackPermittedOption(), NOP, NOP] }) },
  { name: 'ip options: record route with 2 free slots (ihl 8), mss', build: (c) => segment(c, { ipOptions: [NOP, ...recordRoute(2)], options: linuxSynOptions(ABOVE) }) },
  { name: 'ip options: record route (ihl 7), no mss: inserted', build: (c) => segment(c, { ipOptions: [NOP, ...recordRoute(1)], options: [] }) },
  { name: 'first fragment (MF, offset 0) with mss', divergence: 'fragment', build: (c) => segment(c, { flagsFragment: 0x2000, options: linuxSynOptions(ABOVE) }) },
];

const padN = (n: number): number[] => [1, n - 2, ...new Array<number>(n - 2).fill(0)];
/** Option type 0x1e: for experiments (RFC 4727), action bits 00 = skip when unknown (RFC 8200 4.2). */
const unknownSkippableOption = (): number[] => [0x1e, 4, 0xde, 0xad, 0xbe, 0xef];

// prettier-ignore
const ipv6Only: Template[] = [
  { name: 'hop-by-hop with padn, mss', build: (c) => segment(c, { extensionHeaders: [hopByHop(padN(6))], options: linuxSynOptions(ABOVE) }) },
  // Linux drops more than 7 bytes of padding in a row (ip6_parse_tlv), so an option sits between.
  { name: 'hop-by-hop with pad1s, a skippable unknown option and padn (16 bytes), mss last', build: (c) => segment(c, { extensionHeaders: [hopByHop([0, 0, ...unknownSkippableOption(), ...padN(6)])], options: [NOP, NOP, ...sackPermittedOption(), ...mssOption(ABOVE)] }) },
  { name: 'destination options, mss', build: (c) => segment(c, { extensionHeaders: [destinationOptions(padN(6))], options: linuxSynOptions(ABOVE) }) },
  { name: 'routing header segments left 0, mss', build: (c) => segment(c, { extensionHeaders: [routingSegmentsLeft0()], options: linuxSynOptions(ABOVE) }) },
  { name: 'hop-by-hop + destination options + routing, mss after one nop', divergence: 'odd-offset', build: (c) => segment(c, { extensionHeaders: [hopByHop(padN(6)), destinationOptions(padN(6)), routingSegmentsLeft0()], options: [NOP, ...mssOption(ABOVE), NOP, NOP, NOP] }) },
  { name: 'hop-by-hop + destination options + routing, no mss: inserted', build: (c) => segment(c, { extensionHeaders: [hopByHop(padN(6)), destinationOptions(padN(6)), routingSegmentsLeft0()], options: [...sackPermittedOption(), NOP, NOP] }) },
  { name: 'destination options 24 bytes, no options: inserted', build: (c) => segment(c, { extensionHeaders: [destinationOptions(padN(22))] }) },
  { name: 'atomic fragment header (offset 0, M 0), mss', divergence: 'fragment', build: (c) => segment(c, { extensionHeaders: [fragmentHeader(0, false)], options: linuxSynOptions(ABOVE) }) },
  { name: 'authentication header, mss', divergence: 'under-ah', build: (c) => segment(c, { extensionHeaders: [authenticationHeader()], options: linuxSynOptions(ABOVE) }) },
];

/** Routing header with Segments Left 0 (RFC 8200 4.4): the router forwards it untouched. Type 253 is
 * for experiments (RFC 4727), so no stack gives it meaning. */
function routingSegmentsLeft0(): ExtensionHeader {
  return { type: 43, bytes: [0, 0, 253, 0, 0, 0, 0, 0] };
}

export const corpus: readonly CorpusCase[] = [
  ...both.map((t) => ({ ...t, family: 4 as const, name: `ipv4: ${t.name}` })),
  ...ipv4Only.map((t) => ({ ...t, family: 4 as const, name: `ipv4: ${t.name}` })),
  ...both.map((t) => ({ ...t, family: 6 as const, name: `ipv6: ${t.name}` })),
  ...ipv6Only.map((t) => ({ ...t, family: 6 as const, name: `ipv6: ${t.name}` })),
];
