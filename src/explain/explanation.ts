// Plain sentences about one connection: what changed between A (nearer the client) and B (nearer the
// server), and what the evidence at each point says about the boxes in between. Each sentence states
// the observation with its numbers first, then the likely cause; a reader can check every number in the
// block above it.
import type { Change } from './change.js';
import type { Handshake, SegmentSeen } from './handshake.js';
import { defaultMss, effectiveMss, hopsTravelled, initialTtl, knownMssOrigin, mssForMtu, mtuForMss } from './known-mss.js';
import { optionKindName } from './option-layout.js';
import { synCookieMss, synCookieTable } from './syn-cookie-mss.js';

export type Point = 'A' | 'B';

/** Sentences for a connection seen at both points. */
export function explainPair(a: Handshake, b: Handshake, changes: readonly Change[]): string[] {
  const out: string[] = [];
  const has = (c: Change): boolean => changes.includes(c);
  const family = a.family;
  const proxied = synAckFromNearerBox(a, b);

  if (has('syn-mss')) out.push(...mssChange(family, "The client's SYN", 'A', a.syn!.mss, 'B', b.syn!.mss, a.syn!, b.syn!));
  if (a.syn !== null && b.syn !== null && a.syn.mss !== null && b.syn.mss !== null && b.syn.mss < a.syn.mss) {
    const cookie = synCookieMss(family, a.syn.mss);
    if (cookie === b.syn.mss) {
      out.push(
        `${b.syn.mss} is exactly what a Linux SYN cookie keeps of ${a.syn.mss} (its IPv${family} table holds only ${synCookieTable(family).join(', ')}): the SYN the server received was rebuilt from a SYN cookie, as a SYN proxy does.`,
      );
    }
  }
  if (has('synack-mss')) {
    if (proxied !== null) {
      out.push(
        `The SYN/ACK at A carries MSS ${text(a.synAck!.mss)}, the server's at B ${text(b.synAck!.mss)}: the client got the proxy's MSS, not the server's.`,
      );
    } else {
      out.push(...mssChange(family, "The server's SYN/ACK", 'B', b.synAck!.mss, 'A', a.synAck!.mss, b.synAck!, a.synAck!));
    }
  }
  if (has('syn-options')) out.push(...optionChange('SYN', a.syn!, b.syn!, 'A', 'B'));
  if (has('synack-options') && proxied === null) out.push(...optionChange('SYN/ACK', b.synAck!, a.synAck!, 'B', 'A'));

  if (has('syn-seq')) {
    out.push(
      `The client's initial sequence number is ${a.syn!.seq} at A and ${b.syn!.seq} at B: a box between rewrites sequence numbers (a firewall randomizing ISNs, or a proxy with its own connection to the server).`,
    );
  }
  if (has('synack-seq')) {
    if (proxied !== null) {
      out.push(
        `The SYN/ACK at A (sequence ${a.synAck!.seq}) is not the server's (${b.synAck!.seq} at B), and ${proxied}: a SYN proxy answered the client itself, then opened its own connection to the server and translates sequence numbers between the two.`,
      );
    } else {
      out.push(
        `The server's initial sequence number is ${b.synAck!.seq} at B and ${a.synAck!.seq} at A: a box between rewrites it (a firewall randomizing ISNs, or a SYN proxy).`,
      );
    }
  }
  out.push(...natChange(a, b, changes));

  if (changes.length === 0) {
    out.push(
      'Nothing the handshake carries changed between A and B: MSS, options, sequence numbers, addresses and ports are the same, so the boxes between forward it untouched.',
    );
  }
  const hops = hopsBetween(a, b);
  if (hops !== null && hops > 0)
    out.push(`B is ${hops} hop${hops === 1 ? '' : 's'} after A (the SYN's TTL is ${a.syn!.ttl} at A, ${b.syn!.ttl} at B).`);

  out.push(...pointEvidence(a, 'A', proxied === null));
  out.push(...pointEvidence(b, 'B', true));
  out.push(...offloadConfirmed(a, b));
  return out;
}

