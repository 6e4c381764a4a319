// nfnetlink_queue messages as bytes: the config and verdict messages we send and the packet messages
// the kernel sends. Only the kernel's uapi headers (no libmnl, no libnetfilter_queue); attribute
// semantics follow net/netfilter/nfnetlink_queue.c. No sockets and no Node: test/addon/ compiles this
// into the sanitizer driver.
#pragma once

#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <netinet/in.h>

#include "netlink_wire.h"

namespace nfq {

// nlmsghdr + nfgenmsg: every nfnetlink message starts with both (include/uapi/linux/netfilter/nfnetlink.h).
constexpr uint32_t kNfHeaderLen = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg));
// NFQNL_MAX_COPY_RANGE in nfnetlink_queue.c: nla_len is 16 bits and includes the attribute header.
constexpr uint32_t kMaxCopyRange = nl::kMaxAttrData;
// Room for the attributes that precede NFQA_PAYLOAD in a packet message (packet header, interfaces,
// mark, hw address, timestamp, cap len, skb info, physdev, L2 header for bridges), with margin.
constexpr uint32_t kPacketMsgOverhead = 1024;
// One receive slot holds the largest packet message the kernel can build for a COPY_PACKET queue.
constexpr uint32_t kSlotSize = kNfHeaderLen + NLA_HDRLEN + kMaxCopyRange + kPacketMsgOverhead;
// A verdict without payload (also a VERDICT_BATCH).
constexpr uint32_t kPlainVerdictMsg = kNfHeaderLen + NLA_HDRLEN + NLA_ALIGN(sizeof(nfqnl_msg_verdict_hdr));
// Largest verdict message: headers, verdict header attribute, payload attribute.
constexpr uint32_t kMaxVerdictMsg = kPlainVerdictMsg + NLA_HDRLEN + NLA_ALIGN(kMaxCopyRange);

constexpr uint16_t QueueMsgType(uint8_t msg) { return static_cast<uint16_t>((NFNL_SUBSYS_QUEUE << 8) | msg); }

// Starts an nfnetlink message about queue `queue`; returns its offset for End().
inline size_t BeginQueueMsg(nl::MsgWriter& w, uint8_t msg, uint16_t flags, uint32_t seq, uint16_t queue) {
  size_t start = w.Begin(QueueMsgType(msg), flags, seq);
  nfgenmsg nfg;
  nfg.nfgen_family = AF_UNSPEC;
  nfg.version = NFNETLINK_V0;
  nfg.res_id = htons(queue);
  w.Put(&nfg, sizeof nfg);
  return start;
}

// One verdict message (NFQNL_MSG_VERDICT, or NFQNL_MSG_VERDICT_BATCH for "every id up to `id`").
// The sequence number is the packet id, so an NLMSG_ERROR names the packet it is about.
inline void PutVerdict(nl::MsgWriter& w, uint8_t msg, uint16_t queue, uint32_t id, uint32_t verdict,
                       const uint8_t* payload, uint32_t n) {
  size_t start = BeginQueueMsg(w, msg, 0, id, queue);
  nfqnl_msg_verdict_hdr vh;
  vh.verdict = htonl(verdict);
  vh.id = htonl(id);
  w.Attr(NFQA_VERDICT_HDR, &vh, sizeof vh);
  if (payload) w.Attr(NFQA_PAYLOAD, payload, n);
  w.End(start);
}

// One NFQNL_MSG_CONFIG message: everything the kernel takes in one (nfqnl_recv_config).
struct ConfigRequest {
  uint8_t command = 0;  // NFQNL_CFG_CMD_BIND / NFQNL_CFG_CMD_UNBIND, 0 = none
  bool copyParams = false;
  bool setMaxLen = false;
  uint32_t maxLen = 0;
  bool setFlags = false;
  bool failOpen = false;
};

