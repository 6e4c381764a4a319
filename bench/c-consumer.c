// The benchmark's userspace ceiling: a minimal NFQUEUE consumer in plain C on raw netlink, with only the
// kernel's uapi headers, doing the same MSS rewrite as mssmangler (lower every MSS option above the
// target, never raise one: xt_TCPMSS.c) with batched verdicts: recvmmsg drains up to --batch packets per
// wake-up, and every verdict of the batch leaves in one sendmsg. It is deliberately a good consumer, not
// a straw man: no library, no allocation, no syscall per packet, incremental checksum updates.
//
// It checks what it needs to write safely (IP and TCP lengths, fragments) and no more: IPv6 extension
// headers are not walked (a SYN behind one is accepted unchanged), which the benchmark's traffic never has.
//
// Usage: c-consumer [--queue N] [--threads T] [--mss M] [--maxlen N] [--fail-open 0|1] [--batch N]
//                   [--rcvbuf BYTES]
// --threads T reads queues N..N+T-1, one thread and one socket each (what Suricata does behind
// iptables --queue-balance); the threads share nothing. Prints "threads TID..." and then "ready" on
// stderr once the kernel acknowledged every bind, and a JSON line of counters (summed) on stdout when
// SIGTERM or SIGINT ends it.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

// Copy range and the largest netlink message one packet can make: payload plus the attributes around it.
#define COPY_RANGE 0xffff
#define SLOT_BYTES (COPY_RANGE + 4096)
#define MAX_BATCH 1024
// A verdict message: nlmsghdr + nfgenmsg + verdict header attribute + payload attribute header.
#define VERDICT_OVERHEAD (NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg)) + \
                          NLA_HDRLEN + NLA_ALIGN(sizeof(struct nfqnl_msg_verdict_hdr)) + NLA_HDRLEN)

// IPv4 (RFC 791), IPv6 (RFC 8200) and TCP (RFC 9293) fields the rewrite reads.
enum { IP4_VER_IHL = 0, IP4_TOTAL_LENGTH = 2, IP4_FRAG = 6, IP4_PROTOCOL = 9, IP4_MIN_HEADER = 20 };
enum { IP6_PAYLOAD_LENGTH = 4, IP6_NEXT_HEADER = 6, IP6_HEADER = 40 };
enum { TCP_DATA_OFFSET = 12, TCP_FLAGS = 13, TCP_CHECKSUM = 16, TCP_MIN_HEADER = 20 };
enum { TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04 };
enum { OPT_EOL = 0, OPT_NOP = 1, OPT_MSS = 2, OPT_MSS_LENGTH = 4 };
#define IP4_FRAG_MASK 0x3fff  // MF and fragment offset

#define MAX_THREADS 64

static volatile sig_atomic_t stopping = 0;
static void on_signal(int sig) { (void)sig; stopping = 1; }

struct stats {
  uint64_t packets, modified, batches, verdict_sends, recv_errors, send_errors, netlink_errors;
};

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). The checksum sums 16-bit words aligned to the TCP header, so
// a value at an odd offset contributes its bytes swapped; swapping both operands keeps the formula exact.
static void checksum_replace16(uint8_t *tcp, uint32_t at, uint16_t old_value, uint16_t new_value) {
  if (at & 1) {
    old_value = (uint16_t)(old_value << 8 | old_value >> 8);
    new_value = (uint16_t)(new_value << 8 | new_value >> 8);
  }
  uint32_t sum = (uint16_t)~rd16(tcp + TCP_CHECKSUM);
  sum += (uint16_t)~old_value;
  sum += new_value;
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  wr16(tcp + TCP_CHECKSUM, (uint16_t)~sum);
}

