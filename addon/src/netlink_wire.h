// Netlink messages as bytes (RFC 3549, include/uapi/linux/netlink.h): a writer for the messages we
// send and walkers for the datagrams the kernel sends. Byte work only, no sockets and no Node, so
// test/addon/ compiles it, with the readers built on it, into a sanitizer-checked test driver.
//
// glibc's NLMSG_OK/NLMSG_NEXT are not used: with an unsigned length, NLMSG_NEXT wraps the remaining
// length below zero after a message whose length is not a multiple of 4 at the end of a datagram,
// and the next NLMSG_OK then reads past it (the old walks here did; addon/README.md).
#pragma once

#include <arpa/inet.h>
#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace nl {

// nla_len is 16 bits and counts the attribute header.
constexpr uint32_t kMaxAttrData = 0xffff - NLA_HDRLEN;

// Appends netlink messages to a caller-owned byte area. Every put checks room: one that does not
// fit writes nothing and marks the writer failed (Ok() false until Reset()), so a too-small area
// gives a refused message, never a write past its end.
class MsgWriter {
 public:
  MsgWriter(uint8_t* base, size_t cap) : base_(base), cap_(cap) {}

  size_t Len() const { return len_; }
  bool Ok() const { return ok_; }
  uint8_t* Data() const { return base_; }
  void Reset() {
    len_ = 0;
    ok_ = true;
  }

  // Starts a request (NLM_F_REQUEST | flags); returns its offset for End().
  size_t Begin(uint16_t type, uint16_t flags, uint32_t seq) {
    size_t start = len_;
    if (!Fits(NLMSG_HDRLEN)) return start;
    nlmsghdr h;
    h.nlmsg_len = 0;
    h.nlmsg_type = type;
    h.nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
    h.nlmsg_seq = seq;
    h.nlmsg_pid = 0;
    std::memcpy(base_ + len_, &h, sizeof h);
    len_ += NLMSG_HDRLEN;
    return start;
  }

  // The family header that follows the netlink header (nfgenmsg, rtmsg, ifinfomsg), padded to 4.
  void Put(const void* data, uint32_t n) {
    uint32_t padded = NLMSG_ALIGN(n);
    if (!Fits(padded)) return;
    if (n) std::memcpy(base_ + len_, data, n);
    std::memset(base_ + len_ + n, 0, padded - n);
    len_ += padded;
  }

  void Attr(uint16_t type, const void* data, uint32_t n) {
    if (n > kMaxAttrData) {
      ok_ = false;
      return;
    }
    uint32_t padded = NLA_ALIGN(NLA_HDRLEN + n);
    if (!Fits(padded)) return;
    nlattr nla;
    nla.nla_type = type;
    nla.nla_len = static_cast<uint16_t>(NLA_HDRLEN + n);
    std::memcpy(base_ + len_, &nla, sizeof nla);
    if (n) std::memcpy(base_ + len_ + NLA_HDRLEN, data, n);
    std::memset(base_ + len_ + NLA_HDRLEN + n, 0, padded - NLA_HDRLEN - n);
    len_ += padded;
  }

  // rtnetlink integers are in host order, nfnetlink ones in network order.
  void AttrU32(uint16_t type, uint32_t host) { Attr(type, &host, sizeof host); }
  void AttrBe32(uint16_t type, uint32_t host) {
    uint32_t be = htonl(host);
    Attr(type, &be, sizeof be);
  }

  void End(size_t start) {
    if (!ok_) return;
    uint32_t n = static_cast<uint32_t>(len_ - start);
    std::memcpy(base_ + start + offsetof(nlmsghdr, nlmsg_len), &n, sizeof n);
  }

 private:
  bool Fits(size_t n) {
    if (ok_ && n <= cap_ - len_) return true;
    ok_ = false;
    return false;
  }

  uint8_t* base_;
  size_t cap_;
  size_t len_ = 0;
  bool ok_ = true;
};

// One message of a datagram. Promise: hdr points at a whole netlink header inside the datagram,
// hdr->nlmsg_len >= NLMSG_HDRLEN, and the first `have` bytes from hdr are inside the datagram.
// have < nlmsg_len only for a message cut at the end of the datagram (a receive buffer shorter than
// the message): readers of a cut message read only `have` bytes.
struct Message {
  const nlmsghdr* hdr = nullptr;
  uint32_t have = 0;
  const uint8_t* Bytes() const { return reinterpret_cast<const uint8_t*>(hdr); }
  bool Whole() const { return have == hdr->nlmsg_len; }
};

