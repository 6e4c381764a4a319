// sdNotify(socketPath, message): one datagram to systemd's notification socket, the sd_notify(3)
// protocol without libsystemd. NOTIFY_SOCKET is an AF_UNIX SOCK_DGRAM address, either a file system
// path or, with a leading '@', a name in the abstract namespace (unix(7)); Node has no datagram unix
// sockets, hence this function. JavaScript decides what to send and when (src/lifecycle/notify.ts);
// this only sends. Built as its own target `sd_notify` of addon/binding.gyp
// (addon/build/Release/sd_notify.node) with the queue addon's defines; until that target exists,
// test/lifecycle/sd-notify-addon.ts builds it standalone.
#include <napi.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

namespace {

void ThrowErrno(Napi::Env env, const char* syscall, int err, const std::string& path) {
  Napi::Error e = Napi::Error::New(env, std::string("sd_notify: ") + syscall + " " + path + ": " + std::strerror(err));
  e.Set("code", Napi::String::New(env, "ERR_SD_NOTIFY"));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  e.ThrowAsJavaScriptException();
}

Napi::Value SdNotify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsString() || !info[1].IsString()) {
    Napi::TypeError::New(env, "sdNotify(socketPath: string, message: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  const std::string message = info[1].As<Napi::String>().Utf8Value();

  sockaddr_un addr;
  std::memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  socklen_t len;
  if (!path.empty() && path[0] == '@') {
    // Abstract namespace: sun_path starts with NUL, and the name is exactly the bytes that follow
    // (the address length says where it ends; no terminating NUL is part of it).
    const size_t name = path.size() - 1;
    if (name == 0 || name > sizeof(addr.sun_path) - 1) {
      ThrowErrno(env, "connect", ENAMETOOLONG, path);
      return env.Undefined();
    }
    std::memcpy(addr.sun_path + 1, path.data() + 1, name);
    len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name);
  } else if (!path.empty() && path[0] == '/') {
    if (path.size() > sizeof(addr.sun_path) - 1) {
      ThrowErrno(env, "connect", ENAMETOOLONG, path);
      return env.Undefined();
    }
    std::memcpy(addr.sun_path, path.data(), path.size());
    len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  } else {
    Napi::TypeError::New(env, "sdNotify: the socket path must start with '/' or '@'").ThrowAsJavaScriptException();
    return env.Undefined();
  }

  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ThrowErrno(env, "socket", errno, path);
    return env.Undefined();
  }
  ssize_t sent;
  do {
    sent = sendto(fd, message.data(), message.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr), len);
  } while (sent < 0 && errno == EINTR);
  const int err = errno;
  close(fd);
  if (sent < 0) {
    ThrowErrno(env, "sendto", err, path);
  }
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("sdNotify", Napi::Function::New(env, SdNotify, "sdNotify"));
  return exports;
}

}  // namespace

NODE_API_MODULE(sd_notify, Init)
