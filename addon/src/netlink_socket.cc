#include "netlink_socket.h"

#include <errno.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace nl {

namespace {

constexpr int kSendTries = 4;

OpenResult Failed(int fd, const char* syscall) {
  OpenResult r;
  r.err = errno;
  r.syscall = syscall;
  if (fd >= 0) close(fd);
  return r;
}

}  // namespace

OpenResult OpenSocket(int protocol, uint32_t groups) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
  if (fd < 0) return Failed(-1, "socket");
  sockaddr_nl sa;
  std::memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return Failed(fd, "bind");
  // Groups one by one: nl_groups in bind() reaches only the first 32, and says nothing on failure.
  for (uint32_t g = 1; g < 32; ++g) {
    if ((groups & (1u << (g - 1))) && SetOption(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, static_cast<int>(g)) != 0)
      return Failed(fd, "setsockopt");
  }
  OpenResult r;
  r.fd = fd;
  socklen_t salen = sizeof sa;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &salen) == 0) r.portId = sa.nl_pid;
  return r;
}

int SetOption(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof value) == 0 ? 0 : -errno;
}

int SendToKernel(int fd, const uint8_t* data, size_t len) {
  sockaddr_nl kernel;
  std::memset(&kernel, 0, sizeof kernel);
  kernel.nl_family = AF_NETLINK;
  for (int attempt = 0; attempt < kSendTries; ++attempt) {
    ssize_t n = sendto(fd, data, len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
    if (n >= 0) return 0;
    if (errno != EINTR && errno != ENOBUFS && errno != ENOMEM && errno != EAGAIN) return -errno;
  }
  return -errno;
}

long ReceiveNow(int fd, uint8_t* buf, size_t cap) {
  for (;;) {
    ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);
    if (n >= 0) return static_cast<long>(n);
    if (errno != EINTR) return -errno;
  }
}

int WaitFor(int fd, short events, int timeoutMs) {
  pollfd p{fd, events, 0};
  int rc = poll(&p, 1, timeoutMs);
  return rc < 0 ? -errno : rc;
}

}  // namespace nl
