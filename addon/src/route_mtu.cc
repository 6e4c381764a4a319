// Path-MTU lookups over rtnetlink for clamp-to-pmtu.
//
// What the kernel's TCPMSS target uses (net/netfilter/xt_TCPMSS.c, tcpmss_mangle_packet): dst_mtu() of
// the packet's route, and of the route back to its source (tcpmss_reverse_mtu). dst_mtu() is the
// route's PMTU exception if one is cached (learned from ICMP Fragmentation Needed / Packet Too Big),
// else the route's `mtu` metric, else the output device's MTU. RTM_GETROUTE runs the same lookup and
// its answer carries the first two as RTA_METRICS/RTAX_MTU (rt_fill_info in net/ipv4/route.c puts the
// exception's rt_pmtu there; rt6_fill_node puts the exception route's metrics); without it the MTU is
// the output interface's (RTA_OIF), asked with RTM_GETLINK and cached here per interface.
//
// Changes arrive on a second socket subscribed to link and route groups, read with uv_poll: each
// batch bumps a generation word that JavaScript owns, so its cache drops stale answers. PMTU
// exceptions are not announced (the kernel sends no RTM_NEWROUTE for them), so JavaScript also ages
// entries out.
#include "route_mtu.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace pmtu {

namespace {

constexpr size_t kRxBytes = 32 * 1024;
constexpr uint32_t kIpv4Len = 4;
constexpr uint32_t kIpv6Len = 16;
// Answers to requests that timed out are read and thrown away by the next request, up to this many.
constexpr int kMaxStale = 64;

// A request: header, family message, then attributes; sized for the largest (route, IPv6, with oif).
struct RouteRequest {
  nlmsghdr nlh;
  rtmsg rtm;
  uint8_t attrs[2 * RTA_SPACE(16)];
};

struct LinkRequest {
  nlmsghdr nlh;
  ifinfomsg ifi;
  uint8_t attrs[RTA_SPACE(4)];
};

// Appends an attribute to the request in msg (cap bytes; the request types below are sized so it fits).
void PutAttr(uint8_t* msg, size_t cap, uint16_t type, const void* data, uint16_t len) {
  nlmsghdr nlh;
  std::memcpy(&nlh, msg, sizeof nlh);
  size_t at = NLMSG_ALIGN(nlh.nlmsg_len);
  if (at + RTA_SPACE(len) > cap) return;
  rtattr rta;
  rta.rta_type = type;
  rta.rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
  std::memcpy(msg + at, &rta, sizeof rta);
  std::memcpy(msg + at + RTA_LENGTH(0), data, len);
  nlh.nlmsg_len = static_cast<uint32_t>(at + RTA_ALIGN(rta.rta_len));
  std::memcpy(msg, &nlh, sizeof nlh);
}

uint32_t ReadU32(const rtattr* rta) {
  uint32_t v = 0;
  if (RTA_PAYLOAD(rta) >= sizeof v) std::memcpy(&v, RTA_DATA(rta), sizeof v);
  return v;
}

int SetInt(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof value) == 0 ? 0 : -errno;
}

int OpenRoute(uint32_t groups) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
  if (fd < 0) return -errno;
  sockaddr_nl sa;
  std::memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  for (uint32_t g = 1; g < 32; ++g) {
    if ((groups & (1u << (g - 1))) && SetInt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, static_cast<int>(g)) != 0) {
      int err = errno;
      close(fd);
      return -err;
    }
  }
  return fd;
}

}  // namespace

Napi::Function RouteMtu::Define(Napi::Env env) {
  return DefineClass(env, "RouteMtu",
                     {
                         InstanceMethod<&RouteMtu::Route>("route"),
                         InstanceMethod<&RouteMtu::LinkMtu>("linkMtu"),
                         InstanceMethod<&RouteMtu::Close>("close"),
                         InstanceMethod<&RouteMtu::GetStats>("stats"),
                         InstanceAccessor<&RouteMtu::IsOpen>("isOpen"),
                     });
}

