// MSS values that point at a kind of box, and the arithmetic between MSS and MTU. MSS = MTU minus the
// fixed IP and TCP headers (RFC 6691 2): 40 bytes for IPv4, 60 for IPv6.

export function fixedHeaders(family: 4 | 6): number {
  return family === 4 ? 40 : 60;
}

/** The smallest path MTU that carries segments of `mss` bytes. */
export function mtuForMss(family: 4 | 6, mss: number): number {
  return mss + fixedHeaders(family);
}

/** The largest MSS a path MTU carries. */
export function mssForMtu(family: 4 | 6, mtu: number): number {
  return mtu - fixedHeaders(family);
}

/** What a peer assumes when the SYN has no MSS option (RFC 9293 3.7.1; RFC 8200 5 via RFC 6691). */
export function defaultMss(family: 4 | 6): number {
  return family === 4 ? 536 : 1220;
}

/** The MSS that bounds segments when `mss` was advertised (or none). */
export function effectiveMss(family: 4 | 6, mss: number | null): number {
  return mss === null || mss === 0 ? defaultMss(family) : mss;
}

/** A phrase naming what usually sets this MSS, or null for values with no usual meaning. */
export function knownMssOrigin(family: 4 | 6, mss: number): string | null {
  if (mss === 1380) return "1380 is the value IPsec gateways typically clamp to (Cisco's default)";
  if (family === 4 && mss === 1452) return '1452 is the MSS of a PPPoE link (MTU 1492)';
  if (family === 6 && mss === 1432) return '1432 is the IPv6 MSS of a PPPoE link (MTU 1492)';
  if (family === 4 && mss === 1240) return '1240 is an IPv4 path through a 1280-byte link (1280 - 40)';
  if (family === 6 && mss === 1220) return "1220 is an IPv6 path through a 1280-byte link, IPv6's minimum MTU (1280 - 60)";
  return null;
}

/** The initial TTL a stack most likely used (the next of 32, 64, 128, 255 at or above what arrived). */
export function initialTtl(ttl: number): number {
  for (const start of [32, 64, 128, 255]) if (ttl <= start) return start;
  return 255;
}

/** Hops since the sender, assuming initialTtl. */
export function hopsTravelled(ttl: number): number {
  return initialTtl(ttl) - ttl;
}