/** Sentences for a connection seen at one point; `onlyHere` when there was a second capture that lacks it. */
export function explainSingle(h: Handshake, point: Point, otherCapture: boolean): string[] {
  const out: string[] = [];
  if (otherCapture) {
    out.push(
      point === 'A'
        ? "Seen only at A: no handshake at B matches it (the SYN did not get past the boxes between, or B's capture missed it)."
        : "Seen only at B: no handshake at A matches it (it did not pass A, or A's capture missed it).",
    );
  }
  if (h.syn !== null && h.synAck === null) out.push(`The SYN got no SYN/ACK at ${point}.`);
  if (h.syn === null) out.push(`The capture at ${point} has no SYN for this connection (it started after the SYN was sent).`);
  if (!otherCapture) {
    for (const [who, segment] of [
      ["client's SYN", h.syn],
      ["server's SYN/ACK", h.synAck],
    ] as const) {
      const origin = segment?.mss == null ? null : knownMssOrigin(h.family, segment.mss);
      if (origin !== null) out.push(`The ${who} carries MSS ${segment!.mss}; ${origin}, so a box before ${point} may have lowered it.`);
    }
  }
  out.push(...pointEvidence(h, point, true));
  return out;
}

function text(mss: number | null): string {
  return mss === null ? 'none' : String(mss);
}

/** An MSS that differs from where the segment was (`from`) to where it arrived (`to`). */
function mssChange(
  family: 4 | 6,
  what: string,
  from: Point,
  before: number | null,
  to: Point,
  after: number | null,
  seenBefore: SegmentSeen,
  seenAfter: SegmentSeen,
): string[] {
  if (before !== null && after === null) {
    const nops = count(seenAfter.options, 'nop') - count(seenBefore.options, 'nop');
    const how = nops >= 4 ? " (overwritten with NOPs, as mssmangler's strip fault does)" : '';
    return [
      `${what} has MSS ${before} at ${from} and no MSS option at ${to}: a box between removed it${how}; the receiver assumes the default ${defaultMss(family)}.`,
    ];
  }
  if (before === null && after !== null) {
    return [`${what} has no MSS option at ${from} and MSS ${after} at ${to}: a box between added one.`];
  }
  if (before === null || after === null) return [];
  if (after === 0) {
    return [
      `${what} has MSS ${before} at ${from} and 0 at ${to} (as mssmangler's zero fault does): a Linux receiver ignores an MSS of 0 and assumes the default ${defaultMss(family)}; other stacks may not.`,
    ];
  }
  const lowered = after < before;
  const sentence = `${what} left ${from} with MSS ${before} and reached ${to} with ${after}: a box between ${lowered ? 'lowered' : 'raised'} it by ${Math.abs(before - after)} bytes`;
  const origin = knownMssOrigin(family, after);
  const out = [origin === null ? `${sentence}.` : `${sentence}; ${origin}.`];
  if (!lowered)
    out.push(`A raised MSS lets the peer send segments of ${after} bytes, which need a path MTU of ${mtuForMss(family, after)}.`);
  return out;
}

function count(layout: string, name: string): number {
  return layout.split(',').filter((k) => k === name).length;
}

/** Option kinds (not padding) that one side has more of than the other. */
function optionChange(segment: string, before: SegmentSeen, after: SegmentSeen, from: Point, to: Point): string[] {
  const kinds = (layout: string): string[] => layout.split(',').filter((k) => k !== 'nop' && k !== 'eol' && k !== '');
  const removed = difference(kinds(before.options), kinds(after.options));
  const added = difference(kinds(after.options), kinds(before.options));
  const out: string[] = [];
  if (removed.length > 0) out.push(`Options removed from the ${segment} between ${from} and ${to}: ${removed.join(', ')}.`);
  if (added.length > 0) {
    const duplicateMss = added.includes(optionKindName(2)) && kinds(before.options).includes('mss');
    out.push(
      `Options added to the ${segment} between ${from} and ${to}: ${added.join(', ')}${duplicateMss ? " (a second MSS option, as mssmangler's duplicate fault adds; a Linux receiver uses the last)" : ''}.`,
    );
  }
  if (out.length === 0)
    out.push(
      `The ${segment}'s option layout changed from ${before.options} at ${from} to ${after.options} at ${to} (same options, padding or order rewritten).`,
    );
  return out;
}