// new RouteMtu(state: Uint32Array, options { timeoutMs })
// TypeScript validates values (src/pmtu/binding.ts); here only types, so a wrong call is a TypeError.
RouteMtu::RouteMtu(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RouteMtu>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array ||
      info[0].As<Napi::Uint32Array>().ElementLength() < 1 || (info.Length() > 1 && !info[1].IsObject() && !info[1].IsUndefined())) {
    Napi::TypeError::New(env, "RouteMtu(state: Uint32Array of length >= 1, options?): bad arguments")
        .ThrowAsJavaScriptException();
    return;
  }
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Value t = info[1].As<Napi::Object>().Get("timeoutMs");
    if (t.IsNumber()) timeoutMs_ = static_cast<int>(t.As<Napi::Number>().Uint32Value());
  }
  Napi::Uint32Array state = info[0].As<Napi::Uint32Array>();
  rx_.reset(new uint8_t[kRxBytes]);

  reqFd_ = OpenRoute(0);
  if (reqFd_ >= 0) {
    notifyFd_ = OpenRoute((1u << (RTNLGRP_LINK - 1)) | (1u << (RTNLGRP_IPV4_ROUTE - 1)) |
                          (1u << (RTNLGRP_IPV6_ROUTE - 1)));
  }
  int err = reqFd_ < 0 ? -reqFd_ : notifyFd_ < 0 ? -notifyFd_ : 0;
  if (err == 0) err = StartWatcher(env);
  if (err != 0) {
    if (reqFd_ >= 0) close(reqFd_);
    if (notifyFd_ >= 0) close(notifyFd_);
    reqFd_ = notifyFd_ = -1;
    Napi::Error e = Napi::Error::New(env, std::string("cannot open rtnetlink sockets: ") + strerror(err));
    e.Set("code", "PMTU_ERR_SOCKET");
    e.Set("errno", Napi::Number::New(env, err));
    e.ThrowAsJavaScriptException();
    return;
  }
  state_ = state.Data();
  stateRef_ = Napi::Persistent(static_cast<Napi::Object>(state));
  open_ = true;
}

// Watches notifyFd_ with a uv_poll whose close the environment waits for. Returns 0 or an errno.
int RouteMtu::StartWatcher(napi_env env) {
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return EINVAL;
  box_ = new PollBox;
  int rc = uv_poll_init(loop, &box_->poll, notifyFd_);
  if (rc != 0) {
    delete box_;  // never initialised: libuv does not know it
    box_ = nullptr;
    return -rc;
  }
  box_->poll.data = box_;
  box_->owner = this;
  // An auxiliary watcher: it never keeps the process alive on its own.
  uv_unref(reinterpret_cast<uv_handle_t*>(&box_->poll));
  // Without the hook a worker's teardown would unload the addon before OnPollClosed runs (the crash
  // this replaces: a synchronous hook called uv_close, and libuv later called into unmapped code).
  if (napi_add_async_cleanup_hook(env, &RouteMtu::OnEnvCleanup, box_, &box_->hook) != napi_ok) {
    box_->hook = nullptr;
    CloseWatcher();
    return EINVAL;
  }
  rc = uv_poll_start(&box_->poll, UV_READABLE, &RouteMtu::OnPoll);
  if (rc != 0) {
    CloseWatcher();
    return -rc;
  }
  return 0;
}

RouteMtu::~RouteMtu() {
  // Garbage collection or environment teardown. After close() or the cleanup hook this does
  // nothing; otherwise the watcher's close is started here and the hook still waits for it.
  Shutdown();
}

void RouteMtu::Shutdown() {
  if (!open_) return;
  open_ = false;
  CloseWatcher();
  if (reqFd_ >= 0) close(reqFd_);
  if (notifyFd_ >= 0) close(notifyFd_);
  reqFd_ = notifyFd_ = -1;
  state_ = nullptr;
}

