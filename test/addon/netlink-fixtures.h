// Netlink byte fixtures for the sanitizer driver (netlink-wire-check.cc), written out by hand from
// the kernel's layouts (include/uapi/linux/netlink.h, netfilter/nfnetlink_queue.h, rtnetlink.h,
// if_link.h) and not produced by our writer, so a fixture checks the code against the kernel's
// format rather than against itself. Integers in netlink headers and rtnetlink attributes are in
// host order (little-endian here: x86_64 and arm64); nfnetlink_queue attributes are big-endian.
#pragma once

#include <cstdint>

// Laid out by hand, one field per group of bytes: clang-format would reflow the arrays.
// clang-format off
namespace fixture {

// --- Kernel to us -----------------------------------------------------------------------------

// NFQNL_MSG_PACKET for queue 3 as nfqnl_build_packet_message lays it out: packet 42 (IPv4,
// NF_INET_FORWARD), in interface 5, out interface 7, mark 256, a hardware address (not read),
// skb info CSUM_NOTVERIFIED, and a 44-byte SYN (192.0.2.1:1234 -> 198.51.100.2:80, MSS 1460).
constexpr uint8_t kPacketIpv4[] = {
    128, 0, 0, 0,  0x00, 0x03, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,  // nlmsghdr: len 128, type 0x0300, seq 0, pid 0
    2, 0, 0x00, 0x03,                                           // nfgenmsg: AF_INET, v0, res_id 3 (be)
    11, 0, 1, 0,  0, 0, 0, 42,  0x08, 0x00, 2, 0,               // NFQA_PACKET_HDR: id 42, 0x0800, hook 2, pad
    8, 0, 5, 0,  0, 0, 0, 5,                                    // NFQA_IFINDEX_INDEV 5
    8, 0, 6, 0,  0, 0, 0, 7,                                    // NFQA_IFINDEX_OUTDEV 7
    8, 0, 3, 0,  0, 0, 1, 0,                                    // NFQA_MARK 256
    16, 0, 9, 0,  0, 6, 0, 0,  2, 0, 0, 0, 0, 1, 0, 0,          // NFQA_HWADDR: len 6, 02:00:00:00:00:01
    8, 0, 14, 0,  0, 0, 0, 4,                                   // NFQA_SKB_INFO: NFQA_SKB_CSUM_NOTVERIFIED
    48, 0, 10, 0,                                               // NFQA_PAYLOAD, 44 bytes:
    0x45, 0, 0, 44,  0, 1, 0x40, 0,  64, 6, 0, 0,  192, 0, 2, 1,  198, 51, 100, 2,  // IPv4, DF, TCP
    0x04, 0xd2, 0, 80,  0, 0, 0, 1,  0, 0, 0, 0,  0x60, 0x02, 0xff, 0xff,  0, 0, 0, 0,  // SYN, doff 6
    2, 4, 0x05, 0xb4,                                                                   // MSS 1460
};

// NFQNL_MSG_PACKET for queue 3: packet 43 (IPv6, NF_INET_PRE_ROUTING), in interface 2, a copy of 60
// bytes of a 1500-byte packet (NFQA_CAP_LEN), skb info CSUMNOTREADY | GSO.
constexpr uint8_t kPacketIpv6Cut[] = {
    120, 0, 0, 0,  0x00, 0x03, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,  // nlmsghdr: len 120
    10, 0, 0x00, 0x03,                                          // nfgenmsg: AF_INET6, v0, res_id 3
    11, 0, 1, 0,  0, 0, 0, 43,  0x86, 0xdd, 0, 0,               // NFQA_PACKET_HDR: id 43, 0x86dd, hook 0
    8, 0, 5, 0,  0, 0, 0, 2,                                    // NFQA_IFINDEX_INDEV 2
    8, 0, 13, 0,  0, 0, 0x05, 0xdc,                             // NFQA_CAP_LEN 1500
    8, 0, 14, 0,  0, 0, 0, 3,                                   // NFQA_SKB_INFO: CSUMNOTREADY | GSO
    64, 0, 10, 0,                                               // NFQA_PAYLOAD, 60 bytes:
    0x60, 0, 0, 0,  0x05, 0xb4, 6, 64,                          // IPv6, payload 1460, TCP, hop limit 64
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,  // 2001:db8::1
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,  // 2001:db8::2
    0x04, 0xd2, 0, 80,  0, 0, 0, 1,  0, 0, 0, 1,  0x50, 0x10, 0xff, 0xff,  0, 0, 0, 0,  // ACK, doff 5
};

// NLMSG_ERROR for packet 42's verdict (ENOENT), capped (NETLINK_CAP_ACK: only the header echoed), with
// one extended-ack attribute (NLMSGERR_ATTR_OFFS 20).
constexpr uint8_t kVerdictError[] = {
    44, 0, 0, 0,  2, 0, 0x00, 0x03,  42, 0, 0, 0,  0, 0, 0, 0,  // nlmsghdr: len 44, NLMSG_ERROR, CAPPED|ACK_TLVS
    0xfe, 0xff, 0xff, 0xff,                                     // error -2
    32, 0, 0, 0,  0x01, 0x03, 0x01, 0,  42, 0, 0, 0,  0, 0, 0, 0,  // echoed: len 32, type 0x0301, REQUEST, seq 42
    8, 0, 3, 0,  20, 0, 0, 0,                                   // NLMSGERR_ATTR_OFFS 20
};

// The acknowledgement of config message 9 (error 0).
constexpr uint8_t kConfigAck[] = {
    36, 0, 0, 0,  2, 0, 0x00, 0x01,  9, 0, 0, 0,  0, 0, 0, 0,   // nlmsghdr: len 36, NLMSG_ERROR, CAPPED
    0, 0, 0, 0,                                                 // error 0
    64, 0, 0, 0,  0x02, 0x03, 0x05, 0,  9, 0, 0, 0,  0, 0, 0, 0,  // echoed: len 64, 0x0302, REQUEST|ACK, seq 9
};

// RTM_NEWROUTE answering request 5: unicast, out interface 7, RTA_METRICS with RTAX_MTU 1400 (a
// cached PMTU exception: RTM_F_CLONED).
constexpr uint8_t kRouteWithMtu[] = {
    80, 0, 0, 0,  24, 0, 0, 0,  5, 0, 0, 0,  0, 0, 0, 0,        // nlmsghdr: len 80, RTM_NEWROUTE, seq 5
    2, 32, 0, 0,  254, 0, 0, 1,  0, 0x02, 0, 0,                 // rtmsg: AF_INET, /32, main, RTN_UNICAST, CLONED
    8, 0, 15, 0,  254, 0, 0, 0,                                 // RTA_TABLE 254
    8, 0, 1, 0,  198, 51, 100, 2,                               // RTA_DST
    8, 0, 4, 0,  7, 0, 0, 0,                                    // RTA_OIF 7
    8, 0, 7, 0,  192, 0, 2, 1,                                  // RTA_PREFSRC
    12, 0, 8, 0,  8, 0, 2, 0,  0x78, 0x05, 0, 0,                // RTA_METRICS { RTAX_MTU 1400 }
    8, 0, 25, 0,  0, 0, 0, 0,                                   // RTA_UID 0
};

// RTM_NEWROUTE answering request 6: unicast via interface 3, no metrics (the MTU is the link's).
constexpr uint8_t kRouteNoMtu[] = {
    44, 0, 0, 0,  24, 0, 0, 0,  6, 0, 0, 0,  0, 0, 0, 0,        // nlmsghdr: len 44
    2, 32, 0, 0,  254, 0, 0, 1,  0, 0, 0, 0,                    // rtmsg: RTN_UNICAST
    8, 0, 1, 0,  198, 51, 100, 2,                               // RTA_DST
    8, 0, 4, 0,  3, 0, 0, 0,                                    // RTA_OIF 3
};

// RTM_NEWROUTE answering request 7 with an unreachable route (RTN_UNREACHABLE): no MTU.
constexpr uint8_t kRouteUnreachable[] = {
    36, 0, 0, 0,  24, 0, 0, 0,  7, 0, 0, 0,  0, 0, 0, 0,        // nlmsghdr: len 36
    2, 32, 0, 0,  254, 0, 0, 7,  0, 0, 0, 0,                    // rtmsg: RTN_UNREACHABLE
    8, 0, 1, 0,  203, 0, 113, 9,                                // RTA_DST
};

// RTM_NEWLINK answering request 8: interface 7 "veth0", txqlen 1000, MTU 1500.
constexpr uint8_t kLink[] = {
    60, 0, 0, 0,  16, 0, 0, 0,  8, 0, 0, 0,  0, 0, 0, 0,        // nlmsghdr: len 60, RTM_NEWLINK
    0, 0, 1, 0,  7, 0, 0, 0,  0x43, 0x10, 1, 0,  0, 0, 0, 0,    // ifinfomsg: ARPHRD_ETHER, index 7, UP|RUNNING...
    10, 0, 3, 0,  'v', 'e', 't', 'h', '0', 0, 0, 0,             // IFLA_IFNAME "veth0"
    8, 0, 13, 0,  0xe8, 0x03, 0, 0,                             // IFLA_TXQLEN 1000
    8, 0, 4, 0,  0xdc, 0x05, 0, 0,                              // IFLA_MTU 1500
};

// --- Us to the kernel -------------------------------------------------------------------------

// NFQNL_MSG_VERDICT for queue 3: accept packet 42 unchanged.
constexpr uint8_t kVerdictAccept[] = {
    32, 0, 0, 0,  0x01, 0x03, 0x01, 0,  42, 0, 0, 0,  0, 0, 0, 0,  // nlmsghdr: len 32, 0x0301, REQUEST, seq = id
    0, 0, 0x00, 0x03,                                              // nfgenmsg: AF_UNSPEC, v0, queue 3
    12, 0, 2, 0,  0, 0, 0, 1,  0, 0, 0, 42,                        // NFQA_VERDICT_HDR: NF_ACCEPT, id 42
};

// NFQNL_MSG_VERDICT for queue 3: accept packet 42 with a new 5-byte payload (padded to 8).
constexpr uint8_t kVerdictPayload[] = {
    44, 0, 0, 0,  0x01, 0x03, 0x01, 0,  42, 0, 0, 0,  0, 0, 0, 0,
    0, 0, 0x00, 0x03,
    12, 0, 2, 0,  0, 0, 0, 1,  0, 0, 0, 42,
    9, 0, 10, 0,  0x45, 0x00, 0x00, 0x05, 0xee, 0, 0, 0,           // NFQA_PAYLOAD, 5 bytes, 3 of padding
};

// NFQNL_MSG_VERDICT_BATCH for queue 3: drop every queued packet up to id 0x01020304.
constexpr uint8_t kVerdictBatchDrop[] = {
    32, 0, 0, 0,  0x03, 0x03, 0x01, 0,  4, 3, 2, 1,  0, 0, 0, 0,   // 0x0303, seq 0x01020304
    0, 0, 0x00, 0x03,
    12, 0, 2, 0,  0, 0, 0, 0,  1, 2, 3, 4,                         // NF_DROP, id 0x01020304
};

// NFQNL_MSG_CONFIG 1 for queue 3, acknowledged: bind, copy whole packets, queue length 4096, of
// FAIL_OPEN | CONNTRACK | GSO only FAIL_OPEN on.
constexpr uint8_t kConfigBind[] = {
    64, 0, 0, 0,  0x02, 0x03, 0x05, 0,  1, 0, 0, 0,  0, 0, 0, 0,   // 0x0302, REQUEST|ACK, seq 1
    0, 0, 0x00, 0x03,
    8, 0, 1, 0,  1, 0, 0, 0,                                       // NFQA_CFG_CMD: BIND, pf AF_UNSPEC
    9, 0, 2, 0,  0, 0, 0xff, 0xff, 2, 0, 0, 0,                     // NFQA_CFG_PARAMS: range 0xffff, COPY_PACKET
    8, 0, 3, 0,  0, 0, 0x10, 0,                                    // NFQA_CFG_QUEUE_MAXLEN 4096
    8, 0, 4, 0,  0, 0, 0, 7,                                       // NFQA_CFG_MASK
    8, 0, 5, 0,  0, 0, 0, 1,                                       // NFQA_CFG_FLAGS: FAIL_OPEN
};

// RTM_GETROUTE 7: input lookup of 192.0.2.1 -> 198.51.100.2 arriving on interface 5 with mark 0x10.
constexpr uint8_t kRouteRequestInput[] = {
    60, 0, 0, 0,  26, 0, 0x01, 0,  7, 0, 0, 0,  0, 0, 0, 0,        // RTM_GETROUTE, REQUEST
    2, 32, 32, 0,  0, 0, 0, 0,  0, 0, 0, 0,                        // rtmsg: AF_INET, /32 both
    8, 0, 1, 0,  198, 51, 100, 2,                                  // RTA_DST
    8, 0, 2, 0,  192, 0, 2, 1,                                     // RTA_SRC
    8, 0, 3, 0,  5, 0, 0, 0,                                       // RTA_IIF 5
    8, 0, 16, 0,  0x10, 0, 0, 0,                                   // RTA_MARK 0x10
};

// RTM_GETROUTE 9: output lookup of 2001:db8::2 held to interface 4, no source, no mark.
constexpr uint8_t kRouteRequestOutput6[] = {
    56, 0, 0, 0,  26, 0, 0x01, 0,  9, 0, 0, 0,  0, 0, 0, 0,
    10, 128, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,                       // rtmsg: AF_INET6, /128
    20, 0, 1, 0,  0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,  // RTA_DST
    8, 0, 4, 0,  4, 0, 0, 0,                                       // RTA_OIF 4
};

// RTM_GETLINK 8 for interface 7 without statistics.
constexpr uint8_t kLinkRequest[] = {
    40, 0, 0, 0,  18, 0, 0x01, 0,  8, 0, 0, 0,  0, 0, 0, 0,        // RTM_GETLINK, REQUEST
    0, 0, 0, 0,  7, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,             // ifinfomsg: AF_UNSPEC, index 7
    8, 0, 29, 0,  8, 0, 0, 0,                                      // IFLA_EXT_MASK: RTEXT_FILTER_SKIP_STATS
};

}  // namespace fixture
// clang-format on