/** Elements of `x` beyond those matched one for one in `y`. */
function difference(x: readonly string[], y: readonly string[]): string[] {
  const left = [...y];
  const out: string[] = [];
  for (const k of x) {
    const i = left.indexOf(k);
    if (i >= 0) left.splice(i, 1);
    else out.push(k);
  }
  return out;
}

function natChange(a: Handshake, b: Handshake, changes: readonly Change[]): string[] {
  const out: string[] = [];
  const address = changes.includes('client-address');
  const port = changes.includes('client-port');
  if (address || port) {
    const what = address && port ? 'address and port' : address ? 'address' : 'port';
    out.push(
      `The client's ${what} ${address && port ? 'were' : 'was'} translated between A and B (${endpoint(a.client, a.clientPort)} at A, ${endpoint(b.client, b.clientPort)} at B): source NAT${!address ? ' with port mapping' : ''}.`,
    );
  }
  const sAddress = changes.includes('server-address');
  const sPort = changes.includes('server-port');
  if (sAddress || sPort) {
    const what = sAddress && sPort ? 'address and port' : sAddress ? 'address' : 'port';
    out.push(
      `The server's ${what} ${sAddress && sPort ? 'were' : 'was'} translated between A and B (the client connects to ${endpoint(a.server, a.serverPort)}, the server is ${endpoint(b.server, b.serverPort)} at B): destination NAT or port forwarding.`,
    );
  }
  return out;
}

function endpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Hops from A to B, from the SYN's TTL at both when it is the same packet forwarded (same ISN). */
function hopsBetween(a: Handshake, b: Handshake): number | null {
  if (a.syn === null || b.syn === null || a.syn.seq !== b.syn.seq) return null;
  if (initialTtl(a.syn.ttl) !== initialTtl(b.syn.ttl)) return null;
  return a.syn.ttl - b.syn.ttl;
}

/**
 * Why the SYN/ACK at A did not come from the server, or null: at A it travelled fewer hops than the
 * server's own data at A, or fewer than the server's SYN/ACK at B plus the hops from B to A.
 */
function synAckFromNearerBox(a: Handshake, b: Handshake | null): string | null {
  if (a.synAck === null) return null;
  const nearer = nearerThanData(a.synAck.ttl, a.serverDataTtl);
  if (nearer !== null)
    return `its TTL at A (${a.synAck.ttl}) says it came ${nearer} hop${nearer === 1 ? '' : 's'} nearer than the server's data (${a.serverDataTtl})`;
  if (b === null || b.synAck === null || a.synAck.seq === b.synAck.seq) return null;
  const hops = hopsBetween(a, b);
  if (hops === null || hops <= 0 || initialTtl(a.synAck.ttl) !== initialTtl(b.synAck.ttl)) return null;
  const expected = b.synAck.ttl - hops;
  if (a.synAck.ttl <= expected) return null;
  return `its TTL at A is ${a.synAck.ttl} where the server's would arrive with ${expected}`;
}

/** How many hops nearer a handshake segment's sender is than the sender of later data, or null. */
function nearerThanData(segmentTtl: number, dataTtl: number): number | null {
  if (dataTtl < 0 || initialTtl(segmentTtl) !== initialTtl(dataTtl)) return null;
  const difference = hopsTravelled(dataTtl) - hopsTravelled(segmentTtl);
  return difference > 0 ? difference : null;
}

/** What one capture shows on its own: handshake segments from nearer boxes, segments larger than the
 * MSS, too-big messages and MSS values that cannot fit the path they report. */
