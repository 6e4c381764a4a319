// Which packets the firewall must hand to the queue: the union of what each rule selects, so nothing a
// rule needs is left out (correctness first) and, where rules restrict, nothing more is queued. Every
// backend (iptables, nft) renders the same plan.
//
// Chains: mangle FORWARD and OUTPUT. They see exactly the packets xt_TCPMSS allows clamp-to-pmtu for
// (FORWARD, OUTPUT, POSTROUTING all have an output route; POSTROUTING adds nothing the other two miss),
// and unlike POSTROUTING, FORWARD can match the input interface too.
import type { Config, DirectionChoice, FamilyChoice, Mark, PortRange, Prefix, Rule } from '../config/config.js';

export type Chain = 'FORWARD' | 'OUTPUT';
export const CHAINS: readonly Chain[] = ['FORWARD', 'OUTPUT'];

/** The tag every firewall rule we install carries, so removal deletes ours and nothing else. */
export const FIREWALL_TAG = 'mssmangler';

/** iptables' multiport match takes at most 15 ports, a range counting as two (xt_multiport.h). */
export const MULTIPORT_MAX = 15;
/** Above this many source x destination prefix pairs for one rule, queue by family instead. */
export const PREFIX_PAIRS_MAX = 32;

export interface FirewallRule {
  readonly family: 4 | 6;
  readonly chain: Chain;
  readonly direction: DirectionChoice;
  readonly inInterface: string | null;
  readonly outInterface: string | null;
  readonly source: Prefix | null;
  readonly destination: Prefix | null;
  /** Empty: any. */
  readonly sourcePorts: readonly PortRange[];
  readonly destinationPorts: readonly PortRange[];
  readonly mark: Mark | null;
  /** The first queue; with queueLast above it, the rule balances flows over queue..queueLast. */
  readonly queue: number;
  readonly queueLast: number;
  /** Spread by CPU instead of by address hash (only with a range). */
  readonly cpuFanout: boolean;
}

export interface PlanOptions {
  /** Restrict the output to one family. */
  readonly family: FamilyChoice;
  /** Overrides config.queue. */
  readonly queue?: number | undefined;
}

export function planFirewall(config: Config, options: PlanOptions): FirewallRule[] {
  const queues = options.queue === undefined ? config.queues : { first: options.queue, last: options.queue };
  const target: QueueTarget = {
    queue: queues.first,
    queueLast: queues.last,
    cpuFanout: queues.first !== queues.last && config.queueCpuFanout,
  };
  const out: FirewallRule[] = [];
  for (const rule of config.rules) out.push(...rulesFor(rule, target, options.family));
  return simplify(out);
}

function familiesOf(rule: Rule, wanted: FamilyChoice): (4 | 6)[] {
  const fams: (4 | 6)[] = [];
  for (const f of [4, 6] as const) {
    if (rule.match.family !== 'both' && rule.match.family !== f) continue;
    if (wanted !== 'both' && wanted !== f) continue;
    fams.push(f);
  }
  return fams;
}

function portCount(ports: readonly PortRange[]): number {
  return ports.reduce((n, p) => n + (p.from === p.to ? 1 : 2), 0);
}

type QueueTarget = Pick<FirewallRule, 'queue' | 'queueLast' | 'cpuFanout'>;

function rulesFor(rule: Rule, target: QueueTarget, wanted: FamilyChoice): FirewallRule[] {
  const m = rule.match;
  const out: FirewallRule[] = [];
  // Too many ports for one multiport match: queue every port rather than split (never queue less).
  const sourcePorts = portCount(m.sourcePort) <= MULTIPORT_MAX ? m.sourcePort : [];
  const destinationPorts = portCount(m.destinationPort) <= MULTIPORT_MAX ? m.destinationPort : [];
  for (const family of familiesOf(rule, wanted)) {
    const sources = m.source.filter((p) => p.family === family);
    const destinations = m.destination.filter((p) => p.family === family);
    // A rule restricted to prefixes of the other family only never matches this family.
    if (m.source.length > 0 && sources.length === 0) continue;
    if (m.destination.length > 0 && destinations.length === 0) continue;
    let pairs: [Prefix | null, Prefix | null][] = [];
    for (const s of sources.length > 0 ? sources : [null]) {
      for (const d of destinations.length > 0 ? destinations : [null]) pairs.push([s, d]);
    }
    if (pairs.length > PREFIX_PAIRS_MAX) pairs = [[null, null]];
    for (const chain of CHAINS) {
      // OUTPUT packets are locally generated: no input interface, so a rule that needs one never matches there.
      if (chain === 'OUTPUT' && m.inInterface !== null) continue;
      for (const [source, destination] of pairs) {
        out.push({
          family,
          chain,
          direction: m.direction,
          inInterface: m.inInterface,
          outInterface: m.outInterface,
          source,
          destination,
          sourcePorts,
          destinationPorts,
          mark: m.mark,
          ...target,
        });
      }
    }
  }
  return out;
}

function restricted(r: FirewallRule): boolean {
  return (
    r.inInterface !== null ||
    r.outInterface !== null ||
    r.source !== null ||
    r.destination !== null ||
    r.sourcePorts.length > 0 ||
    r.destinationPorts.length > 0 ||
    r.mark !== null
  );
}

/** Drops exact duplicates, and everything an unrestricted rule for the same family, chain and
 * direction already covers (direction both covers syn and synack). Order is kept. */
function simplify(rules: FirewallRule[]): FirewallRule[] {
  const covers = (a: FirewallRule, b: FirewallRule): boolean =>
    a.family === b.family &&
    a.chain === b.chain &&
    a.queue === b.queue &&
    a.queueLast === b.queueLast &&
    (a.direction === 'both' || a.direction === b.direction) &&
    !restricted(a);
  const seen = new Set<string>();
  const out: FirewallRule[] = [];
  rules.forEach((r, i) => {
    const key = JSON.stringify(r);
    if (seen.has(key)) return;
    if (rules.some((other, j) => j !== i && covers(other, r) && (!covers(r, other) || j < i))) return;
    seen.add(key);
    out.push(r);
  });
  return out;
}
