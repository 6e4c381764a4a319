// How strongly a handshake at A and one at B look like the same connection, from evidence a middlebox
// leaves alone. Addresses, ports and sequence numbers count only when they agree (a NAT or an
// ISN-randomizing firewall changes them, so a difference proves nothing); TCP timestamps and the
// client's ISN are near-unique when they agree; option layout and window scale are the stack's
// fingerprint; time (after the clock offset between the captures) separates the rest.
import type { Handshake } from './handshake.js';

/** Points per piece of evidence. A timestamp or ISN match alone clears MIN_SCORE; layout, window scale
 * and an unchanged server endpoint together do not without time agreeing too. */
export const Evidence = {
  synTsVal: 40,
  synAckTsVal: 15,
  clientIsn: 40,
  serverIsn: 25,
  synWscale: 4,
  synLayout: 4,
  synAckLayout: 2,
  clientAddress: 4,
  clientPort: 8,
  serverAddress: 4,
  serverPort: 6,
  /** At zero time difference; falls linearly to 0 at TIME_WINDOW_SECONDS. */
  time: 14,
} as const;

/** Handshakes further apart than this (after the offset) get no points for time. */
export const TIME_WINDOW_SECONDS = 2;
/** Below this a pair is not a match. Two unrelated connections from one client to one service can
 * reach it on fingerprint and endpoints alone (up to 24), so a pair also needs a strong match or time
 * agreeing (isAcceptable). */
export const MIN_SCORE = 20;

export function isAcceptable(a: Handshake, b: Handshake, score: number, offset: number): boolean {
  if (score < MIN_SCORE) return false;
  if (isStrongMatch(a, b)) return true;
  // Without a timestamp or ISN in common, time must agree and so must the stack's fingerprint: a box
  // may strip options (the layout changes) but rarely also the window scale.
  return timeScore(a, b, offset) > 0 && fingerprintAgrees(a, b);
}

function fingerprintAgrees(a: Handshake, b: Handshake): boolean {
  if (a.syn === null || b.syn === null) return true;
  return a.syn.options === b.syn.options || a.syn.wscale === b.syn.wscale;
}

/** True when the pair shares a TCP timestamp or a client ISN: an anchor for the clock offset. */
export function isStrongMatch(a: Handshake, b: Handshake): boolean {
  return sameNonZero(a.syn?.tsVal, b.syn?.tsVal) || sameNonZero(a.syn?.seq, b.syn?.seq);
}

function sameNonZero(x: number | null | undefined, y: number | null | undefined): boolean {
  return x !== null && x !== undefined && x !== 0 && x === y;
}

/** The score of A's handshake `a` against B's `b`, when B's clock reads `offset` seconds ahead of A's. */
export function matchScore(a: Handshake, b: Handshake, offset: number): number {
  if (a.family !== b.family) return 0;
  let score = 0;
  if (sameNonZero(a.syn?.tsVal, b.syn?.tsVal)) score += Evidence.synTsVal;
  if (sameNonZero(a.synAck?.tsVal, b.synAck?.tsVal)) score += Evidence.synAckTsVal;
  if (sameNonZero(a.syn?.seq, b.syn?.seq)) score += Evidence.clientIsn;
  if (sameNonZero(a.synAck?.seq, b.synAck?.seq)) score += Evidence.serverIsn;
  if (a.syn !== null && b.syn !== null) {
    if (a.syn.wscale === b.syn.wscale) score += Evidence.synWscale;
    if (a.syn.options === b.syn.options) score += Evidence.synLayout;
  }
  if (a.synAck !== null && b.synAck !== null && a.synAck.options === b.synAck.options) score += Evidence.synAckLayout;
  if (a.client === b.client) score += Evidence.clientAddress;
  if (a.clientPort === b.clientPort) score += Evidence.clientPort;
  if (a.server === b.server) score += Evidence.serverAddress;
  if (a.serverPort === b.serverPort) score += Evidence.serverPort;
  score += timeScore(a, b, offset);
  return score;
}

export function timeScore(a: Handshake, b: Handshake, offset: number): number {
  const gap = Math.abs(b.firstSeen - a.firstSeen - offset);
  return gap >= TIME_WINDOW_SECONDS ? 0 : Evidence.time * (1 - gap / TIME_WINDOW_SECONDS);
}