// Lowers every MSS option above `mss` in the SYN or SYN/ACK at pkt[0, len). Returns 1 if it wrote.
static int rewrite_mss(uint8_t *pkt, uint32_t len, uint16_t mss) {
  uint32_t l4, ip_end;
  if (len < 1) return 0;
  uint8_t version = pkt[0] >> 4;
  if (version == 4) {
    if (len < IP4_MIN_HEADER) return 0;
    uint32_t ihl = (uint32_t)(pkt[IP4_VER_IHL] & 0x0f) * 4;
    ip_end = rd16(pkt + IP4_TOTAL_LENGTH);
    if (ihl < IP4_MIN_HEADER || ihl > ip_end || ip_end > len) return 0;
    if (pkt[IP4_PROTOCOL] != IPPROTO_TCP || (rd16(pkt + IP4_FRAG) & IP4_FRAG_MASK)) return 0;
    l4 = ihl;
  } else if (version == 6) {
    if (len < IP6_HEADER) return 0;
    ip_end = IP6_HEADER + rd16(pkt + IP6_PAYLOAD_LENGTH);
    if (ip_end > len || pkt[IP6_NEXT_HEADER] != IPPROTO_TCP) return 0;
    l4 = IP6_HEADER;
  } else {
    return 0;
  }
  if (l4 + TCP_MIN_HEADER > ip_end) return 0;
  uint8_t *tcp = pkt + l4;
  uint32_t doff = (uint32_t)(tcp[TCP_DATA_OFFSET] >> 4) * 4;
  if (doff < TCP_MIN_HEADER || l4 + doff > ip_end) return 0;
  uint8_t flags = tcp[TCP_FLAGS];
  if (!(flags & TCP_SYN) || (flags & (TCP_RST | TCP_FIN))) return 0;

  int wrote = 0;
  uint32_t i = TCP_MIN_HEADER;
  while (i < doff) {
    uint8_t kind = tcp[i];
    if (kind == OPT_EOL) break;
    if (kind == OPT_NOP) { i++; continue; }
    if (i + 1 >= doff) break;
    uint32_t olen = tcp[i + 1];
    if (olen < 2 || i + olen > doff) break;
    if (kind == OPT_MSS && olen == OPT_MSS_LENGTH) {
      uint16_t old = rd16(tcp + i + 2);
      if (old > mss) {  // never increase (xt_TCPMSS.c)
        wr16(tcp + i + 2, mss);
        checksum_replace16(tcp, i + 2, old, mss);
        wrote = 1;
      }
    }
    i += olen;
  }
  return wrote;
}

static void put_attr(uint8_t **at, uint16_t type, const void *data, uint16_t len) {
  struct nlattr *a = (struct nlattr *)*at;
  a->nla_type = type;
  a->nla_len = (uint16_t)(NLA_HDRLEN + len);
  memcpy(*at + NLA_HDRLEN, data, len);
  memset(*at + NLA_HDRLEN + len, 0, NLA_ALIGN(len) - len);
  *at += NLA_HDRLEN + NLA_ALIGN(len);
}

static uint8_t *put_header(uint8_t *at, uint16_t msg_type, uint16_t flags, uint32_t seq, uint16_t queue) {
  struct nlmsghdr *nlh = (struct nlmsghdr *)at;
  nlh->nlmsg_type = (uint16_t)(NFNL_SUBSYS_QUEUE << 8 | msg_type);
  nlh->nlmsg_flags = flags;
  nlh->nlmsg_seq = seq;
  nlh->nlmsg_pid = 0;
  struct nfgenmsg *g = (struct nfgenmsg *)(at + NLMSG_HDRLEN);
  g->nfgen_family = AF_UNSPEC;
  g->version = NFNETLINK_V0;
  g->res_id = htons(queue);
  return at + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
}

// Bind, copy whole packets, queue length and flags in one config message, then wait for its ack.
static int bind_queue(int fd, uint16_t queue, uint32_t maxlen, int fail_open) {
  uint8_t msg[256];
  uint8_t *at = put_header(msg, NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, 1, queue);
  struct nfqnl_msg_config_cmd cmd = {.command = NFQNL_CFG_CMD_BIND, .pf = htons(AF_UNSPEC)};
  put_attr(&at, NFQA_CFG_CMD, &cmd, sizeof cmd);
  struct nfqnl_msg_config_params params = {.copy_range = htonl(COPY_RANGE), .copy_mode = NFQNL_COPY_PACKET};
  put_attr(&at, NFQA_CFG_PARAMS, &params, sizeof params);
  uint32_t be_maxlen = htonl(maxlen);
  put_attr(&at, NFQA_CFG_QUEUE_MAXLEN, &be_maxlen, sizeof be_maxlen);
  // GSO off: the kernel hands over complete checksums and expects complete ones back.
  uint32_t mask = htonl(NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO);
  uint32_t flags = htonl(fail_open ? NFQA_CFG_F_FAIL_OPEN : 0);
  put_attr(&at, NFQA_CFG_MASK, &mask, sizeof mask);
  put_attr(&at, NFQA_CFG_FLAGS, &flags, sizeof flags);
  ((struct nlmsghdr *)msg)->nlmsg_len = (uint32_t)(at - msg);
  if (send(fd, msg, (size_t)(at - msg), 0) < 0) return -errno;

  static uint8_t reply[SLOT_BYTES];
  for (;;) {
    ssize_t n = recv(fd, reply, sizeof reply, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    for (struct nlmsghdr *nlh = (struct nlmsghdr *)reply; NLMSG_OK(nlh, (size_t)n); nlh = NLMSG_NEXT(nlh, n)) {
      if (nlh->nlmsg_type == NLMSG_ERROR && nlh->nlmsg_seq == 1) {
        return ((struct nlmsgerr *)NLMSG_DATA(nlh))->error;
      }
    }
  }
}

static int arg_int(int argc, char **argv, const char *name, int fallback) {
  for (int i = 1; i + 1 < argc; i++) {
    if (strcmp(argv[i], name) == 0) return atoi(argv[i + 1]);
  }
  return fallback;
}

struct reader {
  uint16_t queue, mss;
  int fd, batch;
  pthread_t thread;
  pid_t tid;
  int done;
  struct stats stats;
};

// Opens a socket and binds `queue` on it; returns the socket or -1 (with the reason on stderr).
static int open_queue(uint16_t queue, uint32_t maxlen, int fail_open, int rcvbuf) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) { perror("c-consumer: socket"); return -1; }
  struct sockaddr_nl local = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) { perror("c-consumer: bind"); return -1; }
  int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0) {
    perror("c-consumer: SO_RCVBUFFORCE");
    return -1;
  }
  int err = bind_queue(fd, queue, maxlen, fail_open);
  if (err != 0) {
    fprintf(stderr, "c-consumer: binding queue %u failed: %s\n", queue, strerror(-err));
    return -1;
  }
  return fd;
}

