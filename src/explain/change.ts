// The fixed vocabulary of what differs between the two capture points (issue 10's JSON contract:
// scripts rely on these names; add, never rename).
import type { Handshake } from './handshake.js';

export const CHANGES = [
  'syn-mss',
  'synack-mss',
  'syn-options',
  'synack-options',
  'syn-seq',
  'synack-seq',
  'client-address',
  'client-port',
  'server-address',
  'server-port',
] as const;

export type Change = (typeof CHANGES)[number];

/** What differs between A's and B's view of one connection, in vocabulary order. A segment missing at
 * either point is no change: there is nothing to compare. */
export function changesBetween(a: Handshake, b: Handshake): Change[] {
  const changed = new Set<Change>();
  if (a.syn !== null && b.syn !== null) {
    if (a.syn.mss !== b.syn.mss) changed.add('syn-mss');
    if (a.syn.options !== b.syn.options) changed.add('syn-options');
    if (a.syn.seq !== b.syn.seq) changed.add('syn-seq');
  }
  if (a.synAck !== null && b.synAck !== null) {
    if (a.synAck.mss !== b.synAck.mss) changed.add('synack-mss');
    if (a.synAck.options !== b.synAck.options) changed.add('synack-options');
    if (a.synAck.seq !== b.synAck.seq) changed.add('synack-seq');
  }
  if (a.client !== b.client) changed.add('client-address');
  if (a.clientPort !== b.clientPort) changed.add('client-port');
  if (a.server !== b.server) changed.add('server-address');
  if (a.serverPort !== b.serverPort) changed.add('server-port');
  return CHANGES.filter((c) => changed.has(c));
}
