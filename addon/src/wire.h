// Netlink / nfnetlink_queue wire helpers: builders for the messages we send and a reader for the
// packet messages the kernel sends. Only the kernel's uapi headers are used (no libmnl, no
// libnetfilter_queue). Attribute semantics follow net/netfilter/nfnetlink_queue.c.
#pragma once

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace nfq {

// nlmsghdr + nfgenmsg: every nfnetlink message starts with both (include/uapi/linux/netfilter/nfnetlink.h).
constexpr uint32_t kNfHeaderLen = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg));
// NFQNL_MAX_COPY_RANGE in nfnetlink_queue.c: nla_len is 16 bits and includes the attribute header.
constexpr uint32_t kMaxCopyRange = 0xffff - NLA_HDRLEN;
// Room for the attributes that precede NFQA_PAYLOAD in a packet message (packet header, interfaces,
// mark, hw address, timestamp, cap len, skb info, physdev, L2 header for bridges), with margin.
constexpr uint32_t kPacketMsgOverhead = 1024;
// One receive slot holds the largest packet message the kernel can build for a COPY_PACKET queue.
constexpr uint32_t kSlotSize = kNfHeaderLen + NLA_HDRLEN + kMaxCopyRange + kPacketMsgOverhead;
// Largest verdict message: headers, verdict header attribute, payload attribute.
constexpr uint32_t kMaxVerdictMsg =
    kNfHeaderLen + NLA_HDRLEN + NLA_ALIGN(sizeof(nfqnl_msg_verdict_hdr)) + NLA_HDRLEN + NLA_ALIGN(kMaxCopyRange);

constexpr uint16_t QueueMsgType(uint8_t msg) { return static_cast<uint16_t>((NFNL_SUBSYS_QUEUE << 8) | msg); }

// Appends netlink messages to a caller-owned byte area. The caller checks room before each message
// (Room()), so the put functions do not check again.
class MsgWriter {
 public:
  MsgWriter(uint8_t* base, size_t cap) : base_(base), cap_(cap) {}

  size_t Len() const { return len_; }
  size_t Room() const { return cap_ - len_; }
  uint8_t* Data() const { return base_; }
  void Reset() { len_ = 0; }

  // Starts an nfnetlink message for queue `queue`; returns its offset for End().
  size_t Begin(uint16_t type, uint16_t flags, uint32_t seq, uint16_t queue) {
    size_t start = len_;
    nlmsghdr* nlh = reinterpret_cast<nlmsghdr*>(base_ + len_);
    nlh->nlmsg_len = 0;
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
    nlh->nlmsg_seq = seq;
    nlh->nlmsg_pid = 0;
    nfgenmsg* nfg = reinterpret_cast<nfgenmsg*>(base_ + len_ + NLMSG_HDRLEN);
    nfg->nfgen_family = AF_UNSPEC;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = htons(queue);
    len_ += kNfHeaderLen;
    return start;
  }

  void Attr(uint16_t type, const void* data, uint32_t n) {
    nlattr* nla = reinterpret_cast<nlattr*>(base_ + len_);
    nla->nla_type = type;
    nla->nla_len = static_cast<uint16_t>(NLA_HDRLEN + n);
    if (n) std::memcpy(base_ + len_ + NLA_HDRLEN, data, n);
    uint32_t padded = NLA_ALIGN(NLA_HDRLEN + n);
    if (padded > NLA_HDRLEN + n) std::memset(base_ + len_ + NLA_HDRLEN + n, 0, padded - NLA_HDRLEN - n);
    len_ += padded;
  }

  void AttrBe32(uint16_t type, uint32_t host) {
    uint32_t be = htonl(host);
    Attr(type, &be, sizeof be);
  }

  void End(size_t start) {
    reinterpret_cast<nlmsghdr*>(base_ + start)->nlmsg_len = static_cast<uint32_t>(len_ - start);
  }