// Stops the watcher and hands the box to libuv; OnPollClosed frees it. At most once per box: box_ is
// cleared here, and the box forgets its owner, so nothing reaches this object through it afterwards.
// The socket is closed only after this (uv_poll must stop before its fd goes).
void RouteMtu::CloseWatcher() {
  if (!box_) return;
  box_->owner = nullptr;
  uv_poll_stop(&box_->poll);
  uv_close(reinterpret_cast<uv_handle_t*>(&box_->poll), &RouteMtu::OnPollClosed);
  box_ = nullptr;
}

// Environment teardown (process exit, worker exit or terminate()): close like close() does. The
// environment then waits until the poll handle's close callback removes this hook.
void RouteMtu::OnEnvCleanup(napi_async_cleanup_hook_handle /*handle*/, void* arg) {
  PollBox* box = static_cast<PollBox*>(arg);
  if (box->owner) box->owner->Shutdown();  // else a close is already under way
}

void RouteMtu::OnPollClosed(uv_handle_t* handle) {
  PollBox* box = static_cast<PollBox*>(handle->data);
  if (box->hook) napi_remove_async_cleanup_hook(box->hook);
  delete box;
}

void RouteMtu::Bump() {
  if (state_) state_[0]++;
  linkNext_ = 0;
  std::memset(linkIndex_, 0, sizeof linkIndex_);
}

void RouteMtu::OnPoll(uv_poll_t* handle, int status, int /*events*/) {
  RouteMtu* r = static_cast<PollBox*>(handle->data)->owner;
  if (!r) return;
  if (status < 0) {
    // An error on the socket: say that anything may have changed.
    r->stats_.overruns++;
    r->Bump();
    return;
  }
  r->DrainNotifications();
}

// Any route or link message may change a path MTU: the content is not inspected, one bump per wake-up.
void RouteMtu::DrainNotifications() {
  bool changed = false;
  for (;;) {
    ssize_t n = recv(notifyFd_, rx_.get(), kRxBytes, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {  // the socket overflowed: events were lost
        stats_.overruns++;
        changed = true;
        continue;
      }
      break;  // EAGAIN: drained
    }
    if (n == 0) break;
    uint32_t len = static_cast<uint32_t>(n);
    for (const nlmsghdr* nlh = reinterpret_cast<const nlmsghdr*>(rx_.get()); NLMSG_OK(nlh, len);
         nlh = NLMSG_NEXT(nlh, len)) {
      switch (nlh->nlmsg_type) {
        case RTM_NEWLINK:
        case RTM_DELLINK:
        case RTM_NEWROUTE:
        case RTM_DELROUTE:
          stats_.notifications++;
          changed = true;
          break;
        default:
          break;
      }
    }
  }
  if (changed) Bump();
}