// One queue until `stopping`: receive a batch, rewrite, send every verdict of it in one sendmsg.
static void *read_queue(void *arg) {
  struct reader *r = arg;
  r->tid = gettid();
  struct stats *st = &r->stats;
  int fd = r->fd, batch = r->batch;
  uint16_t queue = r->queue, mss = r->mss;
  uint8_t *slots = malloc((size_t)batch * SLOT_BYTES);
  uint8_t *out = malloc((size_t)batch * (VERDICT_OVERHEAD + NLA_ALIGN(SLOT_BYTES)));
  struct mmsghdr *msgs = calloc((size_t)batch, sizeof *msgs);
  struct iovec *iovs = calloc((size_t)batch, sizeof *iovs);
  if (!slots || !out || !msgs || !iovs) { fprintf(stderr, "c-consumer: out of memory\n"); exit(1); }
  for (int i = 0; i < batch; i++) {
    iovs[i].iov_base = slots + (size_t)i * SLOT_BYTES;
    iovs[i].iov_len = SLOT_BYTES;
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  uint32_t seq = 2;

  while (!stopping) {
    // Blocks for the first message, then takes whatever else is already queued (MSG_WAITFORONE).
    int got = recvmmsg(fd, msgs, (unsigned)batch, MSG_WAITFORONE, NULL);
    if (got < 0) {
      if (errno != EINTR) st->recv_errors++;
      continue;
    }
    st->batches++;
    uint8_t *at = out;
    for (int m = 0; m < got; m++) {
      size_t n = msgs[m].msg_len;
      for (struct nlmsghdr *nlh = (struct nlmsghdr *)iovs[m].iov_base; NLMSG_OK(nlh, n); nlh = NLMSG_NEXT(nlh, n)) {
        if (nlh->nlmsg_type == NLMSG_ERROR) { st->netlink_errors++; continue; }
        if (nlh->nlmsg_type != (NFNL_SUBSYS_QUEUE << 8 | NFQNL_MSG_PACKET)) continue;
        uint32_t id_be = 0;
        int have_id = 0;
        uint8_t *payload = NULL;
        uint32_t payload_len = 0;
        uint8_t *attr = (uint8_t *)NLMSG_DATA(nlh) + NLMSG_ALIGN(sizeof(struct nfgenmsg));
        uint8_t *end = (uint8_t *)nlh + nlh->nlmsg_len;
        while (attr + NLA_HDRLEN <= end) {
          struct nlattr *a = (struct nlattr *)attr;
          if (a->nla_len < NLA_HDRLEN || attr + a->nla_len > end) break;
          uint16_t type = a->nla_type & NLA_TYPE_MASK;
          if (type == NFQA_PACKET_HDR && a->nla_len >= NLA_HDRLEN + sizeof(struct nfqnl_msg_packet_hdr)) {
            id_be = ((struct nfqnl_msg_packet_hdr *)(attr + NLA_HDRLEN))->packet_id;
            have_id = 1;
          } else if (type == NFQA_PAYLOAD) {
            payload = attr + NLA_HDRLEN;
            payload_len = a->nla_len - NLA_HDRLEN;
          }
          attr += NLA_ALIGN(a->nla_len);
        }
        if (!have_id) continue;
        st->packets++;
        // A payload too long for one attribute is never rewritten (not possible for a SYN).
        int modified = payload && payload_len <= 0xffff - NLA_HDRLEN && rewrite_mss(payload, payload_len, mss);
        uint8_t *msg = at;
        at = put_header(at, NFQNL_MSG_VERDICT, NLM_F_REQUEST, seq++, queue);
        struct nfqnl_msg_verdict_hdr vh = {.verdict = htonl(NF_ACCEPT), .id = id_be};
        put_attr(&at, NFQA_VERDICT_HDR, &vh, sizeof vh);
        if (modified) {
          st->modified++;
          put_attr(&at, NFQA_PAYLOAD, payload, (uint16_t)payload_len);
        }
        ((struct nlmsghdr *)msg)->nlmsg_len = (uint32_t)(at - msg);
      }
    }
    if (at == out) continue;
    struct iovec iov = {.iov_base = out, .iov_len = (size_t)(at - out)};
    struct msghdr mh = {.msg_name = &kernel, .msg_namelen = sizeof kernel, .msg_iov = &iov, .msg_iovlen = 1};
    while (sendmsg(fd, &mh, 0) < 0) {
      if (errno == EINTR) continue;
      st->send_errors++;
      break;
    }
    st->verdict_sends++;
  }

  __atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
  return NULL;
}

static void on_wake(int sig) { (void)sig; }
int main(int argc, char **argv) {
  uint16_t queue = (uint16_t)arg_int(argc, argv, "--queue", 0);
  int threads = arg_int(argc, argv, "--threads", 1);
  uint16_t mss = (uint16_t)arg_int(argc, argv, "--mss", 1380);
  uint32_t maxlen = (uint32_t)arg_int(argc, argv, "--maxlen", 4096);
  int fail_open = arg_int(argc, argv, "--fail-open", 0);
  int batch = arg_int(argc, argv, "--batch", 64);
  int rcvbuf = arg_int(argc, argv, "--rcvbuf", 16 << 20);
  if (batch < 1 || batch > MAX_BATCH) {
    fprintf(stderr, "c-consumer: --batch must be 1..%d\n", MAX_BATCH);
    return 2;
  }
  if (threads < 1 || threads > MAX_THREADS || queue + threads - 1 > 0xffff) {
    fprintf(stderr, "c-consumer: --threads must be 1..%d and the last queue at most 65535\n", MAX_THREADS);
    return 2;
  }

  struct sigaction sa = {.sa_handler = on_signal};  // no SA_RESTART: a signal ends the blocking recv
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  static struct reader readers[MAX_THREADS];
  for (int t = 0; t < threads; t++) {
    struct reader *r = &readers[t];
    r->queue = (uint16_t)(queue + t);
    r->mss = mss;
    r->batch = batch;
    r->fd = open_queue(r->queue, maxlen, fail_open, rcvbuf);
    if (r->fd < 0) return 1;
  }
  if (threads == 1) {
    readers[0].tid = gettid();
    fprintf(stderr, "threads %d\nready\n", (int)readers[0].tid);
    read_queue(&readers[0]);
  } else {
    // SIGTERM and SIGINT go to the main thread (the readers block them); it wakes each reader out of
    // its blocking recvmmsg with SIGUSR1 (no SA_RESTART) until every one has seen `stopping`.
    struct sigaction wake = {.sa_handler = on_wake};
    sigaction(SIGUSR1, &wake, NULL);
    sigset_t stop_signals, old;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, &old);
    for (int t = 0; t < threads; t++) pthread_create(&readers[t].thread, NULL, read_queue, &readers[t]);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    for (int t = 0; t < threads; t++) {
      while (__atomic_load_n(&readers[t].tid, __ATOMIC_ACQUIRE) == 0) usleep(1000);
    }
    fprintf(stderr, "threads");
    for (int t = 0; t < threads; t++) fprintf(stderr, " %d", (int)readers[t].tid);
    fprintf(stderr, "\nready\n");
    while (!stopping) pause();
    for (int t = 0; t < threads; t++) {
      while (!__atomic_load_n(&readers[t].done, __ATOMIC_ACQUIRE)) {
        pthread_kill(readers[t].thread, SIGUSR1);
        usleep(10000);
      }
      pthread_join(readers[t].thread, NULL);
    }
  }

  struct stats sum = {0};
  for (int t = 0; t < threads; t++) {
    struct stats *st = &readers[t].stats;
    sum.packets += st->packets;
    sum.modified += st->modified;
    sum.batches += st->batches;
    sum.verdict_sends += st->verdict_sends;
    sum.recv_errors += st->recv_errors;
    sum.send_errors += st->send_errors;
    sum.netlink_errors += st->netlink_errors;
    close(readers[t].fd);
  }
  printf("{\"packets\":%llu,\"modified\":%llu,\"batches\":%llu,\"verdictSends\":%llu,"
         "\"recvErrors\":%llu,\"sendErrors\":%llu,\"netlinkErrors\":%llu}\n",
         (unsigned long long)sum.packets, (unsigned long long)sum.modified,
         (unsigned long long)sum.batches, (unsigned long long)sum.verdict_sends,
         (unsigned long long)sum.recv_errors, (unsigned long long)sum.send_errors,
         (unsigned long long)sum.netlink_errors);
  return 0;
}
