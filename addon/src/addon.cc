// nfqueue-bindings entry point: the Queue class (queue.cc) and RouteMtu (route_mtu.cc). Context-aware (Node-API): every
// environment (main thread, each worker_thread) gets its own class and its own queues; there is no process-wide state.
#include <napi.h>

#include "layout.h"
#include "queue.h"
#include "route_mtu.h"

namespace {

Napi::Object Layout(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("stride", static_cast<double>(nfq::kStride));
  o.Set("id", static_cast<double>(nfq::kId));
  o.Set("offset", static_cast<double>(nfq::kOffset));
  o.Set("length", static_cast<double>(nfq::kLength));
  o.Set("origLength", static_cast<double>(nfq::kOrigLength));
  o.Set("hook", static_cast<double>(nfq::kHook));
  o.Set("family", static_cast<double>(nfq::kFamily));
  o.Set("indev", static_cast<double>(nfq::kIndev));
  o.Set("outdev", static_cast<double>(nfq::kOutdev));
  o.Set("mark", static_cast<double>(nfq::kMark));
  o.Set("flags", static_cast<double>(nfq::kFlags));
  o.Set("verdict", static_cast<double>(nfq::kVerdict));
  o.Set("newLength", static_cast<double>(nfq::kNewLength));
  o.Set("flagTruncated", static_cast<double>(nfq::kFlagTruncated));
  o.Set("flagCsumNotReady", static_cast<double>(nfq::kFlagCsumNotReady));
  o.Set("flagCsumNotVerified", static_cast<double>(nfq::kFlagCsumNotVerified));
  o.Set("flagGso", static_cast<double>(nfq::kFlagGso));
  o.Set("verdictDrop", static_cast<double>(nfq::kVerdictDrop));
  o.Set("verdictAccept", static_cast<double>(nfq::kVerdictAccept));
  o.Set("tailroom", static_cast<double>(nfq::kTailroom));
  o.Set("packetAlign", static_cast<double>(nfq::kPacketAlign));
  o.Set("minBufferBytes", static_cast<double>(nfq::kMaxCopyRange + nfq::kTailroom + nfq::kPacketAlign));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Queue", nfq::Queue::Define(env));
  exports.Set("layout", Layout(env));
  // Path-MTU lookups for clamp-to-pmtu (src/pmtu/), written for this module.
  InitRouteMtu(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(nfqueue_bindings, Init)
