/*
 * syngen: a fast TCP SYN (or SYN/ACK) generator for the NFQUEUE tests and the benchmark.
 *
 * Usage (stable; the tests and bench/ depend on it):
 *   syngen --src ADDR --dst ADDR --count N [options]
 *     --src ADDR         source address (IPv4 or IPv6; both addresses of the same family)
 *     --dst ADDR         destination address
 *     --count N          packets to send
 *     --rate PPS         packets per second, paced per batch; 0 = as fast as possible (default 0)
 *     --mss M            MSS option value (default 1460)
 *     --options KIND     TCP options: "mss" (MSS only, default), "linux" (MSS, SACK-permitted,
 *                        timestamps, NOP, window scale: what Linux sends, 20 bytes), "none"
 *     --dport P          destination port (default 80)
 *     --sport-base P     first source port (default 10000)
 *     --sport-range R    source ports used: sport-base .. sport-base+R-1, cycled (default: up to
 *                        50000, within 65535)
 *     --synack           send SYN/ACK instead of SYN
 *     --batch B          packets per sendmmsg (default 64, at most 1024)
 *     --src-count N      source addresses used: --src and the N-1 addresses after it (the last 32
 *                        bits counted up), cycled per packet (default 1). Balancing on the addresses
 *                        (iptables --queue-balance hashes them) needs many.
 * Output: one JSON line on stdout, {"sent":N,"seconds":S,"pps":P}; errors on stderr, exit status 1.
 *
 * Every packet is a complete IPv4 or IPv6 + TCP header with valid checksums, sent on a raw socket
 * with IPPROTO_RAW (the header is ours, IP_HDRINCL semantics) through sendmmsg batches. Source port
 * and sequence number change per packet so every SYN is distinct.
 * Build: scripts/build-tools.sh (gcc -O2 into tools/build/).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Header sizes and field offsets (RFC 791, RFC 8200, RFC 9293). */
enum {
  IP4_HLEN = 20,
  IP6_HLEN = 40,
  TCP_HLEN = 20,
  TCP_SPORT = 0,
  TCP_DPORT = 2,
  TCP_SEQ = 4,
  TCP_ACK = 8,
  TCP_DOFF = 12,
  TCP_FLAGS = 13,
  TCP_WIN = 14,
  TCP_CSUM = 16,
  TCP_MAX_OPTS = 40,
  PKT_MAX = IP6_HLEN + TCP_HLEN + TCP_MAX_OPTS,
  BATCH_MAX = 1024,
};

#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_ACK 0x10

struct config {
  int family;
  struct in6_addr src6, dst6;
  struct in_addr src4, dst4;
  unsigned long long count;
  double rate;
  unsigned mss;
  const char *options;
  unsigned dport, sport_base, sport_range;
  int synack;
  unsigned batch;
  unsigned src_count;
};

static void die(const char *msg) {
  fprintf(stderr, "syngen: %s\n", msg);
  exit(1);
}

static void usage(void) {
  die("usage: syngen --src ADDR --dst ADDR --count N [--rate PPS] [--mss M] [--options mss|linux|none] "
      "[--dport P] [--sport-base P] [--sport-range R] [--synack] [--batch B] [--src-count N]");
}

static unsigned long long number(const char *name, const char *s, unsigned long long max) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || end == s || v > max) {
    fprintf(stderr, "syngen: %s must be a number from 0 to %llu, got %s\n", name, max, s);
    exit(1);
  }
  return v;
}

/* Ones' complement sum of 16-bit big-endian words (RFC 1071). */
static uint32_t sum16(const uint8_t *p, size_t n, uint32_t acc) {
  for (; n > 1; p += 2, n -= 2) acc += (uint32_t)(p[0] << 8 | p[1]);
  if (n) acc += (uint32_t)(p[0] << 8);
  return acc;
}

static uint16_t fold(uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return (uint16_t)~acc;
}

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* Writes the TCP options; returns their length (a multiple of 4). */
static size_t put_options(uint8_t *o, const struct config *c) {
  if (strcmp(c->options, "none") == 0) return 0;
  o[0] = 2; /* MSS, RFC 9293 */
  o[1] = 4;
  put16(o + 2, (uint16_t)c->mss);
  if (strcmp(c->options, "mss") == 0) return 4;
  o[4] = 4; /* SACK permitted, RFC 2018 */
  o[5] = 2;
  o[6] = 8; /* timestamps, RFC 7323 */
  o[7] = 10;
  put32(o + 8, 0x01020304);
  put32(o + 12, 0);
  o[16] = 1; /* NOP */
  o[17] = 3; /* window scale, RFC 7323 */
  o[18] = 3;
  o[19] = 7;
  return 20;
}

