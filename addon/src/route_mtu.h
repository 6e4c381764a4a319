// Path-MTU primitives for clamp-to-pmtu: the MTU of the route towards an address, asked of the kernel
// over rtnetlink (RTM_GETROUTE, then RTM_GETLINK for the output interface), and a notification socket
// that counts route and link changes into a JavaScript-owned generation word.
//
// C++ asks and answers; caching and policy (which addresses, the minimum of both directions, the
// fallbacks) live in TypeScript (src/pmtu/). Nothing here is on the per-packet path: JavaScript calls
// route() only on a cache miss.
#pragma once

#include <napi.h>
#include <uv.h>

#include <cstdint>
#include <memory>

namespace pmtu {

class RouteMtu;

// The poll handle lives apart from the RouteMtu: libuv needs it until its close callback runs, which
// may be after the object was collected, and the environment must wait for that callback (an async
// cleanup hook, removed by the callback) so a worker's copy of the addon is not unloaded first.
struct PollBox {
  uv_poll_t poll;
  napi_async_cleanup_hook_handle hook = nullptr;
  RouteMtu* owner = nullptr;  // null once the RouteMtu shut down
};

struct Stats {
  double routeRequests = 0;   // RTM_GETROUTE requests sent
  double routeNoMtu = 0;      // answers with neither an mtu metric nor a usable output interface
  double routeErrors = 0;     // NLMSG_ERROR answers (no route, unreachable, ...)
  double linkRequests = 0;    // RTM_GETLINK requests sent (link MTU cache misses)
  double linkErrors = 0;      // RTM_GETLINK failures
  double timeouts = 0;        // requests with no answer in time
  double sendErrors = 0;      // sendmsg/recv failures on the request socket
  double notifications = 0;   // route and link notifications received
  double overruns = 0;        // ENOBUFS on the notification socket (events lost: generation bumped)
};

class RouteMtu : public Napi::ObjectWrap<RouteMtu> {
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

  // One request, one answer on the request socket. Returns the answer's length (the message is at
  // rx_), or a negative errno (-ETIMEDOUT when nothing came back in time).
  int Transact(uint8_t* req, uint32_t len);
  uint32_t QueryRoute(int family, const uint8_t* addr, uint32_t oif);
  uint32_t QueryLink(uint32_t ifindex);
  uint32_t CachedLinkMtu(uint32_t ifindex);

  static void OnPoll(uv_poll_t* handle, int status, int events);
  void DrainNotifications();
  void Bump();

  int StartWatcher(napi_env env);
  // Close path (no JavaScript runs): used by close(), by the env cleanup hook and the destructor.
  void Shutdown();
  void CloseWatcher();
  static void OnEnvCleanup(napi_async_cleanup_hook_handle handle, void* arg);
  static void OnPollClosed(uv_handle_t* handle);

  bool open_ = false;
  int reqFd_ = -1;
  int notifyFd_ = -1;
  uint32_t seq_ = 0;
  int timeoutMs_ = 200;
  // The watcher while it runs; null once its close was started (libuv then owns the box, and
  // OnPollClosed frees it).
  PollBox* box_ = nullptr;

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

// Adds RouteMtu to the module's exports; the main module's Init calls this (see addon/route-mtu-test/).
void InitRouteMtu(Napi::Env env, Napi::Object exports);