// Copy mode: whole packets (range 0xffff, clipped by the kernel to NFQNL_MAX_COPY_RANGE). Flags: of
// FAIL_OPEN, CONNTRACK and GSO only FAIL_OPEN may be on: GSO off so the kernel segments and completes
// checksums before queueing, no conntrack info.
inline void PutConfig(nl::MsgWriter& w, const ConfigRequest& r, uint32_t seq, uint16_t queue) {
  size_t start = BeginQueueMsg(w, NFQNL_MSG_CONFIG, NLM_F_ACK, seq, queue);
  if (r.command) {
    nfqnl_msg_config_cmd cmd;
    std::memset(&cmd, 0, sizeof cmd);
    cmd.command = r.command;
    cmd.pf = htons(AF_UNSPEC);
    w.Attr(NFQA_CFG_CMD, &cmd, sizeof cmd);
  }
  if (r.copyParams) {
    nfqnl_msg_config_params params;
    params.copy_range = htonl(0xffff);
    params.copy_mode = NFQNL_COPY_PACKET;
    w.Attr(NFQA_CFG_PARAMS, &params, sizeof params);
  }
  if (r.setMaxLen) w.AttrBe32(NFQA_CFG_QUEUE_MAXLEN, r.maxLen);
  if (r.setFlags) {
    w.AttrBe32(NFQA_CFG_MASK, NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_CONNTRACK | NFQA_CFG_F_GSO);
    w.AttrBe32(NFQA_CFG_FLAGS, r.failOpen ? NFQA_CFG_F_FAIL_OPEN : 0);
  }
  w.End(start);
}

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

// Reads a packet message of which `len` bytes were received (a cut message has len < nlmsg_len).
// Promise: false, or v.hasHeader and every pointer and length in v inside msg[0, len). Unknown
// attributes are skipped; an impossible attribute length ends the walk (nl::NextAttr), and only the
// payload may be cut. Without NFQA_PACKET_HDR there is no id to give a verdict for: false.
inline bool ReadPacket(const uint8_t* msg, uint32_t len, PacketView& v) {
  v = PacketView();
  if (len < kNfHeaderLen) return false;
  uint32_t off = kNfHeaderLen;
  nl::AttrView a;
  while (nl::NextAttr(msg, len, &off, &a)) {
    if (a.Cut()) {
      // Only the payload may legitimately be cut (a receive slot smaller than the message).
      if (a.type == NFQA_PAYLOAD) {
        v.payload = a.data;
        v.payloadLen = a.len;
        v.payloadDeclared = a.declared;
        v.cut = true;
      }
      break;
    }
    switch (a.type) {
      case NFQA_PACKET_HDR:
        if (a.len >= sizeof(nfqnl_msg_packet_hdr)) {
          v.id = nl::ReadBe32(a.data);
          v.hwProtocol = static_cast<uint16_t>((a.data[4] << 8) | a.data[5]);
          v.hook = a.data[6];
          v.hasHeader = true;
        }
        break;
      case NFQA_IFINDEX_INDEV:
        if (a.len >= 4) v.indev = nl::ReadBe32(a.data);
        break;
      case NFQA_IFINDEX_OUTDEV:
        if (a.len >= 4) v.outdev = nl::ReadBe32(a.data);
        break;
      case NFQA_MARK:
        if (a.len >= 4) v.mark = nl::ReadBe32(a.data);
        break;
      case NFQA_CAP_LEN:
        if (a.len >= 4) v.capLen = nl::ReadBe32(a.data);
        break;
      case NFQA_SKB_INFO:
        if (a.len >= 4) v.skbInfo = nl::ReadBe32(a.data);
        break;
      case NFQA_PAYLOAD:
        v.payload = a.data;
        v.payloadLen = a.len;
        v.payloadDeclared = a.declared;
        break;
      default:
        break;
    }
  }
  return v.hasHeader;
}

// Returned by MinNewLength when the packet may get no new length at all.
constexpr uint32_t kNeverNewLength = 0xffffffffu;

// The shortest new length the kernel accepts for a packet of `len` bytes at p: nfqnl_mangle refuses
// (-EINVAL) to shrink a packet below its transport header offset, and nfqnl_recv_verdict then drops
// the packet without an error message. IPv4: the IHL. IPv6: 40 when the next header is a transport
// (ip6_rcv_core sets the transport offset there); with extension headers the offset may be further
// on, so no shrinking at all. Anything else: kNeverNewLength. Read before the handler ran.
inline uint32_t MinNewLength(const uint8_t* p, uint32_t len) {
  if (len < 1) return kNeverNewLength;
  uint32_t version = p[0] >> 4;
  if (version == 4) {
    uint32_t ihl = (p[0] & 0x0fu) * 4;
    return len >= 20 && ihl >= 20 ? ihl : kNeverNewLength;
  }
  if (version == 6 && len >= 40) {
    uint8_t next = p[6];
    return next == IPPROTO_TCP || next == IPPROTO_UDP || next == IPPROTO_ICMPV6 ? 40 : len;
  }
  return kNeverNewLength;
}

}  // namespace nfq
