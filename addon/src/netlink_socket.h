// The netlink socket calls both users (queue.cc: NETLINK_NETFILTER; route_mtu.cc: NETLINK_ROUTE)
// make the same way: open and bind, set options, send to the kernel with retries, receive without
// blocking, wait for readiness.
#pragma once

#include <poll.h>

#include <cstddef>
#include <cstdint>

namespace nl {

struct OpenResult {
  int fd = -1;               // -1 on failure
  int err = 0;               // errno of the failed call
  const char* syscall = "";  // which call failed: "socket", "bind" or "setsockopt"
  uint32_t portId = 0;       // the port the kernel gave the socket
};

// A non-blocking, close-on-exec netlink socket of `protocol`, bound to a port the kernel chooses and
// joined to the multicast groups in `groups` (bit g-1 for group g, as in sockaddr_nl.nl_groups).
OpenResult OpenSocket(int protocol, uint32_t groups);

// setsockopt with an int value: 0 or -errno.
int SetOption(int fd, int level, int name, int value);

// One datagram to the kernel (port 0). The transient errors (EINTR, ENOBUFS, ENOMEM, EAGAIN) are
// tried again, 4 tries in all. 0 or -errno.
int SendToKernel(int fd, const uint8_t* data, size_t len);

// One datagram into buf without blocking, EINTR retried: its length, or -errno (-EAGAIN: none).
long ReceiveNow(int fd, uint8_t* buf, size_t cap);

// poll() on one descriptor: > 0 ready, 0 timed out, -errno.
int WaitFor(int fd, short events, int timeoutMs);

}  // namespace nl
