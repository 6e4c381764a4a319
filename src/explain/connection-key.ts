// A connection's key in one capture: both endpoints (address and port), lower endpoint first, so
// both directions of a connection, and a too-big message quoting either, find the same entry.
// Built as a short string of 16-bit units (no hex text): one cheap string per packet, no other
// allocation.
import { readU16 } from '../packet/bytes.js';
import { IPV4_ADDR_LENGTH } from '../packet/ipv4.js';

const IPV6_UNITS = 8;
const units: number[] = new Array<number>(2 * (IPV6_UNITS + 1)).fill(0);

/** Negative when endpoint A sorts before endpoint B, 0 when equal, positive after. */
export function compareEndpoints(
  bytes: Uint8Array,
  aAddr: number,
  aPort: number,
  bAddr: number,
  bPort: number,
  addrLength: number,
): number {
  for (let i = 0; i < addrLength; i++) {
    const d = bytes[aAddr + i]! - bytes[bAddr + i]!;
    if (d !== 0) return d;
  }
  return aPort - bPort;
}

/** The key of the connection between (srcAddr, srcPort) and (dstAddr, dstPort); addrLength 4 or 16;
 * srcFirst = compareEndpoints(...) <= 0, which the caller also needs for the direction. */
export function connectionKey(
  bytes: Uint8Array,
  srcAddr: number,
  srcPort: number,
  dstAddr: number,
  dstPort: number,
  addrLength: number,
  srcFirst: boolean,
): string {
  const loAddr = srcFirst ? srcAddr : dstAddr;
  const loPort = srcFirst ? srcPort : dstPort;
  const hiAddr = srcFirst ? dstAddr : srcAddr;
  const hiPort = srcFirst ? dstPort : srcPort;
  if (addrLength === IPV4_ADDR_LENGTH) {
    return String.fromCharCode(
      readU16(bytes, loAddr),
      readU16(bytes, loAddr + 2),
      loPort,
      readU16(bytes, hiAddr),
      readU16(bytes, hiAddr + 2),
      hiPort,
    );
  }
  for (let i = 0; i < IPV6_UNITS; i++) {
    units[i] = readU16(bytes, loAddr + 2 * i);
    units[IPV6_UNITS + 1 + i] = readU16(bytes, hiAddr + 2 * i);
  }
  units[IPV6_UNITS] = loPort;
  units[2 * IPV6_UNITS + 1] = hiPort;
  return String.fromCharCode.apply(null, units);
}
