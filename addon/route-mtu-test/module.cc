// A module with only RouteMtu in it, for test/pmtu/ (the main module adds it with the same call).
#include <napi.h>

#include "../src/route_mtu.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitRouteMtu(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(route_mtu_test, Init)