int RouteMtu::Transact(uint8_t* req, uint32_t len) {
  nlmsghdr* q = reinterpret_cast<nlmsghdr*>(req);
  q->nlmsg_seq = ++seq_;
  sockaddr_nl kernel;
  std::memset(&kernel, 0, sizeof kernel);
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  do {
    sent = sendto(reqFd_, req, len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    stats_.sendErrors++;
    return -errno;
  }
  int stale = 0;
  for (;;) {
    ssize_t n = recv(reqFd_, rx_.get(), kRxBytes, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{reqFd_, POLLIN, 0};
      int rc = poll(&p, 1, timeoutMs_);
      if (rc == 0) {
        stats_.timeouts++;
        return -ETIMEDOUT;
      }
      if (rc < 0 && errno != EINTR) {
        stats_.sendErrors++;
        return -errno;
      }
      continue;
    }
    if (n < 0) {
      stats_.sendErrors++;
      return -errno;
    }
    const nlmsghdr* nlh = reinterpret_cast<const nlmsghdr*>(rx_.get());
    if (NLMSG_OK(nlh, static_cast<uint32_t>(n)) && nlh->nlmsg_seq == q->nlmsg_seq) return static_cast<int>(n);
    if (++stale > kMaxStale) {
      stats_.sendErrors++;
      return -EPROTO;
    }
  }
}

// The MTU of the route towards addr (PMTU exception, else mtu metric, else output interface), 0 when
// there is none: no route, an unreachable/blackhole/prohibit route, or no answer.
uint32_t RouteMtu::QueryRoute(int family, const uint8_t* addr, uint32_t oif) {
  RouteRequest req;
  std::memset(&req, 0, sizeof req);
  uint16_t alen = static_cast<uint16_t>(family == AF_INET ? kIpv4Len : kIpv6Len);
  req.nlh.nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
  req.nlh.nlmsg_type = RTM_GETROUTE;
  req.nlh.nlmsg_flags = NLM_F_REQUEST;
  req.rtm.rtm_family = static_cast<uint8_t>(family);
  req.rtm.rtm_dst_len = static_cast<uint8_t>(alen * 8);
  PutAttr(reinterpret_cast<uint8_t*>(&req), sizeof req, RTA_DST, addr, alen);
  // The interface the kernel already chose for this packet: the lookup then follows the same route.
  if (oif) PutAttr(reinterpret_cast<uint8_t*>(&req), sizeof req, RTA_OIF, &oif, sizeof oif);
  stats_.routeRequests++;
  int n = Transact(reinterpret_cast<uint8_t*>(&req), req.nlh.nlmsg_len);
  if (n < 0) return 0;
  const nlmsghdr* nlh = reinterpret_cast<const nlmsghdr*>(rx_.get());
  if (nlh->nlmsg_type == NLMSG_ERROR || nlh->nlmsg_type != RTM_NEWROUTE ||
      nlh->nlmsg_len < NLMSG_LENGTH(sizeof(rtmsg))) {
    stats_.routeErrors++;
    return 0;
  }
  const rtmsg* rtm = static_cast<const rtmsg*>(NLMSG_DATA(nlh));
  if (rtm->rtm_type != RTN_UNICAST && rtm->rtm_type != RTN_LOCAL) {
    stats_.routeErrors++;
    return 0;
  }
  uint32_t mtu = 0;
  uint32_t outIf = 0;
  // Walk only what arrived, should the answer have been cut at kRxBytes.
  int alen2 = static_cast<int>(std::min<uint32_t>(nlh->nlmsg_len, static_cast<uint32_t>(n))) -
              static_cast<int>(NLMSG_LENGTH(sizeof(rtmsg)));
  for (const rtattr* rta = RTM_RTA(rtm); RTA_OK(rta, alen2); rta = RTA_NEXT(rta, alen2)) {
    if (rta->rta_type == RTA_OIF) {
      outIf = ReadU32(rta);
    } else if (rta->rta_type == RTA_METRICS) {
      int mlen = static_cast<int>(RTA_PAYLOAD(rta));
      for (const rtattr* m = static_cast<const rtattr*>(RTA_DATA(rta)); RTA_OK(m, mlen); m = RTA_NEXT(m, mlen)) {
        if (m->rta_type == RTAX_MTU) mtu = ReadU32(m);
      }
    }
  }
  if (mtu == 0 && outIf != 0) mtu = CachedLinkMtu(outIf);
  if (mtu == 0) stats_.routeNoMtu++;
  return mtu;
}

uint32_t RouteMtu::CachedLinkMtu(uint32_t ifindex) {
  for (uint32_t i = 0; i < linkNext_; ++i) {
    if (linkIndex_[i] == ifindex) return linkMtu_[i];
  }
  uint32_t mtu = QueryLink(ifindex);
  if (mtu != 0) {
    uint32_t slot = linkNext_ < kLinkSlots ? linkNext_++ : ifindex % kLinkSlots;
    linkIndex_[slot] = ifindex;
    linkMtu_[slot] = mtu;
  }
  return mtu;
}

uint32_t RouteMtu::QueryLink(uint32_t ifindex) {
  LinkRequest req;
  std::memset(&req, 0, sizeof req);
  req.nlh.nlmsg_len = NLMSG_LENGTH(sizeof(ifinfomsg));
  req.nlh.nlmsg_type = RTM_GETLINK;
  req.nlh.nlmsg_flags = NLM_F_REQUEST;
  req.ifi.ifi_family = AF_UNSPEC;
  req.ifi.ifi_index = static_cast<int>(ifindex);
  uint32_t mask = RTEXT_FILTER_SKIP_STATS;  // a smaller answer; only IFLA_MTU is read
  PutAttr(reinterpret_cast<uint8_t*>(&req), sizeof req, IFLA_EXT_MASK, &mask, sizeof mask);
  stats_.linkRequests++;
  int n = Transact(reinterpret_cast<uint8_t*>(&req), req.nlh.nlmsg_len);
  if (n < 0) {
    stats_.linkErrors++;
    return 0;
  }
  const nlmsghdr* nlh = reinterpret_cast<const nlmsghdr*>(rx_.get());
  if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) {
    stats_.linkErrors++;
    return 0;
  }
  const ifinfomsg* ifi = static_cast<const ifinfomsg*>(NLMSG_DATA(nlh));
  // The answer may have been cut at kRxBytes: walk only what arrived.
  int alen = static_cast<int>(std::min<uint32_t>(nlh->nlmsg_len, static_cast<uint32_t>(n))) -
             static_cast<int>(NLMSG_LENGTH(sizeof(ifinfomsg)));
  for (const rtattr* rta = IFLA_RTA(ifi); RTA_OK(rta, alen); rta = RTA_NEXT(rta, alen)) {
    if (rta->rta_type == IFLA_MTU) return ReadU32(rta);
  }
  stats_.linkErrors++;
  return 0;
}