/* Builds the template packet; returns its length and sets *tcp_off. */
static size_t build(uint8_t *pkt, const struct config *c, size_t *tcp_off) {
  memset(pkt, 0, PKT_MAX);
  size_t ih = c->family == AF_INET ? IP4_HLEN : IP6_HLEN;
  uint8_t *t = pkt + ih;
  size_t olen = put_options(t + TCP_HLEN, c);
  size_t tlen = TCP_HLEN + olen;
  put16(t + TCP_DPORT, (uint16_t)c->dport);
  if (c->synack) put32(t + TCP_ACK, 0x10000001);
  t[TCP_DOFF] = (uint8_t)((tlen / 4) << 4);
  t[TCP_FLAGS] = (uint8_t)(TCP_FLAG_SYN | (c->synack ? TCP_FLAG_ACK : 0));
  put16(t + TCP_WIN, 64240);
  if (c->family == AF_INET) {
    pkt[0] = 0x45;
    put16(pkt + 2, (uint16_t)(ih + tlen));
    pkt[6] = 0x40; /* DF */
    pkt[8] = 64;
    pkt[9] = IPPROTO_TCP;
    memcpy(pkt + 12, &c->src4, 4);
    memcpy(pkt + 16, &c->dst4, 4);
    put16(pkt + 10, fold(sum16(pkt, IP4_HLEN, 0)));
  } else {
    pkt[0] = 0x60;
    put16(pkt + 4, (uint16_t)tlen);
    pkt[6] = IPPROTO_TCP;
    pkt[7] = 64;
    memcpy(pkt + 8, &c->src6, 16);
    memcpy(pkt + 24, &c->dst6, 16);
  }
  *tcp_off = ih;
  return ih + tlen;
}

/* Pseudo-header sum (RFC 9293 section 3.1, RFC 8200 section 8.1) for a TCP segment of tlen bytes,
 * leaving out the source address's last 32 bits (the sender adds them per packet). */
static uint32_t pseudo_sum_without_source_low(const struct config *c, size_t tlen) {
  uint32_t acc = 0;
  if (c->family == AF_INET) {
    acc = sum16((const uint8_t *)&c->dst4, 4, acc);
  } else {
    acc = sum16((const uint8_t *)&c->src6, 12, acc);
    acc = sum16((const uint8_t *)&c->dst6, 16, acc);
  }
  return acc + IPPROTO_TCP + (uint32_t)tlen;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void parse(int argc, char **argv, struct config *c) {
  const char *src = NULL, *dst = NULL;
  int have_count = 0;
  memset(c, 0, sizeof *c);
  c->mss = 1460;
  c->options = "mss";
  c->dport = 80;
  c->sport_base = 10000;
  c->sport_range = 0;
  c->batch = 64;
  c->src_count = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--synack") == 0) { c->synack = 1; continue; }
    if (!v) usage();
    if (strcmp(a, "--src") == 0) src = v;
    else if (strcmp(a, "--dst") == 0) dst = v;
    else if (strcmp(a, "--count") == 0) { c->count = number(a, v, 1ULL << 48); have_count = 1; }
    else if (strcmp(a, "--rate") == 0) c->rate = (double)number(a, v, 100000000);
    else if (strcmp(a, "--mss") == 0) c->mss = (unsigned)number(a, v, 65535);
    else if (strcmp(a, "--options") == 0) c->options = v;
    else if (strcmp(a, "--dport") == 0) c->dport = (unsigned)number(a, v, 65535);
    else if (strcmp(a, "--sport-base") == 0) c->sport_base = (unsigned)number(a, v, 65535);
    else if (strcmp(a, "--sport-range") == 0) {
      c->sport_range = (unsigned)number(a, v, 65536);
      if (c->sport_range == 0) die("--sport-range must be at least 1");
    }
    else if (strcmp(a, "--batch") == 0) c->batch = (unsigned)number(a, v, BATCH_MAX);
    else if (strcmp(a, "--src-count") == 0) {
      c->src_count = (unsigned)number(a, v, 65536);
      if (c->src_count == 0) die("--src-count must be at least 1");
    }
    else usage();
    i++;
  }
  if (!src || !dst || !have_count) usage();
  if (strcmp(c->options, "mss") && strcmp(c->options, "linux") && strcmp(c->options, "none"))
    die("--options must be mss, linux or none");
  if (c->batch == 0) die("--batch must be at least 1");
  if (c->sport_range == 0) c->sport_range = 65536 - c->sport_base < 50000 ? 65536 - c->sport_base : 50000;
  if (c->sport_base + c->sport_range > 65536) die("--sport-base + --sport-range must stay within 65536");
  if (inet_pton(AF_INET, src, &c->src4) == 1 && inet_pton(AF_INET, dst, &c->dst4) == 1) c->family = AF_INET;
  else if (inet_pton(AF_INET6, src, &c->src6) == 1 && inet_pton(AF_INET6, dst, &c->dst6) == 1) c->family = AF_INET6;
  else die("--src and --dst must be two IPv4 or two IPv6 addresses");
}

