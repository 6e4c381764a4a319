// The explain document: exactly the shape issue 10 fixes for scripts and tests. Built from the matched
// handshakes; the text output renders the same document, so both always say the same thing.
import { changesBetween, type Change } from './change.js';
import { explainPair, explainSingle } from './explanation.js';
import type { Handshake, SegmentSeen } from './handshake.js';
import type { MatchedPair } from './matcher.js';

export interface SegmentReport {
  mss: number | null;
  options: string;
  seq: number;
  ttl: number;
}

export interface SideReport {
  client: string;
  clientPort: number;
  server: string;
  serverPort: number;
  syn: SegmentReport | null;
  synAck: SegmentReport | null;
  largestSegmentToServer: number | null;
  largestSegmentToClient: number | null;
  tooBig: Array<{ mtu: number }>;
}

export interface HandshakeReport {
  family: 4 | 6;
  a: SideReport | null;
  b: SideReport | null;
  changes: Change[];
  explanation: string[];
}

export interface ExplainReport {
  handshakes: HandshakeReport[];
}

function segmentReport(s: SegmentSeen | null): SegmentReport | null {
  return s === null ? null : { mss: s.mss, options: s.options, seq: s.seq, ttl: s.ttl };
}

export function sideReport(h: Handshake): SideReport {
  const mtus: number[] = [];
  for (const t of h.tooBig) if (!mtus.includes(t.mtu)) mtus.push(t.mtu);
  return {
    client: h.client,
    clientPort: h.clientPort,
    server: h.server,
    serverPort: h.serverPort,
    syn: segmentReport(h.syn),
    synAck: segmentReport(h.synAck),
    largestSegmentToServer: h.largestToServer < 0 ? null : h.largestToServer,
    largestSegmentToClient: h.largestToClient < 0 ? null : h.largestToClient,
    tooBig: mtus.map((mtu) => ({ mtu })),
  };
}

/** The report entry of one pair; `twoCaptures` says whether a missing side means "not seen there" or
 * "no B given". */
export function handshakeReport({ a, b }: MatchedPair, twoCaptures: boolean): HandshakeReport {
  const family = (a ?? b)!.family;
  if (a !== null && b !== null) {
    const changes = changesBetween(a, b);
    return { family, a: sideReport(a), b: sideReport(b), changes, explanation: explainPair(a, b, changes) };
  }
  const only = (a ?? b)!;
  return {
    family,
    a: a === null ? null : sideReport(a),
    b: b === null ? null : sideReport(b),
    changes: [],
    explanation: explainSingle(only, a !== null ? 'A' : 'B', twoCaptures),
  };
}

/** The whole document at once (tests; the CLI streams it with writeJsonReport). */
export function buildReport(pairs: readonly MatchedPair[], twoCaptures: boolean): ExplainReport {
  return { handshakes: pairs.map((pair) => handshakeReport(pair, twoCaptures)) };
}
