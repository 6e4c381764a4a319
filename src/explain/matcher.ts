// Pairs the handshakes of capture A with those of capture B. Scoring every pair would be quadratic
// (200,000 connections each side), so candidates come from indexes on the near-unique evidence (SYN
// TSval, client ISN, server ISN) and from the nearest handshakes in time once the clock offset between
// the captures is known. Then one assignment over all candidate pairs: best score first, each
// handshake used once (a global greedy matching: not per packet, and exact whenever the scores of the
// right pairs stand out, which timestamps, ISNs or time make them do).
import type { Handshake } from './handshake.js';
import { TIME_WINDOW_SECONDS, isAcceptable, isStrongMatch, matchScore } from './match-score.js';

export interface MatchedPair {
  a: Handshake | null;
  b: Handshake | null;
  /** 0 for an unmatched handshake. */
  score: number;
}

/** How many neighbours in time each A handshake considers at most. */
const TIME_NEIGHBOURS = 8;

/** Candidates kept per A handshake (its best): enough for the assignment to fall back when a better
 * pair takes its first choice, few enough that memory stays at a few bytes per connection. */
const CANDIDATES_PER_HANDSHAKE = 4;

interface Candidate {
  a: number;
  b: number;
  score: number;
}

/** Candidate pairs as three growable typed arrays (no object per candidate). */
class CandidateList {
  a = new Int32Array(1024);
  b = new Int32Array(1024);
  score = new Float64Array(1024);
  length = 0;

  push(c: Candidate): void {
    if (this.length === this.a.length) {
      const grow = <T extends Int32Array | Float64Array>(old: T, make: (n: number) => T): T => {
        const grown = make(old.length * 2);
        grown.set(old);
        return grown;
      };
      this.a = grow(this.a, (n) => new Int32Array(n));
      this.b = grow(this.b, (n) => new Int32Array(n));
      this.score = grow(this.score, (n) => new Float64Array(n));
    }
    this.a[this.length] = c.a;
    this.b[this.length] = c.b;
    this.score[this.length] = c.score;
    this.length++;
  }

  /** Indexes in order of falling score, ties in order of A then B (deterministic). */
  byScore(): Uint32Array {
    const order = new Uint32Array(this.length);
    for (let i = 0; i < this.length; i++) order[i] = i;
    return order.sort((x, y) => this.score[y]! - this.score[x]! || this.a[x]! - this.a[y]! || this.b[x]! - this.b[y]!);
  }
}

/** Pairs `a` with `b`; every handshake of both appears exactly once, in order of A (B-only ones where
 * they fall in time). */
export function matchHandshakes(a: readonly Handshake[], b: readonly Handshake[]): MatchedPair[] {
  const indexes = {
    synTsVal: indexBy(b, (h) => h.syn?.tsVal),
    clientIsn: indexBy(b, (h) => h.syn?.seq),
    serverIsn: indexBy(b, (h) => h.synAck?.seq),
  };
  const offset = clockOffset(a, b, indexes);
  const byTime = b.map((_, i) => i).sort((x, y) => b[x]!.firstSeen - b[y]!.firstSeen);
  const times = byTime.map((i) => b[i]!.firstSeen);

  // Candidate pairs in parallel typed arrays: a few per A handshake, 200,000 A handshakes.
  const candidates = new CandidateList();
  const seen = new Set<number>();
  const best: Candidate[] = [];
  for (let i = 0; i < a.length; i++) {
    const h = a[i]!;
    seen.clear();
    best.length = 0;
    let strong = false;
    const consider = (j: number): void => {
      if (seen.has(j)) return;
      seen.add(j);
      const score = matchScore(h, b[j]!, offset);
      if (!isAcceptable(h, b[j]!, score, offset)) return;
      if (isStrongMatch(h, b[j]!)) strong = true;
      best.push({ a: i, b: j, score });
    };
    for (const j of lookup(indexes.synTsVal, h.syn?.tsVal)) consider(j);
    for (const j of lookup(indexes.clientIsn, h.syn?.seq)) consider(j);
    for (const j of lookup(indexes.serverIsn, h.synAck?.seq)) consider(j);
    // A shared timestamp or ISN found the partner already; the neighbours in time would only lose to it.
    if (!strong) for (const j of nearestInTime(byTime, times, h.firstSeen + offset)) consider(j);
    best.sort((x, y) => y.score - x.score);
    for (let k = 0; k < best.length && k < CANDIDATES_PER_HANDSHAKE; k++) candidates.push(best[k]!);
  }

  const pairOfA = new Int32Array(a.length).fill(-1);
  const scoreOfA = new Float64Array(a.length);
  const takenB = new Uint8Array(b.length);
  for (const c of candidates.byScore()) {
    const ai = candidates.a[c]!;
    const bj = candidates.b[c]!;
    if (pairOfA[ai] !== -1 || takenB[bj] === 1) continue;
    pairOfA[ai] = bj;
    scoreOfA[ai] = candidates.score[c]!;
    takenB[bj] = 1;
  }

  const pairs: MatchedPair[] = [];
  for (let i = 0; i < a.length; i++) {
    const j = pairOfA[i]!;
    pairs.push({ a: a[i]!, b: j < 0 ? null : b[j]!, score: scoreOfA[i]! });
  }
  // B-only handshakes go after the last pair that came before them in time.
  const onlyB = b.filter((_, j) => takenB[j] === 0).map((h) => ({ a: null, b: h, score: 0 }));
  return mergeByTime(pairs, onlyB, offset);
}

