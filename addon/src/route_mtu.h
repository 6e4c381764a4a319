// Path-MTU primitives for clamp-to-pmtu: the MTU of the route towards an address, asked of the kernel
// over rtnetlink (RTM_GETROUTE, then RTM_GETLINK for the output interface), and a notification socket
// that counts route, rule and link changes into a JavaScript-owned generation word.
//
// C++ asks and answers; caching and policy (which addresses, the minimum of both directions, the
// fallbacks) live in TypeScript (src/pmtu/). Nothing here is on the per-packet path: JavaScript calls
// route() only on a cache miss.
#pragma once

#include <napi.h>
#include <uv.h>

#include <cstdint>
#include <memory>

#include "netlink_wire.h"
#include "socket_watch.h"

namespace pmtu {

struct Stats {
  double routeRequests = 0;   // RTM_GETROUTE requests sent
  double routeNoMtu = 0;      // answers with neither an mtu metric nor a usable output interface
  double routeErrors = 0;     // NLMSG_ERROR answers (no route, unreachable, ...)
  double inputFallbacks = 0;  // input (forwarding) lookups that failed and were asked again as output lookups
  double linkRequests = 0;    // RTM_GETLINK requests sent (link MTU cache misses)
  double linkErrors = 0;      // RTM_GETLINK failures
  double timeouts = 0;        // requests with no answer in time
  double sendErrors = 0;      // sendmsg/recv failures on the request socket
  double notifications = 0;   // route, rule and link notifications received
  double overruns = 0;        // ENOBUFS on the notification socket (events lost: generation bumped)
};

class RouteMtu : public Napi::ObjectWrap<RouteMtu>, private nl::WatchOwner {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit RouteMtu(const Napi::CallbackInfo& info);
  ~RouteMtu() override;

 private:
  // JavaScript methods.
  Napi::Value Route(const Napi::CallbackInfo& info);
  Napi::Value LinkMtu(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value GetStats(const Napi::CallbackInfo& info);
  Napi::Value IsOpen(const Napi::CallbackInfo& info);

  // One request, one answer on the request socket: 0 with *answer (in rx_) the kernel's answer to
  // message `seq`, or a negative errno (-ETIMEDOUT when nothing came back in time).
  int Transact(const nl::MsgWriter& req, uint32_t seq, nl::Message* answer);
  uint32_t QueryRoute(int family, const uint8_t* dst, const uint8_t* src, uint32_t iif, uint32_t oif, uint32_t mark);
  bool AskRoute(int family, const uint8_t* dst, const uint8_t* src, uint32_t iif, uint32_t oif, uint32_t mark,
                uint32_t* mtu);
  uint32_t QueryLink(uint32_t ifindex);
  uint32_t CachedLinkMtu(uint32_t ifindex);

  void OnReadable(int status) override;
  void DrainNotifications();
  void Bump();

  // Close path (no JavaScript runs): used by close(), by the env cleanup hook and the destructor.
  void Shutdown();
  void OnEnvTeardown() override { Shutdown(); }

  bool open_ = false;
  int reqFd_ = -1;
  int notifyFd_ = -1;
  uint32_t seq_ = 0;
  int timeoutMs_ = 200;
  // The notification socket's watch while it runs; null once its close was started.
  nl::SocketWatch* watch_ = nullptr;

  // JavaScript-owned generation word: [0] is bumped on every change notification.
  uint32_t* state_ = nullptr;
  Napi::ObjectReference stateRef_;

  // Link MTUs by interface index, emptied on any link notification. Small and scanned linearly:
  // a router has few interfaces, and this is only read on a route cache miss.
  static constexpr uint32_t kLinkSlots = 64;
  uint32_t linkIndex_[kLinkSlots] = {};
  uint32_t linkMtu_[kLinkSlots] = {};
  uint32_t linkNext_ = 0;

  std::unique_ptr<uint8_t[]> rx_;
  Stats stats_;
};

}  // namespace pmtu

// Adds RouteMtu to the module's exports (addon.cc).
void InitRouteMtu(Napi::Env env, Napi::Object exports);
