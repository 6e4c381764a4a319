// The syntax of single fields, shared by the config parser, the command line and the firewall layer:
// each function returns the parsed value or a message that says what is wrong and how to write it.
import type { Mark, MetricsConfig, PortRange } from './config.js';
import { describe } from './checker.js';

export const RULE_NAME_PATTERN = /^[a-z0-9_-]{1,64}$/;
/** IFNAMSIZ is 16 with the NUL; the characters are those `ip link` names use in practice. */
export const INTERFACE_NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,15}$/;

/** Linux also refuses "." and ".." (dev_valid_name in net/core/dev.c); they would escape /sys/class/net.
 * A leading "-" would read as an option to iptables. */
export function isInterfaceName(name: string): boolean {
  return INTERFACE_NAME_PATTERN.test(name) && name !== '.' && name !== '..' && !name.startsWith('-');
}

const U32_MAX = 0xffffffff;

/** HOST:PORT (IPv6 in brackets) or a message. */
export function parseListen(text: string): MetricsConfig | string {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(text);
  if (m === null) return `"${text}" is not HOST:PORT`;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return `port ${port} in "${text}" is out of range 1..65535`;
  return { host: m[1] ?? m[2]!, port };
}

export function parsePortRange(item: unknown): PortRange | string {
  const fix = 'use a port 0..65535 or a range "FROM-TO" (e.g. 443 or "1000-2000")';
  if (typeof item === 'number') {
    if (Number.isInteger(item) && item >= 0 && item <= 65535) return { from: item, to: item };
    return `${item} is not a port; ${fix}`;
  }
  if (typeof item !== 'string') return `${describe(item)} is not a port; ${fix}`;
  const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(item.trim());
  if (m === null) return `"${item}" is not a port or range; ${fix}`;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (from > 65535 || to > 65535) return `"${item}" is beyond 65535; ${fix}`;
  if (from > to) return `"${item}" runs backwards; write "${to}-${from}"`;
  return { from, to };
}

/** "VALUE" or "VALUE/MASK", decimal or 0x hex, each 0..0xffffffff (iptables -m mark --mark syntax). */
export function parseMark(value: unknown): Mark | string {
  const fix = 'write VALUE or VALUE/MASK, decimal or 0x hex, e.g. "0x10/0xff"';
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0 && value <= U32_MAX) return { value, mask: U32_MAX };
    return `${value} is not a 32-bit mark; ${fix}`;
  }
  if (typeof value !== 'string') return `${describe(value)} is not a mark; ${fix}`;
  const m = /^(0x[0-9a-fA-F]{1,8}|[0-9]{1,10})(?:\/(0x[0-9a-fA-F]{1,8}|[0-9]{1,10}))?$/.exec(value.trim());
  if (m === null) return `"${value}" is not a mark; ${fix}`;
  const v = Number(m[1]);
  const mask = m[2] === undefined ? U32_MAX : Number(m[2]);
  if (v > U32_MAX || mask > U32_MAX) return `"${value}" does not fit 32 bits; ${fix}`;
  if ((v & ~mask) >>> 0 !== 0) return `"${value}" sets bits outside its mask, so it can never match; clear them or widen the mask`;
  return { value: v, mask };
}

/** A duration as seconds (5, 0.5) or with a unit ("5s", "500ms", "1m"); milliseconds, or a message. */
export function parseDuration(value: unknown, minMs: number, maxMs: number): number | string {
  const fix = `write seconds (e.g. 5 or 0.5) or "5s", "500ms", "1m", from ${minMs} ms to ${maxMs / 1000} s`;
  let ms: number;
  if (typeof value === 'number' && Number.isFinite(value)) ms = value * 1000;
  else if (typeof value === 'string') {
    const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m)$/.exec(value.trim());
    if (m === null) return `"${value}" is not a duration; ${fix}`;
    ms = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
  } else return `${describe(value)} is not a duration; ${fix}`;
  if (ms < minMs || ms > maxMs) return `${typeof value === 'string' ? `"${value}"` : value} is out of range; ${fix}`;
  return Math.round(ms);
}
