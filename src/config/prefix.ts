// Address prefixes as the config writes them ("198.51.100.0/24", "fd00::/8", a bare address for one
// host), parsed into network bytes that the matcher compares in place against the packet.
import { isIPv4, isIPv6 } from 'node:net';
import type { Prefix } from './config.js';

const IPV4_BYTES = 4;
const IPV6_BYTES = 16;
const IPV6_GROUPS = 8;

/** A Prefix, or a message that says what is wrong and how to write it. */
export function parsePrefix(text: string): Prefix | string {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const lengthText = slash < 0 ? null : text.slice(slash + 1);
  let family: 4 | 6;
  let bytes: number[];
  if (isIPv4(address)) {
    family = 4;
    bytes = address.split('.').map(Number);
  } else if (isIPv6(address)) {
    family = 6;
    bytes = ipv6Bytes(address);
  } else {
    return `"${text}" is not an IPv4 or IPv6 address or prefix; write e.g. "198.51.100.0/24" or "fd00::/8"`;
  }
  const maxLength = bytes.length * 8;
  let length = maxLength;
  if (lengthText !== null) {
    if (!/^[0-9]{1,3}$/.test(lengthText) || Number(lengthText) > maxLength) {
      return `"${text}" has prefix length "${lengthText}"; use 0..${maxLength} for IPv${family}`;
    }
    length = Number(lengthText);
  }
  const network = maskBytes(bytes, length);
  if (network.some((b, i) => b !== bytes[i])) {
    const fixed = `${formatAddress(family, network)}/${length}`;
    return `"${text}" has host bits set beyond /${length}; write "${fixed}" (or /${maxLength} for one host)`;
  }
  return { family, text: `${formatAddress(family, network)}/${length}`, bytes: network, length };
}

function maskBytes(bytes: readonly number[], length: number): number[] {
  return bytes.map((b, i) => {
    const bits = Math.max(0, Math.min(8, length - i * 8));
    return b & ((0xff00 >> bits) & 0xff);
  });
}

/** Only called on text node:net accepted as IPv6, so the shape is known to be valid. */
function ipv6Bytes(text: string): number[] {
  let head = text;
  let tail = '';
  const gap = text.indexOf('::');
  if (gap >= 0) {
    head = text.slice(0, gap);
    tail = text.slice(gap + 2);
  }
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const v4 = piece.split('.').map(Number);
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const first = groups(head);
  const last = groups(tail);
  const all = gap >= 0 ? [...first, ...new Array<number>(IPV6_GROUPS - first.length - last.length).fill(0), ...last] : first;
  const bytes: number[] = [];
  for (const g of all) bytes.push(g >> 8, g & 0xff);
  return bytes;
}

/** RFC 5952 text for IPv6 (longest run of two or more zero groups compressed), dotted quad for IPv4. */
export function formatAddress(family: 4 | 6, bytes: readonly number[]): string {
  if (family === 4) return bytes.slice(0, IPV4_BYTES).join('.');
  const groups: number[] = [];
  for (let i = 0; i < IPV6_BYTES; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < IPV6_GROUPS;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < IPV6_GROUPS && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}