function pointEvidence(h: Handshake, point: Point, checkSynAck: boolean): string[] {
  const out: string[] = [];
  const family = h.family;
  if (checkSynAck && h.synAck !== null) {
    const nearer = nearerThanData(h.synAck.ttl, h.serverDataTtl);
    if (nearer !== null) {
      out.push(
        `At ${point} the SYN/ACK arrived with TTL ${h.synAck.ttl} but the server's data with ${h.serverDataTtl}: the SYN/ACK came from a box ${nearer} hop${nearer === 1 ? '' : 's'} nearer than the server (a SYN proxy, or a firewall answering for the server).`,
      );
    }
  }
  if (h.syn !== null) {
    const nearer = nearerThanData(h.syn.ttl, h.clientDataTtl);
    if (nearer !== null) {
      out.push(
        `At ${point} the SYN arrived with TTL ${h.syn.ttl} but the client's data with ${h.clientDataTtl}: the SYN came from a box ${nearer} hop${nearer === 1 ? '' : 's'} nearer than the client (a SYN proxy opening its own connection to the server).`,
      );
    }
  }
  if (h.synAck !== null && h.largestToServer > effectiveMss(family, h.synAck.mss)) {
    const limit = effectiveMss(family, h.synAck.mss);
    out.push(
      point === 'A'
        ? `At A the client sent segments of up to ${h.largestToServer} bytes, more than the server's MSS of ${limit} as the client received it: in the client's own capture that is segmentation offload (TSO/GSO cuts them after the capture point), not a real violation; on a capture between hosts it would be.`
        : `At B segments of up to ${h.largestToServer} bytes reached the server, more than its MSS of ${limit}: in the server's own capture that is receive offload (GRO/LRO merges them before the capture point); on a capture between hosts the client ignored the MSS.`,
    );
  }
  if (h.syn !== null && h.largestToClient > effectiveMss(family, h.syn.mss)) {
    const limit = effectiveMss(family, h.syn.mss);
    out.push(
      point === 'B'
        ? `At B the server sent segments of up to ${h.largestToClient} bytes, more than the client's MSS of ${limit} as the server received it: in the server's own capture that is segmentation offload (TSO/GSO cuts them after the capture point), not a real violation; on a capture between hosts it would be.`
        : `At A segments of up to ${h.largestToClient} bytes reached the client, more than its MSS of ${limit}: in the client's own capture that is receive offload (GRO/LRO merges them before the capture point); on a capture between hosts the server ignored the MSS.`,
    );
  }
  const message = family === 4 ? 'ICMP "fragmentation needed"' : 'ICMPv6 "Packet Too Big"';
  for (const { mtu, toServer } of h.tooBig) {
    const direction = toServer ? 'toward the server' : 'toward the client';
    if (mtu === 0) {
      out.push(
        `At ${point} an ${message} message quotes a segment of this connection ${direction} but gives no MTU (a router from before RFC 1191).`,
      );
      continue;
    }
    out.push(
      `At ${point} an ${message} message quotes a segment of this connection ${direction} and reports MTU ${mtu}: a link on the path carries at most ${mssForMtu(family, mtu)} bytes of TCP payload per segment.`,
    );
    const advertised = toServer ? h.synAck?.mss : h.syn?.mss;
    const whose = toServer ? 'the server' : 'the client';
    if (advertised !== undefined && advertised !== null && mtuForMss(family, advertised) > mtu) {
      out.push(
        `The MSS ${whose} advertised as seen at ${point}, ${advertised}, needs a path MTU of ${mtuForMss(family, advertised)} and cannot fit the ${mtu}-byte link: the sender relies on these messages (path MTU discovery); clamping the MSS to ${mssForMtu(family, mtu)} before that link would avoid them.`,
      );
    }
  }
  return out;
}

/** Offload at the sender's own capture confirmed by the other point staying within the MSS. */
function offloadConfirmed(a: Handshake, b: Handshake): string[] {
  const out: string[] = [];
  const family = a.family;
  if (
    a.synAck !== null &&
    b.synAck !== null &&
    a.largestToServer > effectiveMss(family, a.synAck.mss) &&
    b.largestToServer >= 0 &&
    b.largestToServer <= effectiveMss(family, a.synAck.mss)
  ) {
    out.push(
      `At B no segment toward the server is larger than ${b.largestToServer} bytes: the large ones at A were cut into MSS-sized segments before they left the client's host (segmentation offload).`,
    );
  }
  if (
    a.syn !== null &&
    b.syn !== null &&
    b.largestToClient > effectiveMss(family, b.syn.mss) &&
    a.largestToClient >= 0 &&
    a.largestToClient <= effectiveMss(family, b.syn.mss)
  ) {
    out.push(
      `At A no segment toward the client is larger than ${a.largestToClient} bytes: the large ones at B were cut before they left the server's host (segmentation offload).`,
    );
  }
  return out;
}
