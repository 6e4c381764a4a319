// rtnetlink messages as bytes for the path-MTU lookups (route_mtu.cc): the RTM_GETROUTE and
// RTM_GETLINK requests we send and the readers of their answers. No sockets and no Node:
// test/addon/ compiles this into the sanitizer driver.
#pragma once

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "netlink_wire.h"

namespace pmtu {

// Largest request: headers, then destination and source (16 bytes each for IPv6), input or output
// interface, mark.
constexpr uint32_t kMaxRequest = NLMSG_LENGTH(sizeof(rtmsg)) + 2 * RTA_SPACE(16) + 2 * RTA_SPACE(4);

// One RTM_GETROUTE for `alen`-byte addresses of `family`. With RTA_IIF the kernel runs the input
// (forwarding) lookup and ignores RTA_OIF; without it, the output lookup, held to the interface the
// kernel already chose for the packet. src may be null; iif, oif and mark 0 for none.
inline void PutRouteRequest(nl::MsgWriter& w, uint32_t seq, uint8_t family, const uint8_t* dst, const uint8_t* src,
                            uint32_t alen, uint32_t iif, uint32_t oif, uint32_t mark) {
  size_t start = w.Begin(RTM_GETROUTE, 0, seq);
  rtmsg rtm;
  std::memset(&rtm, 0, sizeof rtm);
  rtm.rtm_family = family;
  rtm.rtm_dst_len = static_cast<uint8_t>(alen * 8);
  if (src) rtm.rtm_src_len = static_cast<uint8_t>(alen * 8);
  w.Put(&rtm, sizeof rtm);
  w.Attr(RTA_DST, dst, alen);
  if (src) w.Attr(RTA_SRC, src, alen);
  if (iif)
    w.AttrU32(RTA_IIF, iif);
  else if (oif)
    w.AttrU32(RTA_OIF, oif);
  if (mark) w.AttrU32(RTA_MARK, mark);
  w.End(start);
}

// One RTM_GETLINK for interface `ifindex`, without statistics (a smaller answer; only IFLA_MTU is read).
inline void PutLinkRequest(nl::MsgWriter& w, uint32_t seq, uint32_t ifindex) {
  size_t start = w.Begin(RTM_GETLINK, 0, seq);
  ifinfomsg ifi;
  std::memset(&ifi, 0, sizeof ifi);
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = static_cast<int>(ifindex);
  w.Put(&ifi, sizeof ifi);
  w.AttrU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  w.End(start);
}

// What an answer to RTM_GETROUTE says.
struct RouteAnswer {
  uint32_t mtu = 0;  // RTA_METRICS/RTAX_MTU: a cached PMTU exception or the route's mtu metric, 0 if neither
  uint32_t oif = 0;  // RTA_OIF, 0 if none
};

// Reads an answer to RTM_GETROUTE (an nl::Message: its `have` bytes only, should it have been cut).
// True for a unicast or local route; false for an error, another message, or an unreachable,
// blackhole or prohibit route.
inline bool ReadRouteAnswer(const nl::Message& m, RouteAnswer* r) {
  *r = RouteAnswer();
  constexpr uint32_t kFixed = NLMSG_LENGTH(sizeof(rtmsg));
  if (m.hdr->nlmsg_type != RTM_NEWROUTE || m.have < kFixed) return false;
  rtmsg rtm;
  std::memcpy(&rtm, m.Bytes() + NLMSG_HDRLEN, sizeof rtm);
  if (rtm.rtm_type != RTN_UNICAST && rtm.rtm_type != RTN_LOCAL) return false;
  const uint8_t* attrs = m.Bytes() + NLMSG_SPACE(sizeof(rtmsg));
  uint32_t len = m.have - kFixed;
  uint32_t off = 0;
  nl::AttrView a;
  while (nl::NextAttr(attrs, len, &off, &a) && !a.Cut()) {
    if (a.type == RTA_OIF) {
      r->oif = nl::ReadU32(a);
    } else if (a.type == RTA_METRICS) {
      uint32_t moff = 0;
      nl::AttrView metric;
      while (nl::NextAttr(a.data, a.len, &moff, &metric) && !metric.Cut()) {
        if (metric.type == RTAX_MTU) r->mtu = nl::ReadU32(metric);
      }
    }
  }
  return true;
}

// Reads an answer to RTM_GETLINK: the interface's IFLA_MTU, 0 when the answer has none.
inline uint32_t ReadLinkMtu(const nl::Message& m) {
  constexpr uint32_t kFixed = NLMSG_LENGTH(sizeof(ifinfomsg));
  if (m.hdr->nlmsg_type != RTM_NEWLINK || m.have < kFixed) return 0;
  const uint8_t* attrs = m.Bytes() + NLMSG_SPACE(sizeof(ifinfomsg));
  uint32_t len = m.have - kFixed;
  uint32_t off = 0;
  nl::AttrView a;
  while (nl::NextAttr(attrs, len, &off, &a) && !a.Cut()) {
    if (a.type == IFLA_MTU) return nl::ReadU32(a);
  }
  return 0;
}

}  // namespace pmtu