  // One verdict message (NFQNL_MSG_VERDICT, or NFQNL_MSG_VERDICT_BATCH for "every id up to `id`").
  // The sequence number is the packet id, so an NLMSG_ERROR names the packet it is about.
  void Verdict(uint8_t msg, uint16_t queue, uint32_t id, uint32_t verdict, const uint8_t* payload, uint32_t n) {
    size_t start = Begin(QueueMsgType(msg), 0, id, queue);
    nfqnl_msg_verdict_hdr vh;
    vh.verdict = htonl(verdict);
    vh.id = htonl(id);
    Attr(NFQA_VERDICT_HDR, &vh, sizeof vh);
    if (payload) Attr(NFQA_PAYLOAD, payload, n);
    End(start);
  }

 private:
  uint8_t* base_;
  size_t cap_;
  size_t len_ = 0;
};

// What the addon needs from one NFQNL_MSG_PACKET message.
struct PacketView {
  uint32_t id = 0;
  uint16_t hwProtocol = 0;  // host order
  uint8_t hook = 0;
  uint32_t indev = 0;
  uint32_t outdev = 0;
  uint32_t mark = 0;
  uint32_t capLen = 0;   // original length when the copy is shorter (NFQA_CAP_LEN), else 0
  uint32_t skbInfo = 0;  // NFQA_SKB_INFO flags
  const uint8_t* payload = nullptr;
  uint32_t payloadLen = 0;       // bytes of the payload received
  uint32_t payloadDeclared = 0;  // bytes of the payload the kernel sent (more than payloadLen when cut)
  bool cut = false;              // the payload attribute ran past the received bytes
  bool hasHeader = false;
};

inline uint32_t ReadBe32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return ntohl(v);
}

// Reads the attributes of a packet message of `len` bytes (len >= kNfHeaderLen, checked by the
// caller). Unknown attributes are skipped; an attribute whose length is impossible ends the walk, so a
// malformed message cannot make the reader loop or read past `len`. Returns hasHeader: without
// NFQA_PACKET_HDR there is no id to give a verdict for.
inline bool ReadPacket(const uint8_t* msg, uint32_t len, PacketView& v) {
  v = PacketView();
  uint32_t off = kNfHeaderLen;
  while (off + NLA_HDRLEN <= len) {
    const nlattr* nla = reinterpret_cast<const nlattr*>(msg + off);
    uint32_t alen = nla->nla_len;
    if (alen < NLA_HDRLEN) break;
    const uint8_t* data = msg + off + NLA_HDRLEN;
    uint32_t dlen = alen - NLA_HDRLEN;
    uint16_t type = nla->nla_type & NLA_TYPE_MASK;
    if (off + alen > len) {
      // Only the payload may legitimately be cut (a receive slot smaller than the message).
      if (type == NFQA_PAYLOAD) {
        v.payload = data;
        v.payloadLen = len - off - NLA_HDRLEN;
        v.payloadDeclared = dlen;
        v.cut = true;
      }
      break;
    }
    switch (type) {
      case NFQA_PACKET_HDR:
        if (dlen >= sizeof(nfqnl_msg_packet_hdr)) {
          v.id = ReadBe32(data);
          v.hwProtocol = static_cast<uint16_t>((data[4] << 8) | data[5]);
          v.hook = data[6];
          v.hasHeader = true;
        }
        break;
      case NFQA_IFINDEX_INDEV:
        if (dlen >= 4) v.indev = ReadBe32(data);
        break;
      case NFQA_IFINDEX_OUTDEV:
        if (dlen >= 4) v.outdev = ReadBe32(data);
        break;
      case NFQA_MARK:
        if (dlen >= 4) v.mark = ReadBe32(data);
        break;
      case NFQA_CAP_LEN:
        if (dlen >= 4) v.capLen = ReadBe32(data);
        break;
      case NFQA_SKB_INFO:
        if (dlen >= 4) v.skbInfo = ReadBe32(data);
        break;
      case NFQA_PAYLOAD:
        v.payload = data;
        v.payloadLen = dlen;
        v.payloadDeclared = dlen;
        break;
      default:
        break;
    }
    off += NLA_ALIGN(alen);
  }
  return v.hasHeader;
}

}  // namespace nfq