// The message at *off in a datagram of `len` bytes (dgram 4-byte aligned, *off a multiple of 4, as
// the previous call left it); moves *off to the next one. False at the end of the datagram, or at a
// length below the header, after which nothing in the datagram can be trusted (*off = len then).
inline bool NextMessage(const uint8_t* dgram, uint32_t len, uint32_t* off, Message* m) {
  if (*off > len || len - *off < NLMSG_HDRLEN) {
    *off = len;
    return false;
  }
  const nlmsghdr* hdr = reinterpret_cast<const nlmsghdr*>(dgram + *off);
  uint32_t mlen = hdr->nlmsg_len;
  uint32_t left = len - *off;
  if (mlen < NLMSG_HDRLEN) {
    *off = len;
    return false;
  }
  m->hdr = hdr;
  m->have = mlen < left ? mlen : left;
  // 64-bit: a length near 2^32 must not wrap the offset back into the datagram.
  uint64_t next = (static_cast<uint64_t>(*off) + mlen + NLMSG_ALIGNTO - 1) & ~static_cast<uint64_t>(NLMSG_ALIGNTO - 1);
  *off = next < len ? static_cast<uint32_t>(next) : len;
  return true;
}

// The NLMSG_ERROR fields we use. error: 0 for an acknowledgement, else -errno. echoSeq/echoType: the
// header of the message it answers, when the message is long enough to carry it (hasEcho).
struct ErrorView {
  int error = 0;
  bool hasEcho = false;
  uint32_t echoSeq = 0;
  uint16_t echoType = 0;
};

// False when m is not an NLMSG_ERROR or too short to hold the error number.
inline bool ReadError(const Message& m, ErrorView* e) {
  *e = ErrorView();
  if (m.hdr->nlmsg_type != NLMSG_ERROR || m.have < NLMSG_LENGTH(sizeof(int))) return false;
  const uint8_t* data = m.Bytes() + NLMSG_HDRLEN;
  std::memcpy(&e->error, data, sizeof e->error);
  if (m.have >= NLMSG_LENGTH(sizeof(nlmsgerr))) {
    nlmsghdr echo;
    std::memcpy(&echo, data + offsetof(nlmsgerr, msg), sizeof echo);
    e->hasEcho = true;
    e->echoSeq = echo.nlmsg_seq;
    e->echoType = echo.nlmsg_type;
  }
  return true;
}

// One attribute (nlattr, or rtattr: the same four-byte header). Promise: data[0, len) is inside
// the area walked; declared > len only for the last attribute, cut at the end of the area.
struct AttrView {
  uint16_t type = 0;  // without NLA_F_NESTED / NLA_F_NET_BYTEORDER
  const uint8_t* data = nullptr;
  uint32_t len = 0;
  uint32_t declared = 0;
  bool Cut() const { return len < declared; }
};

// The attribute at *off in an area of `len` bytes; moves *off to the next one. False at the end, or
// at an attribute length below its header (a zero length must not loop; *off = len then). An
// attribute that runs past the area is returned cut, and is the last.
inline bool NextAttr(const uint8_t* area, uint32_t len, uint32_t* off, AttrView* a) {
  if (*off > len || len - *off < NLA_HDRLEN) {
    *off = len;
    return false;
  }
  nlattr nla;
  std::memcpy(&nla, area + *off, sizeof nla);
  uint32_t alen = nla.nla_len;
  if (alen < NLA_HDRLEN) {
    *off = len;
    return false;
  }
  uint32_t left = len - *off - NLA_HDRLEN;
  a->type = static_cast<uint16_t>(nla.nla_type & NLA_TYPE_MASK);
  a->data = area + *off + NLA_HDRLEN;
  a->declared = alen - NLA_HDRLEN;
  a->len = a->declared < left ? a->declared : left;
  uint32_t next = *off + NLA_ALIGN(alen);  // alen <= 0xffff: no wrap
  *off = next < len ? next : len;
  return true;
}

// A 32-bit attribute value; 0 when the attribute is shorter.
inline uint32_t ReadU32(const AttrView& a) {
  uint32_t v = 0;
  if (a.len >= sizeof v) std::memcpy(&v, a.data, sizeof v);
  return v;
}

inline uint32_t ReadBe32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return ntohl(v);
}

}  // namespace nl
