// What the router does to a forwarded segment besides the MSS target, so that the test can predict its
// output from its input. Order as in the kernel: ip_forward()/ip6_forward() lower the TTL / hop limit
// BEFORE the FORWARD hook, so the TCPMSS target (and a daemon on an NFQUEUE in FORWARD) sees the lowered
// TTL; IPv4 options (Record Route) are filled in after the hook, in ip_forward_finish().

/** ip_decrease_ttl (include/net/ip.h): the header checksum is adjusted in host (little-endian on x86)
 * order with its own end-around carry, so we mirror that arithmetic rather than RFC 1624. */
export function decreaseTtl(bytes: Uint8Array): void {
  let check = bytes[10]! | (bytes[11]! << 8);
  check += 0x0001; // htons(0x0100) read as a little-endian u16
  check = (check + (check >= 0xffff ? 1 : 0)) & 0xffff;
  bytes[10] = check & 0xff;
  bytes[11] = check >>> 8;
  bytes[8] = bytes[8]! - 1;
}

export function decreaseHopLimit(bytes: Uint8Array): void {
  bytes[7] = bytes[7]! - 1;
}

const IPOPT_END = 0;
const IPOPT_NOOP = 1;
const IPOPT_RR = 7;
const RR_POINTER = 2;
const RR_MIN_POINTER = 4;

/**
 * ip_options_compile() on receive and ip_forward_options() after the hook: a Record Route option with
 * a free slot gets the router's outgoing address and its pointer moves on by 4; then ip_send_check()
 * recomputes the header checksum in full. Returns whether anything changed.
 */
export function fillRecordRoute(bytes: Uint8Array, outgoingAddress: readonly number[]): boolean {
  const headerLength = (bytes[0]! & 0x0f) * 4;
  let changed = false;
  for (let i = 20; i < headerLength;) {
    const kind = bytes[i]!;
    if (kind === IPOPT_END) break;
    if (kind === IPOPT_NOOP) {
      i++;
      continue;
    }
    const length = bytes[i + 1]!;
    if (length < 2) break;
    const pointer = bytes[i + RR_POINTER]!;
    if (kind === IPOPT_RR && pointer >= RR_MIN_POINTER && pointer + 3 <= length) {
      outgoingAddress.forEach((b, k) => (bytes[i + pointer - 1 + k] = b));
      bytes[i + RR_POINTER] = pointer + 4;
      changed = true;
    }
    i += length;
  }
  if (changed) {
    bytes[10] = 0;
    bytes[11] = 0;
    let sum = 0;
    for (let k = 0; k < headerLength; k += 2) sum += (bytes[k]! << 8) | bytes[k + 1]!;
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    const check = ~sum & 0xffff;
    bytes[10] = check >>> 8;
    bytes[11] = check & 0xff;
  }
  return changed;
}
