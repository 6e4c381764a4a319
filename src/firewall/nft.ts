// The plan as an `nft -f` script: one table of our own (inet mssmangler), so removal is deleting the
// table and nothing else is touched. Needs a kernel with the nft queue expression (nft_queue); where it
// is missing, use the iptables backend (xt NFQUEUE through nft_compat).
import { ErrorCode, MssmanglerError } from '../errors.js';
import { LOOPBACK, firewallError } from './iptables.js';
import type { PortRange } from '../config/config.js';
import { FIREWALL_TAG, type Chain, type FirewallRule } from './plan.js';
import type { CommandRunner } from './runner.js';

export const NFT_TABLE = 'mssmangler';
export const NFT_FAMILY = 'inet';

const CHAIN_NAME: Record<Chain, string> = { FORWARD: 'forward', OUTPUT: 'output' };
const HOOK: Record<Chain, string> = { FORWARD: 'forward', OUTPUT: 'output' };

/** Same selection as the iptables backend (see iptables.ts TCP_FLAGS). */
const TCP_FLAGS: Record<FirewallRule['direction'], string> = {
  syn: 'tcp flags & (fin | syn | rst | ack) == syn',
  synack: 'tcp flags & (fin | syn | rst | ack) == syn | ack',
  both: 'tcp flags & (fin | syn | rst) == syn',
};

function ports(list: readonly PortRange[]): string {
  const items = list.map((p) => (p.from === p.to ? String(p.from) : `${p.from}-${p.to}`));
  return items.length === 1 ? items[0]! : `{ ${items.join(', ')} }`;
}

export function nftRule(r: FirewallRule): string {
  const ip = r.family === 4 ? 'ip' : 'ip6';
  const parts = [`meta nfproto ${r.family === 4 ? 'ipv4' : 'ipv6'}`];
  if (r.source !== null) parts.push(`${ip} saddr ${r.source.text}`);
  if (r.destination !== null) parts.push(`${ip} daddr ${r.destination.text}`);
  // By name, like iptables -i/-o: the rule keeps working when the interface is recreated.
  if (r.inInterface !== null) parts.push(`iifname "${r.inInterface}"`);
  if (r.outInterface !== null) parts.push(`oifname "${r.outInterface}"`);
  else if (r.chain === 'OUTPUT') parts.push(`oifname != "${LOOPBACK}"`);
  parts.push(TCP_FLAGS[r.direction]);
  if (r.sourcePorts.length > 0) parts.push(`tcp sport ${ports(r.sourcePorts)}`);
  if (r.destinationPorts.length > 0) parts.push(`tcp dport ${ports(r.destinationPorts)}`);
  if (r.mark !== null) parts.push(`meta mark & 0x${r.mark.mask.toString(16)} == 0x${r.mark.value.toString(16)}`);
  // bypass: with no daemon bound to the queue, the kernel accepts instead of dropping.
  // A range: nft spreads flows by a hash of the packet (or by CPU with fanout).
  const num = r.queueLast === r.queue ? String(r.queue) : `${r.queue}-${r.queueLast}`;
  parts.push(`queue num ${num} ${r.cpuFanout ? 'bypass,fanout' : 'bypass'}`, `comment "${FIREWALL_TAG}"`);
  return parts.join(' ');
}

/** A complete, atomic script: creating then deleting the table first makes a re-apply replace it. */
export function nftScript(plan: readonly FirewallRule[]): string {
  const lines = [
    '#!/usr/sbin/nft -f',
    '# mssmangler: queue the TCP SYN and SYN/ACK segments the rules need',
    `table ${NFT_FAMILY} ${NFT_TABLE}`,
    `delete table ${NFT_FAMILY} ${NFT_TABLE}`,
    `table ${NFT_FAMILY} ${NFT_TABLE} {`,
  ];
  for (const chain of ['FORWARD', 'OUTPUT'] as const) {
    const rules = plan.filter((r) => r.chain === chain);
    if (rules.length === 0) continue;
    lines.push(`\tchain ${CHAIN_NAME[chain]} {`);
    lines.push(`\t\ttype filter hook ${HOOK[chain]} priority mangle; policy accept;`);
    for (const r of rules) lines.push(`\t\t${nftRule(r)}`);
    lines.push('\t}');
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

export function nftRemoveScript(): string {
  return `table ${NFT_FAMILY} ${NFT_TABLE}\ndelete table ${NFT_FAMILY} ${NFT_TABLE}\n`;
}

async function runScript(runner: CommandRunner, script: string): Promise<void> {
  const result = await runner('nft', ['-f', '-'], script);
  if (result.code !== 0) throw firewallError('nft', ['-f', '-'], result);
}

export async function applyNft(plan: readonly FirewallRule[], runner: CommandRunner): Promise<void> {
  const result = await runner('nft', ['-f', '-'], nftScript(plan));
  if (result.code === 0) return;
  // ENOENT on a queue rule is the kernel lacking the nft queue expression (nft_queue), not a typo of ours.
  if (/Could not process rule: No such file or directory[\s\S]*queue num/.test(result.stderr)) {
    throw new MssmanglerError(
      ErrorCode.Firewall,
      'nft: this kernel has no nft queue expression (module nft_queue); use --backend iptables (xt NFQUEUE)',
    );
  }
  throw firewallError('nft', ['-f', '-'], result);
}

/** Removing an absent table is not an error: the script creates it first. */
export async function removeNft(runner: CommandRunner): Promise<void> {
  await runScript(runner, nftRemoveScript());
}