/** Value -> index of the one handshake holding it, or the list when several do (rare: one number per
 * entry keeps three indexes of 200,000 handshakes small). */
type ValueIndex = Map<number, number | number[]>;

function indexBy(list: readonly Handshake[], value: (h: Handshake) => number | null | undefined): ValueIndex {
  const index: ValueIndex = new Map();
  list.forEach((h, i) => {
    const v = value(h);
    if (v === null || v === undefined || v === 0) return;
    const at = index.get(v);
    if (at === undefined) index.set(v, i);
    else if (typeof at === 'number') index.set(v, [at, i]);
    else at.push(i);
  });
  return index;
}

const NONE: readonly number[] = [];

/** A value shared by more handshakes than this is no identity (a stack with a constant TSval, a
 * generator's fixed ISN): it proposes no candidates, or every lookup would cost the whole capture. */
const MAX_SHARED_VALUE = 8;

function lookup(index: ValueIndex, value: number | null | undefined): readonly number[] {
  if (value === null || value === undefined || value === 0) return NONE;
  const hits = index.get(value);
  if (hits === undefined) return NONE;
  if (typeof hits === 'number') return [hits];
  return hits.length > MAX_SHARED_VALUE ? NONE : hits;
}

/**
 * Seconds B's clock reads ahead of A's: the median time difference of pairs that share a timestamp or
 * client ISN with exactly one handshake on the other side. Without any, the first handshakes of the two
 * captures are taken as simultaneous (right when both captures start before the traffic).
 */
export function clockOffset(
  a: readonly Handshake[],
  b: readonly Handshake[],
  indexes: { synTsVal: ValueIndex; clientIsn: ValueIndex },
): number {
  const differences: number[] = [];
  for (const h of a) {
    for (const index of [indexes.synTsVal, indexes.clientIsn]) {
      const hits = lookup(index, index === indexes.synTsVal ? h.syn?.tsVal : h.syn?.seq);
      if (hits.length === 1 && isStrongMatch(h, b[hits[0]!]!)) {
        differences.push(b[hits[0]!]!.firstSeen - h.firstSeen);
        break;
      }
    }
  }
  if (differences.length === 0) return a.length > 0 && b.length > 0 ? minTime(b) - minTime(a) : 0;
  differences.sort((x, y) => x - y);
  return differences[differences.length >> 1]!;
}

function minTime(list: readonly Handshake[]): number {
  let min = Infinity;
  for (const h of list) if (h.firstSeen < min) min = h.firstSeen;
  return min;
}

/** The indexes (into b) of up to TIME_NEIGHBOURS handshakes nearest to `time`, within the window. */
function nearestInTime(byTime: readonly number[], times: readonly number[], time: number): number[] {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! < time) lo = mid + 1;
    else hi = mid;
  }
  const found: number[] = [];
  let left = lo - 1;
  let right = lo;
  while (found.length < TIME_NEIGHBOURS) {
    const leftGap = left >= 0 ? time - times[left]! : Infinity;
    const rightGap = right < times.length ? times[right]! - time : Infinity;
    const gap = Math.min(leftGap, rightGap);
    if (gap >= TIME_WINDOW_SECONDS) break;
    if (leftGap <= rightGap) found.push(byTime[left--]!);
    else found.push(byTime[right++]!);
  }
  return found;
}

function mergeByTime(pairs: MatchedPair[], onlyB: MatchedPair[], offset: number): MatchedPair[] {
  if (onlyB.length === 0) return pairs;
  const timeOf = (p: MatchedPair): number => (p.a !== null ? p.a.firstSeen : p.b!.firstSeen - offset);
  onlyB.sort((x, y) => timeOf(x) - timeOf(y));
  const merged: MatchedPair[] = [];
  let j = 0;
  for (const p of pairs) {
    while (j < onlyB.length && timeOf(onlyB[j]!) < timeOf(p)) merged.push(onlyB[j++]!);
    merged.push(p);
  }
  while (j < onlyB.length) merged.push(onlyB[j++]!);
  return merged;
}