int main(int argc, char **argv) {
  struct config c;
  parse(argc, argv, &c);

  int fd = socket(c.family, SOCK_RAW, IPPROTO_RAW);
  if (fd < 0) {
    fprintf(stderr, "syngen: raw socket: %s (needs CAP_NET_RAW)\n", strerror(errno));
    return 1;
  }
  int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf);

  static uint8_t pkts[BATCH_MAX][PKT_MAX];
  static struct mmsghdr msgs[BATCH_MAX];
  static struct iovec iov[BATCH_MAX];
  struct sockaddr_in to4;
  struct sockaddr_in6 to6;
  memset(&to4, 0, sizeof to4);
  memset(&to6, 0, sizeof to6);
  to4.sin_family = AF_INET;
  to4.sin_addr = c.dst4;
  to6.sin6_family = AF_INET6;
  to6.sin6_addr = c.dst6;

  size_t tcp_off = 0;
  size_t len = build(pkts[0], &c, &tcp_off);
  size_t tlen = len - tcp_off;
  /* Everything but the source port and sequence number (and the source address's last 32 bits,
   * added per packet) is fixed: sum it once, with those bits zero. */
  uint8_t *t0 = pkts[0] + tcp_off;
  size_t src_low = c.family == AF_INET ? 12 : 8 + 12; /* the source address's last 32 bits */
  uint32_t src_base = (uint32_t)pkts[0][src_low] << 24 | (uint32_t)pkts[0][src_low + 1] << 16 |
                      (uint32_t)pkts[0][src_low + 2] << 8 | pkts[0][src_low + 3];
  put32(pkts[0] + src_low, 0);
  uint32_t fixed = pseudo_sum_without_source_low(&c, tlen) + sum16(t0, tlen, 0);
  uint32_t ip4_fixed = 0;
  if (c.family == AF_INET) {
    put16(pkts[0] + 10, 0);
    ip4_fixed = sum16(pkts[0], IP4_HLEN, 0);
  }
  for (unsigned i = 0; i < c.batch; i++) {
    if (i) memcpy(pkts[i], pkts[0], len);
    iov[i].iov_base = pkts[i];
    iov[i].iov_len = len;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    if (c.family == AF_INET) {
      msgs[i].msg_hdr.msg_name = &to4;
      msgs[i].msg_hdr.msg_namelen = sizeof to4;
    } else {
      msgs[i].msg_hdr.msg_name = &to6;
      msgs[i].msg_hdr.msg_namelen = sizeof to6;
    }
  }

  double start = now();
  unsigned long long sent = 0;
  while (sent < c.count) {
    unsigned n = c.batch;
    if (c.count - sent < n) n = (unsigned)(c.count - sent);
    for (unsigned i = 0; i < n; i++) {
      unsigned long long k = sent + i;
      uint8_t *t = pkts[i] + tcp_off;
      uint16_t sport = (uint16_t)(c.sport_base + k % c.sport_range);
      uint32_t seq = (uint32_t)(k * 2654435761u);
      uint32_t src = src_base + (uint32_t)(k % c.src_count);
      uint32_t src_sum = (src >> 16) + (src & 0xffff);
      put32(pkts[i] + src_low, src);
      if (c.family == AF_INET) put16(pkts[i] + 10, fold(ip4_fixed + src_sum));
      put16(t + TCP_SPORT, sport);
      put32(t + TCP_SEQ, seq);
      put16(t + TCP_CSUM, fold(fixed + src_sum + sport + (seq >> 16) + (seq & 0xffff)));
    }
    if (c.rate > 0) {
      double due = start + (double)sent / c.rate;
      double wait = due - now();
      if (wait > 0) {
        struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
        nanosleep(&ts, NULL);
      }
    }
    unsigned done = 0;
    while (done < n) {
      int r = sendmmsg(fd, msgs + done, n - done, 0);
      if (r < 0) {
        if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN) continue;
        fprintf(stderr, "syngen: sendmmsg: %s\n", strerror(errno));
        return 1;
      }
      done += (unsigned)r;
    }
    sent += n;
  }
  double seconds = now() - start;
  printf("{\"sent\":%llu,\"seconds\":%.6f,\"pps\":%.0f}\n", sent, seconds, seconds > 0 ? (double)sent / seconds : 0.0);
  close(fd);
  return 0;
}
