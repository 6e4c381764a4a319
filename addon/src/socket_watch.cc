#include "socket_watch.h"

namespace nl {

int SocketWatch::Start(napi_env env, int fd, WatchOwner* owner, bool keepAlive, SocketWatch** out) {
  *out = nullptr;
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return UV_EINVAL;
  SocketWatch* w = new SocketWatch;
  int rc = uv_poll_init(loop, &w->poll_, fd);
  if (rc != 0) {
    delete w;  // never initialised: libuv does not know it
    return rc;
  }
  w->poll_.data = w;
  w->owner_ = owner;
  if (!keepAlive) uv_unref(reinterpret_cast<uv_handle_t*>(&w->poll_));
  if (napi_add_async_cleanup_hook(env, &SocketWatch::OnEnvCleanup, w, &w->hook_) != napi_ok) {
    w->hook_ = nullptr;
    w->Close();
    return UV_EINVAL;
  }
  rc = uv_poll_start(&w->poll_, UV_READABLE, &SocketWatch::OnPoll);
  if (rc != 0) {
    w->Close();
    return rc;
  }
  *out = w;
  return 0;
}

void SocketWatch::Close() {
  owner_ = nullptr;
  uv_poll_stop(&poll_);
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_), &SocketWatch::OnClosed);
}

void SocketWatch::OnPoll(uv_poll_t* handle, int status, int /*events*/) {
  SocketWatch* w = static_cast<SocketWatch*>(handle->data);
  if (w->owner_) w->owner_->OnReadable(status);
}

// The environment waits until OnClosed removes this hook.
void SocketWatch::OnEnvCleanup(napi_async_cleanup_hook_handle /*handle*/, void* arg) {
  SocketWatch* w = static_cast<SocketWatch*>(arg);
  if (w->owner_) w->owner_->OnEnvTeardown();  // else a close is already under way
}

void SocketWatch::OnClosed(uv_handle_t* handle) {
  SocketWatch* w = static_cast<SocketWatch*>(handle->data);
  if (w->hook_) napi_remove_async_cleanup_hook(w->hook_);
  delete w;
}

}  // namespace nl
