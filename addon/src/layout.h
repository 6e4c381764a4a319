// The descriptor table shared with JavaScript: one row of kStride uint32 per packet of a batch.
// src/queue/binding.ts holds the same numbers; the loader compares them with the `layout` export.
#pragma once

#include <cstdint>

namespace nfq {

constexpr uint32_t kId = 0;          // packet id (kernel's, for logs only: C++ keeps its own copy for the verdict)
constexpr uint32_t kOffset = 1;      // byte offset of the packet (IP header first) in the shared buffer
constexpr uint32_t kLength = 2;      // bytes of the packet in the buffer
constexpr uint32_t kOrigLength = 3;  // length of the packet in the kernel; > kLength when the copy was truncated
constexpr uint32_t kHook = 4;        // netfilter hook (NF_INET_PRE_ROUTING = 0 ... NF_INET_POST_ROUTING = 4)
constexpr uint32_t kFamily = 5;      // 4 or 6 (from the packet's hw protocol), 0 if neither
constexpr uint32_t kIndev = 6;       // input interface index, 0 if none
constexpr uint32_t kOutdev = 7;      // output interface index, 0 if none
constexpr uint32_t kMark = 8;        // skb mark
constexpr uint32_t kFlags = 9;       // kFlag* bits
constexpr uint32_t kVerdict = 10;    // written by JS: kVerdictDrop or kVerdictAccept (pre-filled: accept)
constexpr uint32_t kNewLength = 11;  // written by JS: 0 = unchanged, else the packet's new length (bytes at kOffset)
constexpr uint32_t kStride = 16;     // 12..15 reserved; 16 x 4 bytes = one cache line per packet

constexpr uint32_t kFlagTruncated = 1u << 0;     // the copy is shorter than the packet: the packet cannot be modified
constexpr uint32_t kFlagCsumNotReady = 1u << 1;  // NFQA_SKB_CSUMNOTREADY: checksum left to the NIC (not with GSO off)
constexpr uint32_t kFlagCsumNotVerified = 1u << 2;  // NFQA_SKB_CSUM_NOTVERIFIED
constexpr uint32_t kFlagGso = 1u << 3;              // NFQA_SKB_GSO

constexpr uint32_t kVerdictDrop = 0;    // NF_DROP
constexpr uint32_t kVerdictAccept = 1;  // NF_ACCEPT
// Writable bytes guaranteed after every packet in the buffer, so a handler can grow a packet in place
// (an MSS option insert adds 4 bytes).
constexpr uint32_t kTailroom = 64;
// Packets start at offsets aligned to this.
constexpr uint32_t kPacketAlign = 8;

}  // namespace nfq