// route(family: 4 | 6, bytes: Uint8Array, offset: number, oif: number): number
Napi::Value RouteMtu::Route(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array || !info[2].IsNumber() ||
      !info[3].IsNumber()) {
    Napi::TypeError::New(env, "route(family, bytes: Uint8Array, offset, oif): bad arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint32_t fam = info[0].As<Napi::Number>().Uint32Value();
  Napi::Uint8Array bytes = info[1].As<Napi::Uint8Array>();
  uint32_t off = info[2].As<Napi::Number>().Uint32Value();
  uint32_t oif = info[3].As<Napi::Number>().Uint32Value();
  uint32_t alen = fam == 4 ? kIpv4Len : fam == 6 ? kIpv6Len : 0;
  if (alen == 0 || off > bytes.ByteLength() || bytes.ByteLength() - off < alen) {
    Napi::RangeError::New(env, "route: family must be 4 or 6 and the address inside bytes").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!open_) return Napi::Number::New(env, 0);
  return Napi::Number::New(env, QueryRoute(fam == 4 ? AF_INET : AF_INET6, bytes.Data() + off, oif));
}

// linkMtu(ifindex: number): number, 0 when there is no such interface.
Napi::Value RouteMtu::LinkMtu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "linkMtu(ifindex): bad arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint32_t ifindex = info[0].As<Napi::Number>().Uint32Value();
  if (!open_ || ifindex == 0) return Napi::Number::New(env, 0);
  return Napi::Number::New(env, CachedLinkMtu(ifindex));
}

Napi::Value RouteMtu::Close(const Napi::CallbackInfo& info) {
  Shutdown();
  stateRef_.Reset();
  return info.Env().Undefined();
}

Napi::Value RouteMtu::IsOpen(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), open_); }

Napi::Value RouteMtu::GetStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("routeRequests", stats_.routeRequests);
  o.Set("routeNoMtu", stats_.routeNoMtu);
  o.Set("routeErrors", stats_.routeErrors);
  o.Set("linkRequests", stats_.linkRequests);
  o.Set("linkErrors", stats_.linkErrors);
  o.Set("timeouts", stats_.timeouts);
  o.Set("sendErrors", stats_.sendErrors);
  o.Set("notifications", stats_.notifications);
  o.Set("overruns", stats_.overruns);
  return o;
}

}  // namespace pmtu

void InitRouteMtu(Napi::Env env, Napi::Object exports) { exports.Set("RouteMtu", pmtu::RouteMtu::Define(env)); }
