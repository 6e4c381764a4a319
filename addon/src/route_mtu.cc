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
// Which lookup: the packet's own route is the one the kernel chose for it. A forwarded packet (it has
// an input interface) was routed by the INPUT lookup, keyed on source, input interface and mark as
// well as destination, so `ip rule from/iif/fwmark` (multi-WAN, VPN source routing) selects its
// table: RTA_IIF makes inet_rtm_getroute / inet6_rtm_getroute run that same input lookup. A locally
// sent packet was routed by the output lookup: source, mark and the interface it leaves by. The route
// back to the source is asked as tcpmss_reverse_mtu asks it: an output lookup with only the
// destination (the packet's source) set, no source, mark or interface.
//
// Not seen by RTM_GETROUTE: xfrm (IPsec policy) routes; behind IPsec the answer may be too high.
//
// Changes arrive on a second socket subscribed to link, route and rule groups, read with uv_poll: each
// batch bumps a generation word that JavaScript owns, so its cache drops stale answers. PMTU
// exceptions are not announced (the kernel sends no RTM_NEWROUTE for them), so JavaScript also ages
// entries out.
#include "route_mtu.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "netlink_socket.h"
#include "rtnetlink_wire.h"

namespace pmtu {

namespace {

constexpr size_t kRxBytes = 32 * 1024;
constexpr uint32_t kIpv4Len = 4;
constexpr uint32_t kIpv6Len = 16;
// What may change a path MTU. Rules too: an `ip rule` change moves packets to another table without
// any route changing.
constexpr uint32_t kWatchedGroups = (1u << (RTNLGRP_LINK - 1)) | (1u << (RTNLGRP_IPV4_ROUTE - 1)) |
                                    (1u << (RTNLGRP_IPV6_ROUTE - 1)) | (1u << (RTNLGRP_IPV4_RULE - 1)) |
                                    (1u << (RTNLGRP_IPV6_RULE - 1));
// Answers to requests that timed out are read and thrown away by the next request, up to this many.
constexpr int kMaxStale = 64;

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
      info[0].As<Napi::Uint32Array>().ElementLength() < 1 ||
      (info.Length() > 1 && !info[1].IsObject() && !info[1].IsUndefined())) {
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

  nl::OpenResult req = nl::OpenSocket(NETLINK_ROUTE, 0);
  reqFd_ = req.fd;
  int err = req.err;
  if (reqFd_ >= 0) {
    nl::OpenResult notify = nl::OpenSocket(NETLINK_ROUTE, kWatchedGroups);
    notifyFd_ = notify.fd;
    err = notify.err;
  }
  if (err == 0) {
    // An auxiliary watcher: it never keeps the process alive on its own.
    int rc = nl::SocketWatch::Start(env, notifyFd_, this, false, &watch_);
    if (rc != 0) err = -rc;
  }
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

RouteMtu::~RouteMtu() {
  // Garbage collection or environment teardown. After close() or the cleanup hook this does
  // nothing; otherwise the watcher's close is started here and the hook still waits for it.
  Shutdown();
}

void RouteMtu::Shutdown() {
  if (!open_) return;
  open_ = false;
  // The watch stops before its socket closes (uv_poll must stop before its fd goes).
  if (watch_) {
    watch_->Close();
    watch_ = nullptr;
  }
  if (reqFd_ >= 0) close(reqFd_);
  if (notifyFd_ >= 0) close(notifyFd_);
  reqFd_ = notifyFd_ = -1;
  state_ = nullptr;
}

void RouteMtu::Bump() {
  if (state_) state_[0]++;
  linkNext_ = 0;
  std::memset(linkIndex_, 0, sizeof linkIndex_);
}

void RouteMtu::OnReadable(int status) {
  if (status < 0) {
    // An error on the socket: say that anything may have changed.
    stats_.overruns++;
    Bump();
    return;
  }
  DrainNotifications();
}

// Any route, rule or link message may change a path MTU: the content is not inspected, one bump per wake-up.
void RouteMtu::DrainNotifications() {
  bool changed = false;
  for (;;) {
    long n = nl::ReceiveNow(notifyFd_, rx_.get(), kRxBytes);
    if (n == -ENOBUFS) {  // the socket overflowed: events were lost
      stats_.overruns++;
      changed = true;
      continue;
    }
    if (n <= 0) break;  // -EAGAIN: drained
    uint32_t off = 0;
    nl::Message m;
    while (nl::NextMessage(rx_.get(), static_cast<uint32_t>(n), &off, &m)) {
      switch (m.hdr->nlmsg_type) {
        case RTM_NEWLINK:
        case RTM_DELLINK:
        case RTM_NEWROUTE:
        case RTM_DELROUTE:
        case RTM_NEWRULE:
        case RTM_DELRULE:
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

int RouteMtu::Transact(const nl::MsgWriter& req, uint32_t seq, nl::Message* answer) {
  int err = req.Ok() ? nl::SendToKernel(reqFd_, req.Data(), req.Len()) : -EMSGSIZE;
  if (err != 0) {
    stats_.sendErrors++;
    return err;
  }
  int stale = 0;
  for (;;) {
    long n = nl::ReceiveNow(reqFd_, rx_.get(), kRxBytes);
    if (n == -EAGAIN) {
      int rc = nl::WaitFor(reqFd_, POLLIN, timeoutMs_);
      if (rc == 0) {
        stats_.timeouts++;
        return -ETIMEDOUT;
      }
      if (rc < 0 && rc != -EINTR) {
        stats_.sendErrors++;
        return rc;
      }
      continue;
    }
    if (n < 0) {
      stats_.sendErrors++;
      return static_cast<int>(n);
    }
    uint32_t off = 0;
    if (nl::NextMessage(rx_.get(), static_cast<uint32_t>(n), &off, answer) && answer->hdr->nlmsg_seq == seq) return 0;
    if (++stale > kMaxStale) {
      stats_.sendErrors++;
      return -EPROTO;
    }
  }
}

// The MTU of the route a packet takes (see the top of this file for which lookup), 0 when there is
// none: no route, an unreachable/blackhole/prohibit route, or no answer. src may be null (the route
// back to a source: destination only). When the input lookup fails (the input interface went away,
// or reverse-path filtering refuses the source), the output lookup without the source answers
// instead; so does it when an output lookup with a source fails (a source not local here:
// transparent proxying).
uint32_t RouteMtu::QueryRoute(int family, const uint8_t* dst, const uint8_t* src, uint32_t iif, uint32_t oif,
                              uint32_t mark) {
  uint32_t mtu = 0;
  if (iif != 0 && src != nullptr) {
    if (AskRoute(family, dst, src, iif, 0, mark, &mtu)) return mtu;
    stats_.inputFallbacks++;
  }
  // A forwarded packet's source is not local: an output lookup with it would fail (EINVAL).
  if (iif == 0 && src != nullptr && AskRoute(family, dst, src, 0, oif, mark, &mtu)) return mtu;
  AskRoute(family, dst, nullptr, 0, oif, mark, &mtu);
  return mtu;
}

// One RTM_GETROUTE. True when the kernel answered with a usable route (its MTU in *mtu, 0 when it had
// neither an mtu metric nor an output interface with a known MTU); false on any error.
bool RouteMtu::AskRoute(int family, const uint8_t* dst, const uint8_t* src, uint32_t iif, uint32_t oif, uint32_t mark,
                        uint32_t* mtuOut) {
  *mtuOut = 0;
  alignas(8) uint8_t msg[kMaxRequest];
  nl::MsgWriter w(msg, sizeof msg);
  uint32_t seq = ++seq_;
  uint32_t alen = family == AF_INET ? kIpv4Len : kIpv6Len;
  PutRouteRequest(w, seq, static_cast<uint8_t>(family), dst, src, alen, iif, oif, mark);
  stats_.routeRequests++;
  nl::Message answer;
  if (Transact(w, seq, &answer) != 0) return false;
  RouteAnswer route;
  if (!ReadRouteAnswer(answer, &route)) {
    stats_.routeErrors++;
    return false;
  }
  uint32_t mtu = route.mtu;
  if (mtu == 0 && route.oif != 0) mtu = CachedLinkMtu(route.oif);
  if (mtu == 0) stats_.routeNoMtu++;
  *mtuOut = mtu;
  return true;
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
  alignas(8) uint8_t msg[kMaxRequest];
  nl::MsgWriter w(msg, sizeof msg);
  uint32_t seq = ++seq_;
  PutLinkRequest(w, seq, ifindex);
  stats_.linkRequests++;
  nl::Message answer;
  uint32_t mtu = Transact(w, seq, &answer) == 0 ? ReadLinkMtu(answer) : 0;
  if (mtu == 0) stats_.linkErrors++;
  return mtu;
}

// route(family: 4 | 6, bytes: Uint8Array, dstOffset, srcOffset (-1: none), iif, oif, mark): number
Napi::Value RouteMtu::Route(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 7 || !info[0].IsNumber() || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array || !info[2].IsNumber() ||
      !info[3].IsNumber() || !info[4].IsNumber() || !info[5].IsNumber() || !info[6].IsNumber()) {
    Napi::TypeError::New(env, "route(family, bytes: Uint8Array, dstOffset, srcOffset, iif, oif, mark): bad arguments")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint32_t fam = info[0].As<Napi::Number>().Uint32Value();
  Napi::Uint8Array bytes = info[1].As<Napi::Uint8Array>();
  uint32_t dstOff = info[2].As<Napi::Number>().Uint32Value();
  int64_t srcOff = info[3].As<Napi::Number>().Int64Value();
  uint32_t iif = info[4].As<Napi::Number>().Uint32Value();
  uint32_t oif = info[5].As<Napi::Number>().Uint32Value();
  uint32_t mark = info[6].As<Napi::Number>().Uint32Value();
  uint32_t alen = fam == 4 ? kIpv4Len : fam == 6 ? kIpv6Len : 0;
  size_t size = bytes.ByteLength();
  if (alen == 0 || dstOff > size || size - dstOff < alen ||
      (srcOff >= 0 && (static_cast<uint64_t>(srcOff) > size || size - static_cast<size_t>(srcOff) < alen))) {
    Napi::RangeError::New(env, "route: family must be 4 or 6 and the addresses inside bytes")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!open_) return Napi::Number::New(env, 0);
  const uint8_t* src = srcOff >= 0 ? bytes.Data() + srcOff : nullptr;
  return Napi::Number::New(env, QueryRoute(fam == 4 ? AF_INET : AF_INET6, bytes.Data() + dstOff, src, iif, oif, mark));
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
  o.Set("inputFallbacks", stats_.inputFallbacks);
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
