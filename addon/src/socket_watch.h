// Readiness of one socket on the event loop of the environment (main thread or worker) that owns it,
// for Queue (queue.cc) and RouteMtu (route_mtu.cc).
//
// The uv_poll handle lives apart from its owner: libuv needs it until its close callback runs, which
// may be after the owner was collected, and the environment must wait for that callback (an async
// cleanup hook, removed by the callback) so a worker's copy of the addon is not unloaded first (a
// synchronous hook that called uv_close let libuv call into unmapped code later).
#pragma once

#include <node_api.h>
#include <uv.h>

namespace nl {

class WatchOwner {
 public:
  // The socket is readable (status 0), or libuv reports an error on it (status < 0).
  virtual void OnReadable(int status) = 0;
  // The environment is going away (process exit, worker exit or terminate()): close as close() does.
  // The watch's Close() must follow, from here or from what this calls.
  virtual void OnEnvTeardown() = 0;

 protected:
  ~WatchOwner() = default;
};

class SocketWatch {
 public:
  // Starts watching fd for reading. keepAlive false: the handle alone does not keep the loop (and so
  // the process) running. 0 and *out set, or a negative libuv error (nothing left to clean up).
  static int Start(napi_env env, int fd, WatchOwner* owner, bool keepAlive, SocketWatch** out);

  // Stops the callbacks and hands the handle to libuv, which frees it once closed. Call once, and
  // before the socket is closed (uv_poll must stop before its fd goes); the pointer is dead after.
  void Close();

 private:
  SocketWatch() = default;
  static void OnPoll(uv_poll_t* handle, int status, int events);
  static void OnEnvCleanup(napi_async_cleanup_hook_handle handle, void* arg);
  static void OnClosed(uv_handle_t* handle);

  uv_poll_t poll_;
  napi_async_cleanup_hook_handle hook_ = nullptr;
  WatchOwner* owner_ = nullptr;  // null once closing: nothing reaches the owner through the watch
};

}  // namespace nl
