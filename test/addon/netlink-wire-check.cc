// Sanitizer driver for the addon's netlink byte code (addon/src/netlink_wire.h, nfqueue_wire.h,
// rtnetlink_wire.h): the readers the queue and the path-MTU lookup run on what the kernel sends, and
// the writers of what we send. No Node and no sockets: test/addon/sanitizer.test.ts builds it with
// -fsanitize=address,undefined -fno-sanitize-recover=all, so any out-of-bounds access, misaligned
// access or undefined arithmetic ends the run with a report and a non-zero status.
//
// Every input is copied into a heap block of exactly its length, so reading one byte past it is an
// AddressSanitizer report rather than a read of whatever follows in a larger buffer.
//
//   netlink-wire-check [MUTATIONS]   runs every group, MUTATIONS random mutations (default 300000);
//                                    prints "cases GROUP N" per group and "total N"
//   netlink-wire-check --canary      reads one byte past a block: must die with an ASan report
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "netlink-fixtures.h"
#include "netlink_wire.h"
#include "nfqueue_wire.h"
#include "rtnetlink_wire.h"

namespace {

using Bytes = std::vector<uint8_t>;

const char* group = "";
unsigned long groupCases = 0;
unsigned long totalCases = 0;

[[noreturn]] void Fail(const char* what, int line) {
  std::fprintf(stderr, "FAIL [%s] case %lu: %s (line %d)\n", group, groupCases, what, line);
  std::exit(1);
}
#define EXPECT(cond) \
  if (!(cond)) Fail(#cond, __LINE__)

void BeginGroup(const char* name) {
  group = name;
  groupCases = 0;
}
void EndGroup() {
  std::printf("cases %s %lu\n", group, groupCases);
  totalCases += groupCases;
}

template <size_t N>
Bytes Of(const uint8_t (&a)[N]) {
  return Bytes(a, a + N);
}

// A heap block of exactly `n` bytes holding the first n bytes of b (zero-padded if b is shorter).
struct Exact {
  std::unique_ptr<uint8_t[]> p;
  uint32_t n;
  Exact(const Bytes& b, size_t n_) : p(new uint8_t[n_]), n(static_cast<uint32_t>(n_)) {
    size_t k = b.size() < n_ ? b.size() : n_;
    if (k) std::memcpy(p.get(), b.data(), k);
    if (n_ > k) std::memset(p.get() + k, 0, n_ - k);
  }
  explicit Exact(const Bytes& b) : Exact(b, b.size()) {}
};

// What one pass of the readers found, for the fixture checks.
struct Seen {
  uint32_t messages = 0;
  uint32_t packets = 0;  // ReadPacket true
  nfq::PacketView lastPacket;
  uint32_t errors = 0;  // ReadError true
  nl::ErrorView lastError;
  uint32_t routes = 0;  // ReadRouteAnswer true
  pmtu::RouteAnswer lastRoute;
  uint32_t linkMtu = 0;
};

bool Inside(const uint8_t* p, uint32_t n, const uint8_t* base, uint32_t len) {
  return p >= base && p <= base + len && n <= static_cast<uint32_t>(base + len - p);
}

// Every attribute of an area, with the promises of nl::NextAttr checked; nested once (RTA_METRICS).
void WalkAttrs(const uint8_t* area, uint32_t len, int depth) {
  uint32_t off = 0, count = 0;
  nl::AttrView a;
  while (nl::NextAttr(area, len, &off, &a)) {
    EXPECT(++count <= len / NLA_HDRLEN);
    EXPECT(Inside(a.data, a.len, area, len));
    EXPECT(a.len <= a.declared);
    EXPECT(!a.Cut() || off == len);
    if (depth == 0 && !a.Cut()) WalkAttrs(a.data, a.len, 1);
  }
  EXPECT(off == len || len - off < NLA_HDRLEN);
}

// Runs every reader over a datagram as the addon does: the message walk of FillBatch, Shutdown and
// Transact, then each message through the packet, error, route and link readers.
Seen ReadAll(const uint8_t* d, uint32_t len) {
  Seen s;
  uint32_t off = 0;
  nl::Message m;
  while (nl::NextMessage(d, len, &off, &m)) {
    ++s.messages;
    EXPECT(s.messages <= len / NLMSG_HDRLEN);
    EXPECT(Inside(m.Bytes(), m.have, d, len));
    EXPECT(m.have >= NLMSG_HDRLEN && m.have <= m.hdr->nlmsg_len);
    EXPECT(off % NLMSG_ALIGNTO == 0 || off == len);
    EXPECT(m.Whole() || off == len);

    nfq::PacketView v;
    if (nfq::ReadPacket(m.Bytes(), m.have, v)) {
      ++s.packets;
      s.lastPacket = v;
      EXPECT(v.hasHeader);
      EXPECT(v.payload == nullptr || Inside(v.payload, v.payloadLen, m.Bytes(), m.have));
      EXPECT(v.payloadLen <= v.payloadDeclared);
      EXPECT(v.cut == (v.payloadLen < v.payloadDeclared));
      if (v.payload) {
        uint32_t min = nfq::MinNewLength(v.payload, v.payloadLen);
        // An IPv4 IHL may claim more than the copy holds (no such packet passes ip_rcv); else the
        // shortest new length lies inside the packet.
        EXPECT(min == nfq::kNeverNewLength || (min >= 20 && (min <= v.payloadLen || min <= 60)));
      }
    } else {
      EXPECT(!v.hasHeader);
    }
    nl::ErrorView e;
    if (nl::ReadError(m, &e)) {
      ++s.errors;
      s.lastError = e;
    }
    pmtu::RouteAnswer r;
    if (pmtu::ReadRouteAnswer(m, &r)) {
      ++s.routes;
      s.lastRoute = r;
    }
    uint32_t mtu = pmtu::ReadLinkMtu(m);
    if (mtu) s.linkMtu = mtu;
    if (m.have >= NLMSG_HDRLEN) WalkAttrs(m.Bytes() + NLMSG_HDRLEN, m.have - NLMSG_HDRLEN, 0);
  }
  EXPECT(off == len);
  return s;
}

// For checks of counts and numbers only: the block, and so any pointer in the result, is freed on return.
Seen ReadAll(const Bytes& b) {
  Exact e(b);
  return ReadAll(e.p.get(), e.n);
}

Bytes Concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

void SetU32(Bytes& b, size_t at, uint32_t v) {
  if (at + 4 <= b.size()) std::memcpy(b.data() + at, &v, 4);
}
void SetU16(Bytes& b, size_t at, uint16_t v) {
  if (at + 2 <= b.size()) std::memcpy(b.data() + at, &v, 2);
}

// What the kernel sends, as named fixtures; the combined one is a datagram of three messages.
std::vector<Bytes> KernelFixtures() {
  using namespace fixture;
  return {Of(kPacketIpv4),       Of(kPacketIpv6Cut), Of(kVerdictError),
          Of(kConfigAck),        Of(kRouteWithMtu),  Of(kRouteNoMtu),
          Of(kRouteUnreachable), Of(kLink),          Concat({Of(kPacketIpv4), Of(kPacketIpv6Cut), Of(kVerdictError)})};
}

// --- Kernel to us: parse each fixture -------------------------------------------------------------

void ParseFixtures() {
  BeginGroup("parse-fixtures");
  using namespace fixture;
  {
    Exact e(Of(kPacketIpv4));  // kept: the view points into it
    Seen s = ReadAll(e.p.get(), e.n);
    EXPECT(s.messages == 1 && s.packets == 1 && s.errors == 0 && s.routes == 0);
    const nfq::PacketView& v = s.lastPacket;
    EXPECT(v.id == 42 && v.hwProtocol == 0x0800 && v.hook == 2);
    EXPECT(v.indev == 5 && v.outdev == 7 && v.mark == 256 && v.capLen == 0);
    EXPECT(v.skbInfo == NFQA_SKB_CSUM_NOTVERIFIED);
    EXPECT(v.payloadLen == 44 && v.payloadDeclared == 44 && !v.cut);
    EXPECT(v.payload[0] == 0x45 && v.payload[43] == 0xb4);
    EXPECT(nfq::MinNewLength(v.payload, v.payloadLen) == 20);
    ++groupCases;
  }
  {
    Exact e(Of(kPacketIpv6Cut));
    Seen s = ReadAll(e.p.get(), e.n);
    const nfq::PacketView& v = s.lastPacket;
    EXPECT(s.packets == 1 && v.id == 43 && v.hwProtocol == 0x86dd && v.hook == 0 && v.indev == 2);
    EXPECT(v.capLen == 1500 && v.payloadLen == 60 && !v.cut);
    EXPECT(v.skbInfo == (NFQA_SKB_CSUMNOTREADY | NFQA_SKB_GSO));
    EXPECT(nfq::MinNewLength(v.payload, v.payloadLen) == 40);
    ++groupCases;
  }
  {
    Seen s = ReadAll(Of(kVerdictError));
    EXPECT(s.messages == 1 && s.packets == 0 && s.errors == 1);
    EXPECT(s.lastError.error == -2 && s.lastError.hasEcho);
    EXPECT(s.lastError.echoSeq == 42 && s.lastError.echoType == nfq::QueueMsgType(NFQNL_MSG_VERDICT));
    ++groupCases;
  }
  {
    Seen s = ReadAll(Of(kConfigAck));
    EXPECT(s.errors == 1 && s.lastError.error == 0 && s.lastError.hasEcho);
    EXPECT(s.lastError.echoSeq == 9 && s.lastError.echoType == nfq::QueueMsgType(NFQNL_MSG_CONFIG));
    ++groupCases;
  }
  {
    Seen s = ReadAll(Of(kRouteWithMtu));
    EXPECT(s.routes == 1 && s.lastRoute.mtu == 1400 && s.lastRoute.oif == 7 && s.packets == 0);
    ++groupCases;
  }
  {
    Seen s = ReadAll(Of(kRouteNoMtu));
    EXPECT(s.routes == 1 && s.lastRoute.mtu == 0 && s.lastRoute.oif == 3);
    ++groupCases;
  }
  {
    Seen s = ReadAll(Of(kRouteUnreachable));
    EXPECT(s.messages == 1 && s.routes == 0);
    ++groupCases;
  }
  {
    Seen s = ReadAll(Of(kLink));
    EXPECT(s.messages == 1 && s.linkMtu == 1500 && s.routes == 0);
    ++groupCases;
  }
  {
    Seen s = ReadAll(KernelFixtures().back());
    EXPECT(s.messages == 3 && s.packets == 2 && s.errors == 1 && s.lastPacket.id == 43);
    ++groupCases;
  }
  {
    // A cut last message (a receive buffer shorter than the message): the payload is read as cut.
    Bytes b = Of(kPacketIpv4);
    Exact e(b, 100);
    Seen s = ReadAll(e.p.get(), e.n);
    EXPECT(s.packets == 1 && s.lastPacket.cut && s.lastPacket.payloadLen == 16 && s.lastPacket.payloadDeclared == 44);
    ++groupCases;
  }
  {
    // A datagram whose length is not a multiple of 4, its one message's length odd: glibc's
    // NLMSG_NEXT with an unsigned length wraps here, and NLMSG_OK then reads past the datagram.
    Bytes b = Of(kConfigAck);
    b.resize(38, 0);
    b[0] = 37;
    Seen s = ReadAll(b);
    EXPECT(s.messages == 1 && s.errors == 1);
    ++groupCases;
  }
  {
    // An nlmsg_len near 2^32 in front of a second message: the message is cut at the datagram's end
    // and the walk ends there. A 32-bit NLMSG_ALIGN of it is 0, so the old batch walk stood still.
    Bytes b = Concat({Of(kConfigAck), Of(kConfigAck)});
    SetU32(b, 0, 0xfffffffd);
    Seen s = ReadAll(b);
    EXPECT(s.messages == 1);
    ++groupCases;
  }
  EndGroup();
}

// --- Us to the kernel: build each message and compare with the fixture -----------------------------

struct Built {
  const char* name;
  Bytes want;
  void (*build)(nl::MsgWriter&);
};

const uint8_t kShortPayload[] = {0x45, 0x00, 0x00, 0x05, 0xee};
const uint8_t kDst4[] = {198, 51, 100, 2};
const uint8_t kSrc4[] = {192, 0, 2, 1};
const uint8_t kDst6[] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

std::vector<Built> BuildFixtures() {
  using namespace fixture;
  return {
      {"verdict-accept", Of(kVerdictAccept),
       [](nl::MsgWriter& w) { nfq::PutVerdict(w, NFQNL_MSG_VERDICT, 3, 42, NF_ACCEPT, nullptr, 0); }},
      {"verdict-payload", Of(kVerdictPayload),
       [](nl::MsgWriter& w) {
         nfq::PutVerdict(w, NFQNL_MSG_VERDICT, 3, 42, NF_ACCEPT, kShortPayload, sizeof kShortPayload);
       }},
      {"verdict-batch-drop", Of(kVerdictBatchDrop),
       [](nl::MsgWriter& w) { nfq::PutVerdict(w, NFQNL_MSG_VERDICT_BATCH, 3, 0x01020304, NF_DROP, nullptr, 0); }},
      {"config-bind", Of(kConfigBind),
       [](nl::MsgWriter& w) {
         nfq::ConfigRequest r;
         r.command = NFQNL_CFG_CMD_BIND;
         r.copyParams = true;
         r.setMaxLen = true;
         r.maxLen = 4096;
         r.setFlags = true;
         r.failOpen = true;
         nfq::PutConfig(w, r, 1, 3);
       }},
      {"route-request-input", Of(kRouteRequestInput),
       [](nl::MsgWriter& w) { pmtu::PutRouteRequest(w, 7, AF_INET, kDst4, kSrc4, 4, 5, 9, 0x10); }},
      {"route-request-output6", Of(kRouteRequestOutput6),
       [](nl::MsgWriter& w) { pmtu::PutRouteRequest(w, 9, AF_INET6, kDst6, nullptr, 16, 0, 4, 0); }},
      {"link-request", Of(kLinkRequest), [](nl::MsgWriter& w) { pmtu::PutLinkRequest(w, 8, 7); }},
  };
}

void BuildMessages() {
  BeginGroup("build-fixtures");
  for (const Built& b : BuildFixtures()) {
    Exact area(Bytes(), b.want.size());
    nl::MsgWriter w(area.p.get(), area.n);
    b.build(w);
    if (!w.Ok() || w.Len() != b.want.size() || std::memcmp(area.p.get(), b.want.data(), b.want.size()) != 0) {
      std::fprintf(stderr, "built %s:", b.name);
      for (size_t i = 0; i < w.Len(); ++i) std::fprintf(stderr, " %u", area.p[i]);
      std::fprintf(stderr, "\n");
      Fail(b.name, __LINE__);
    }
    // What we build also reads back as one whole message.
    Seen s = ReadAll(area.p.get(), area.n);
    EXPECT(s.messages == 1);
    ++groupCases;
  }
  {
    // The largest verdict: a payload of kMaxCopyRange bytes fits kMaxVerdictMsg exactly.
    Bytes payload(nfq::kMaxCopyRange, 0xab);
    Exact area(Bytes(), nfq::kMaxVerdictMsg);
    nl::MsgWriter w(area.p.get(), area.n);
    nfq::PutVerdict(w, NFQNL_MSG_VERDICT, 3, 1, NF_ACCEPT, payload.data(), nfq::kMaxCopyRange);
    EXPECT(w.Ok() && w.Len() == nfq::kMaxVerdictMsg);
    ++groupCases;
    // One byte more cannot be described by a 16-bit nla_len: refused, nothing written past.
    Bytes more(nfq::kMaxCopyRange + 1, 0xab);
    w.Reset();
    nfq::PutVerdict(w, NFQNL_MSG_VERDICT, 3, 1, NF_ACCEPT, more.data(), nfq::kMaxCopyRange + 1);
    EXPECT(!w.Ok());
    ++groupCases;
  }
  EndGroup();
}

// Every capacity from 0 to the message's length: a writer that does not fit refuses, never writes
// past its area, and one that fits writes the fixture's bytes.
void WriterCapacity() {
  BeginGroup("writer-capacity");
  for (const Built& b : BuildFixtures()) {
    for (size_t cap = 0; cap <= b.want.size(); ++cap) {
      Exact area(Bytes(), cap);
      nl::MsgWriter w(area.p.get(), cap);
      b.build(w);
      EXPECT(w.Ok() == (cap == b.want.size()));
      EXPECT(w.Len() <= cap);
      if (w.Ok()) EXPECT(std::memcmp(area.p.get(), b.want.data(), cap) == 0);
      ++groupCases;
    }
  }
  EndGroup();
}

// --- Truncated messages at every length --------------------------------------------------------------

void Truncated() {
  BeginGroup("truncated");
  for (const Bytes& f : KernelFixtures()) {
    for (size_t len = 0; len <= f.size(); ++len) {
      // As a receive buffer cuts it: the header still claims the whole length.
      Exact cut(f, len);
      Seen s = ReadAll(cut.p.get(), cut.n);
      ++groupCases;
      // As a sender would shorten it: the header claims what is there.
      Bytes shortened(f.begin(), f.begin() + static_cast<long>(len));
      SetU32(shortened, 0, static_cast<uint32_t>(len));
      ReadAll(shortened);
      ++groupCases;
      if (f.size() == sizeof fixture::kPacketIpv4 && f[0] == fixture::kPacketIpv4[0]) {
        // The packet header attribute ends at 31 (then a byte of padding), the payload attribute starts
        // at 80, its data at 84.
        EXPECT(s.packets == (len >= 31 ? 1u : 0u));
        if (len >= 84) {
          EXPECT(s.lastPacket.payloadLen == len - 84 && s.lastPacket.cut == (len < f.size()));
        } else if (len >= 31) {
          EXPECT(s.lastPacket.payload == nullptr);
        }
      }
    }
  }
  EndGroup();
}

// --- Impossible lengths ----------------------------------------------------------------------------

// Offsets of every attribute header in a fixture's messages (nested ones too), found by walking it.
std::vector<size_t> AttrOffsets(const Bytes& f) {
  std::vector<size_t> out;
  Exact e(f);
  uint32_t off = 0;
  nl::Message m;
  while (nl::NextMessage(e.p.get(), e.n, &off, &m)) {
    uint16_t type = m.hdr->nlmsg_type;
    size_t fixed = type == RTM_NEWROUTE  ? NLMSG_SPACE(sizeof(rtmsg))
                   : type == RTM_NEWLINK ? NLMSG_SPACE(sizeof(ifinfomsg))
                   : type == NLMSG_ERROR ? NLMSG_SPACE(sizeof(nlmsgerr))
                                         : nfq::kNfHeaderLen;
    if (fixed > m.have) continue;
    uint32_t aoff = 0;
    nl::AttrView a;
    const uint8_t* area = m.Bytes() + fixed;
    while (nl::NextAttr(area, m.have - static_cast<uint32_t>(fixed), &aoff, &a)) {
      size_t at = static_cast<size_t>(a.data - e.p.get()) - NLA_HDRLEN;
      out.push_back(at);
      if (a.type == RTA_METRICS && type == RTM_NEWROUTE) out.push_back(at + NLA_HDRLEN);
    }
  }
  return out;
}

void ImpossibleLengths() {
  BeginGroup("impossible-lengths");
  const uint32_t kMsgLens[] = {0,          1,          3,          4,          15,        16,         17,
                               18,         19,         20,         21,         35,        36,         37,
                               255,        256,        0x7fff,     0xffff,     0x10000,   0x7fffffff, 0x80000000,
                               0xfffffff0, 0xfffffffc, 0xfffffffd, 0xfffffffe, 0xffffffff};
  const uint16_t kAttrLens[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 0x7fff, 0x8000, 0xfffc, 0xfffd, 0xffff};
  for (const Bytes& f : KernelFixtures()) {
    for (uint32_t v : kMsgLens) {
      for (long delta : {0L, 1L, -1L, 3L}) {
        Bytes b = f;
        uint64_t want = static_cast<uint64_t>(v) + (v == 0 && delta < 0 ? 0 : delta);
        SetU32(b, 0, static_cast<uint32_t>(want));
        ReadAll(b);
        ++groupCases;
      }
    }
    for (size_t at : AttrOffsets(f)) {
      for (uint16_t v : kAttrLens) {
        Bytes b = f;
        SetU16(b, at, v);
        ReadAll(b);
        ++groupCases;
        // The same length relative to what is left after the attribute's header.
        size_t left = f.size() - at;
        Bytes c = f;
        SetU16(c, at, static_cast<uint16_t>(left + (v % 8)));
        ReadAll(c);
        ++groupCases;
      }
    }
  }
  EndGroup();
}

// --- Random mutations -------------------------------------------------------------------------------

// splitmix64: small, fixed-seed, the same sequence on every machine.
struct Rng {
  uint64_t s;
  uint64_t Next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint32_t Below(uint32_t n) { return n ? static_cast<uint32_t>(Next() % n) : 0; }
};

void Mutations(unsigned long count) {
  BeginGroup("mutations");
  std::vector<Bytes> inputs = KernelFixtures();
  for (const Built& b : BuildFixtures()) inputs.push_back(b.want);
  const uint32_t kInteresting[] = {0, 1, 3, 4, 15, 16, 17, 19, 20, 0x7fff, 0xffff, 0x7fffffff, 0xfffffffc, 0xffffffff};
  Rng rng{0x6d73736d616e676cull};  // "mssmangl"
  for (unsigned long i = 0; i < count; ++i) {
    Bytes b = inputs[rng.Below(static_cast<uint32_t>(inputs.size()))];
    uint32_t ops = 1 + rng.Below(4);
    for (uint32_t k = 0; k < ops; ++k) {
      uint32_t n = static_cast<uint32_t>(b.size());
      switch (rng.Below(7)) {
        case 0:
          if (n) b[rng.Below(n)] ^= static_cast<uint8_t>(1u << rng.Below(8));
          break;
        case 1:
          if (n) b[rng.Below(n)] = static_cast<uint8_t>(rng.Next());
          break;
        case 2: {  // a length-sized field: u16 at an even offset
          uint32_t v = kInteresting[rng.Below(sizeof kInteresting / sizeof kInteresting[0])];
          if (rng.Below(2)) v = static_cast<uint32_t>(rng.Next());
          if (n >= 2) SetU16(b, rng.Below(n / 2) * 2, static_cast<uint16_t>(v));
          break;
        }
        case 3: {  // a u32 at a 4-aligned offset (nlmsg_len among them)
          uint32_t v = kInteresting[rng.Below(sizeof kInteresting / sizeof kInteresting[0])];
          if (rng.Below(3) == 0) v = n + rng.Below(9) - 4;
          if (n >= 4) SetU32(b, rng.Below(n / 4) * 4, v);
          break;
        }
        case 4:
          b.resize(rng.Below(n + 1));
          break;
        case 5: {
          uint32_t extra = rng.Below(65);
          for (uint32_t j = 0; j < extra; ++j) b.push_back(static_cast<uint8_t>(rng.Next()));
          break;
        }
        case 6:
          if (n < 4096) b.insert(b.end(), b.begin(), b.end());
          break;
      }
    }
    ReadAll(b);
    ++groupCases;
  }
  EndGroup();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--canary") == 0) {
    // Proves the build reports: one byte past a block.
    Exact e(Bytes(16, 1));
    volatile uint8_t past = e.p[e.n];
    std::printf("canary read %u and was not stopped\n", past);
    return 0;
  }
  unsigned long mutations = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 300000;
  ParseFixtures();
  BuildMessages();
  WriterCapacity();
  Truncated();
  ImpossibleLengths();
  Mutations(mutations);
  std::printf("total %lu\n", totalCases);
  return 0;
}
