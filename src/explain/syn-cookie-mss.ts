// The MSS values a Linux SYN cookie can carry. A cookie has room for an index into a short table, so
// a SYN answered with a cookie (the kernel under SYN flood, or the SYNPROXY target, which rebuilds the
// server's SYN from the cookie) keeps only the largest table value at or below the client's MSS.
// Tables as in Linux net/ipv4/syncookies.c and net/ipv6/syncookies.c (msstab, since Linux 3.x).

/** net/ipv4/syncookies.c msstab. */
export const SYN_COOKIE_MSS_IPV4: readonly number[] = [536, 1300, 1440, 1460];
/** net/ipv6/syncookies.c msstab: 1280 - 60, 1480 - 60, 1500 - 60, 9000 - 60. */
export const SYN_COOKIE_MSS_IPV6: readonly number[] = [1220, 1420, 1440, 8940];

export function synCookieTable(family: 4 | 6): readonly number[] {
  return family === 4 ? SYN_COOKIE_MSS_IPV4 : SYN_COOKIE_MSS_IPV6;
}

/** What a cookie keeps of `mss`: the largest table value at or below it, else the smallest (the
 * kernel's loop stops at index 0). */
export function synCookieMss(family: 4 | 6, mss: number): number {
  const table = synCookieTable(family);
  for (let i = table.length - 1; i > 0; i--) if (mss >= table[i]!) return table[i]!;
  return table[0]!;
}
