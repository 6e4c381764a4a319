// nfqueue-bindings: one NFQUEUE queue over raw NETLINK_NETFILTER.
//
// Life of a batch: the socket becomes readable (uv_poll, on the loop of the thread that opened the
// queue) -> recvmmsg drains packet messages into native receive slots -> each packet is copied into
// the JavaScript-owned buffer and described in one row of the JavaScript-owned table -> JavaScript is
// called once with the row count -> every verdict of the batch goes back in one sendmsg, in arrival
// order. Nothing is allocated per packet or per batch.
#include "queue.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "layout.h"
#include "netlink_socket.h"

namespace nfq {

namespace {

// Not in the uapi headers: the kernel's internal ENOTSUPP, answered to messages a subsystem refuses
// (nfqnl_recv_unsupp in nfnetlink_queue.c).
constexpr int kENOTSUPP = 524;
constexpr uint32_t kDefaultMaxLen = 4096;
// Four full batches of the default table: what one wake-up did at most when the budget counted batches.
constexpr uint32_t kDefaultMaxPacketsPerWake = 1024;
// How long one wake-up may go on waiting for packets (MayWait), in ms.
constexpr uint32_t kDefaultLingerMs = 10;
// The longest one receive waits (SO_RCVTIMEO of the socket, which blocks).
constexpr int kLingerWaitMs = 2;
// Receive slots: one recvmmsg takes at most this many messages.
constexpr uint32_t kMaxSlots = 256;
// Verdict bytes per sendmsg before flushing (several sendmsg only for batches of large modified packets).
constexpr size_t kSendChunk = 256 * 1024;
constexpr int kAckTimeoutMs = 2000;
// How long a failed verdict sendmsg waits for the socket to become writable before its one retry.
constexpr int kRetryPollMs = 5;
uint32_t AlignUp(uint32_t n, uint32_t a) { return (n + a - 1) & ~(a - 1); }

constexpr uint32_t kSlotStride = (kSlotSize + 63u) & ~63u;

uint32_t OptU32(Napi::Object o, const char* key, uint32_t dflt) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : dflt;
}

bool OptBool(Napi::Object o, const char* key, bool dflt) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : dflt;
}

// Batch-size histogram bucket: floor(log2 n), the last bucket (11) holding [2048, inf).
uint32_t HistBucket(uint32_t n) {
  uint32_t b = 0;
  while (n > 1 && b < 11) {
    n >>= 1;
    ++b;
  }
  return b;
}

}  // namespace

Napi::Function Queue::Define(Napi::Env env) {
  return DefineClass(env, "Queue",
                     {
                         InstanceMethod<&Queue::Close>("close"),
                         InstanceMethod<&Queue::GetStats>("stats"),
                         InstanceAccessor<&Queue::GetPortId>("portId"),
                         InstanceAccessor<&Queue::IsOpen>("isOpen"),
                     });
}

// new Queue(queueNum, buffer: Uint8Array, table: Uint32Array, onBatch(count), onError(err) | undefined,
//           options { maxLen, failOpen, rcvBuf, maxPacketsPerWake, batchVerdicts })
// TypeScript validates the values (src/queue/queue.ts); here only the types are checked, so a wrong
// call is a TypeError and never a crash.
Queue::Queue(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Queue>(info), env_(info.Env()) {
  Napi::Env env = info.Env();
  if (info.Length() < 6 || !info[0].IsNumber() || !info[1].IsTypedArray() || !info[2].IsTypedArray() ||
      !info[3].IsFunction() || !(info[4].IsFunction() || info[4].IsUndefined()) || !info[5].IsObject()) {
    Napi::TypeError::New(env, "Queue(queueNum, buffer, table, onBatch, onError, options): bad arguments")
        .ThrowAsJavaScriptException();
    return;
  }
  uint32_t q = info[0].As<Napi::Number>().Uint32Value();
  Napi::TypedArray b = info[1].As<Napi::TypedArray>();
  Napi::TypedArray t = info[2].As<Napi::TypedArray>();
  if (q > 0xffff || b.TypedArrayType() != napi_uint8_array || t.TypedArrayType() != napi_uint32_array) {
    Napi::TypeError::New(env, "Queue: queueNum must be 0..65535, buffer a Uint8Array, table a Uint32Array")
        .ThrowAsJavaScriptException();
    return;
  }
  Napi::Uint8Array bytes = b.As<Napi::Uint8Array>();
  Napi::Uint32Array table = t.As<Napi::Uint32Array>();
  // Every packet must fit an empty buffer, tailroom included.
  if (bytes.ByteLength() < kMaxCopyRange + kTailroom + kPacketAlign || table.ElementLength() < kStride) {
    Napi::RangeError::New(env, "Queue: buffer must hold at least 65603 bytes and table at least one row")
        .ThrowAsJavaScriptException();
    return;
  }
  Napi::Object opts = info[5].As<Napi::Object>();
  uint32_t maxLen = OptU32(opts, "maxLen", kDefaultMaxLen);
  bool failOpen = OptBool(opts, "failOpen", true);
  uint32_t rcvBuf = OptU32(opts, "rcvBuf", 0);
  maxPacketsPerWake_ = std::max<uint32_t>(1, OptU32(opts, "maxPacketsPerWake", kDefaultMaxPacketsPerWake));
  batchVerdicts_ = OptBool(opts, "batchVerdicts", true);
  lingerMs_ = OptU32(opts, "lingerMs", kDefaultLingerMs);

  buf_ = bytes.Data();
  // Offsets are uint32 in the table.
  bufLen_ = std::min<size_t>(bytes.ByteLength(), 0xffffffffu - kSlotStride);
  table_ = table.Data();
  tableRows_ = static_cast<uint32_t>(table.ElementLength() / kStride);
  nslots_ = std::min(tableRows_, kMaxSlots);

  ids_.reset(new uint32_t[tableRows_]);
  offs_.reset(new uint32_t[tableRows_]);
  lens_.reset(new uint32_t[tableRows_]);
  locked_.reset(new uint8_t[tableRows_]);
  minLens_.reset(new uint32_t[tableRows_]);
  // Not touched up front: only the pages the kernel writes become resident.
  scratch_.reset(new uint8_t[static_cast<size_t>(nslots_) * kSlotStride]);
  msgs_.reset(new mmsghdr[nslots_]);
  iovs_.reset(new iovec[nslots_]);
  std::memset(msgs_.get(), 0, sizeof(mmsghdr) * nslots_);
  for (uint32_t i = 0; i < nslots_; ++i) {
    iovs_[i].iov_base = scratch_.get() + static_cast<size_t>(i) * kSlotStride;
    iovs_[i].iov_len = kSlotStride;
    msgs_[i].msg_hdr.msg_iov = &iovs_[i];
    msgs_[i].msg_hdr.msg_iovlen = 1;
  }
  // A chunk may start with a release message (StartChunk) before its largest verdict.
  sendCap_ = kSendChunk + kPlainVerdictMsg + kMaxVerdictMsg;
  sendBuf_.reset(new uint8_t[sendCap_]);
  out_ = nl::MsgWriter(sendBuf_.get(), sendCap_);

  if (!Open(static_cast<uint16_t>(q), maxLen, failOpen, rcvBuf)) return;

  bufRef_ = Napi::Persistent(static_cast<Napi::Object>(bytes));
  tableRef_ = Napi::Persistent(static_cast<Napi::Object>(table));
  onBatch_ = Napi::Persistent(info[3].As<Napi::Function>());
  if (info[4].IsFunction()) onError_ = Napi::Persistent(info[4].As<Napi::Function>());
  asyncCtx_.reset(new Napi::AsyncContext(env, "nfqueue"));

  // The loop whose timers bound a wait (MayWait); none: never wait.
  if (napi_get_uv_event_loop(env, &loop_) != napi_ok) loop_ = nullptr;
  // An open queue keeps the loop alive: a process whose queues are closed exits by itself.
  int rc = nl::SocketWatch::Start(env, fd_, this, true, &watch_);
  state_ = State::Open;
  if (rc != 0) {
    Shutdown();
    Napi::Error e = Napi::Error::New(env, std::string("cannot poll the netlink socket: ") + uv_strerror(rc));
    e.Set("code", "NFQ_ERR_SOCKET");
    e.ThrowAsJavaScriptException();
    return;
  }
  if (lingerMs_ != 0) {
    // A blocking socket, so a receive can wait (MSG_WAITFORONE) for at most kLingerWaitMs; every
    // other receive says MSG_DONTWAIT. After uv_poll_init, which makes its descriptor non-blocking.
    int fl = fcntl(fd_, F_GETFL);
    struct timeval tv = {0, kLingerWaitMs * 1000};
    if (fl < 0 || fcntl(fd_, F_SETFL, fl & ~O_NONBLOCK) != 0 ||
        setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
      if (fl >= 0) fcntl(fd_, F_SETFL, fl | O_NONBLOCK);
      lingerMs_ = 0;
    }
  }
  // An open queue keeps its JavaScript object (and so the buffers and callbacks) alive.
  uint32_t refs = 0;
  napi_reference_ref(env, static_cast<napi_ref>(*this), &refs);
  selfRef_ = true;
}

Queue::~Queue() {
  // Reached on garbage collection or environment teardown; an open queue holds a reference to
  // itself, so normally close() or the cleanup hook ran first.
  if (state_ == State::Open) Shutdown();
}

void Queue::ThrowOpenError(const char* code, int err, const char* syscall, const char* message) {
  Napi::Env env(env_);
  std::string msg = std::string("NFQUEUE queue ") + std::to_string(queueNum_) + ": " + message;
  if (err) msg += std::string(" (") + syscall + ": " + (err == kENOTSUPP ? "ENOTSUPP" : strerror(err)) + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", code);
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", syscall);
  e.Set("queue", Napi::Number::New(env, queueNum_));
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
  e.ThrowAsJavaScriptException();
}

bool Queue::Open(uint16_t queueNum, uint32_t maxLen, bool failOpen, uint32_t rcvBuf) {
  queueNum_ = queueNum;
  nl::OpenResult opened = nl::OpenSocket(NETLINK_NETFILTER, 0);
  if (opened.fd < 0) {
    int err = opened.err;
    if (std::strcmp(opened.syscall, "socket") != 0)
      ThrowOpenError("NFQ_ERR_SOCKET", err, opened.syscall, "cannot bind the netlink socket");
    else if (err == EPROTONOSUPPORT || err == EAFNOSUPPORT)
      ThrowOpenError("NFQ_ERR_UNSUPPORTED", err, "socket", "this kernel has no nfnetlink (CONFIG_NETFILTER_NETLINK)");
    else
      ThrowOpenError("NFQ_ERR_SOCKET", err, "socket", "cannot create a netlink socket");
    return false;
  }
  fd_ = opened.fd;
  portId_ = opened.portId;

  // A full socket must not raise ENOBUFS on the next recv: the kernel then fails the packet open
  // (NFQA_CFG_F_FAIL_OPEN) or counts it (queue_user_dropped), and we see the gap in the ids.
  nl::SetOption(fd_, SOL_NETLINK, NETLINK_NO_ENOBUFS, 1);
  // Errors for verdicts echo only the header, not the packet we sent back.
  nl::SetOption(fd_, SOL_NETLINK, NETLINK_CAP_ACK, 1);
  nl::SetOption(fd_, SOL_NETLINK, NETLINK_EXT_ACK, 1);
  // The socket holds up to maxLen packet messages (about 1-2 KiB of truesize each for small packets).
  uint64_t want = rcvBuf ? rcvBuf : std::max<uint64_t>(1u << 20, static_cast<uint64_t>(maxLen) * 4096);
  int rb = static_cast<int>(std::min<uint64_t>(want, 1u << 30));
  if (nl::SetOption(fd_, SOL_SOCKET, SO_RCVBUFFORCE, rb) != 0) nl::SetOption(fd_, SOL_SOCKET, SO_RCVBUF, rb);
  if (nl::SetOption(fd_, SOL_SOCKET, SO_SNDBUFFORCE, 1 << 20) != 0) nl::SetOption(fd_, SOL_SOCKET, SO_SNDBUF, 1 << 20);
  int sndbuf = 0;
  socklen_t optlen = sizeof sndbuf;
  getsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf, &optlen);
  // netlink_sendmsg refuses a message longer than sk_sndbuf - 32.
  size_t limit = sndbuf > 64 ? static_cast<size_t>(sndbuf) - 64 : 0;
  sendLimit_ = std::min(kSendChunk, limit);
  if (sendLimit_ < kMaxVerdictMsg) sendLimit_ = kMaxVerdictMsg;

  uint32_t raced = 0;
  int err = Bind(maxLen, failOpen, &raced);
  stats_.startupAccepted += raced;
  if (err == 0) {
    // Packets that raced the acknowledgement go through unchanged rather than wait for a handler.
    if (raced > 0 && haveId_) {
      out_.Reset();
      PutVerdict(out_, NFQNL_MSG_VERDICT_BATCH, queueNum_, lastId_, NF_ACCEPT, nullptr, 0);
      nl::SendToKernel(fd_, out_.Data(), out_.Len());
      out_.Reset();
    }
    return true;
  }
  err = -err;
  if (err == EPERM) {
    // nfnetlink answers EPERM both without CAP_NET_ADMIN (nfnetlink_rcv) and when another socket
    // owns the queue (nfqnl_recv_config). A message any capable sender gets ENOTSUPP for tells them apart.
    if (ProbePermission() == -EPERM)
      ThrowOpenError(
          "NFQ_ERR_PERMISSION", err, "bind queue",
          "CAP_NET_ADMIN is missing; run as root or grant CAP_NET_ADMIN (AmbientCapabilities=CAP_NET_ADMIN)");
    else
      ThrowOpenError("NFQ_ERR_QUEUE_BUSY", err, "bind queue",
                     "the queue is already bound by another netlink socket (another process or another open queue); "
                     "stop that consumer or use another queue number");
  } else if (err == EBUSY) {
    ThrowOpenError("NFQ_ERR_QUEUE_BUSY", err, "bind queue", "the queue is already bound");
  } else if (err == EINVAL || err == EOPNOTSUPP || err == kENOTSUPP || err == EPROTONOSUPPORT) {
    ThrowOpenError("NFQ_ERR_UNSUPPORTED", err, "bind queue",
                   "the kernel refused the NFQUEUE bind; is nfnetlink_queue available "
                   "(CONFIG_NETFILTER_NETLINK_QUEUE, modprobe nfnetlink_queue)?");
  } else if (err == ETIMEDOUT) {
    ThrowOpenError("NFQ_ERR_TIMEOUT", err, "bind queue", "the kernel did not answer the bind");
  } else {
    ThrowOpenError("NFQ_ERR_SOCKET", err, "bind queue", "the bind failed");
  }
  return false;
}

// One config message does everything the kernel allows in one (nfqnl_recv_config): bind, copy mode,
// queue length, flags. Packet messages that arrive before the answer are noted (NoteInFlight) and
// counted in *noted, for the caller to accept.
int Queue::Configure(const ConfigRequest& r, uint32_t* noted) {
  alignas(8) uint8_t msg[256];
  nl::MsgWriter w(msg, sizeof msg);
  uint32_t seq = ++seq_;
  PutConfig(w, r, seq, queueNum_);
  int err = nl::SendToKernel(fd_, msg, w.Len());
  if (err) return err;
  return WaitAck(seq, QueueMsgType(NFQNL_MSG_CONFIG), kAckTimeoutMs, noted);
}

// Bind, copy whole packets, queue length, fail-open as asked, GSO and conntrack info off (PutConfig).
int Queue::Bind(uint32_t maxLen, bool failOpen, uint32_t* noted) {
  ConfigRequest r;
  r.command = NFQNL_CFG_CMD_BIND;
  r.copyParams = true;
  r.setMaxLen = true;
  r.maxLen = maxLen;
  r.setFlags = true;
  r.failOpen = failOpen;
  return Configure(r, noted);
}

// First step of close(): no new packet enters the queue. Queue length 0 makes every new packet find
// the queue full, and fail-open (set in the same message, whatever the queue was opened with) makes
// the kernel accept it rather than count it in queue_dropped and drop it (__nfqnl_enqueue_packet).
// After the unbind the rules decide again (--queue-bypass accepts, otherwise the kernel drops).
int Queue::StopQueueing(uint32_t* noted) {
  ConfigRequest r;
  r.setMaxLen = true;
  r.maxLen = 0;
  r.setFlags = true;
  r.failOpen = true;
  return Configure(r, noted);
}

int Queue::Unbind(uint32_t* noted) {
  ConfigRequest r;
  r.command = NFQNL_CFG_CMD_UNBIND;
  return Configure(r, noted);
}

int Queue::ProbePermission() {
  alignas(8) uint8_t msg[64];
  nl::MsgWriter w(msg, sizeof msg);
  uint32_t seq = ++seq_;
  // NFQNL_MSG_PACKET is kernel-to-user only: nfnetlink checks CAP_NET_ADMIN before it answers ENOTSUPP.
  w.End(BeginQueueMsg(w, NFQNL_MSG_PACKET, NLM_F_ACK, seq, queueNum_));
  int err = nl::SendToKernel(fd_, msg, w.Len());
  if (err) return err;
  return WaitAck(seq, QueueMsgType(NFQNL_MSG_PACKET), kAckTimeoutMs, nullptr);
}

// Waits for the answer to our message `seq` of `type`, reading into receive slot 0. Verdicts use the
// packet id as sequence number, so a late error for a verdict can carry the same number: only an error
// that echoes our message type is the answer. Everything else is noted (NoteInFlight).
int Queue::WaitAck(uint32_t seq, uint16_t type, int timeoutMs, uint32_t* noted) {
  uint8_t* slot = scratch_.get();
  int left = timeoutMs;
  uint32_t packets = 0;
  int result = 0;
  for (;;) {
    long n = nl::ReceiveNow(fd_, slot, kSlotStride);
    if (n < 0) {
      if (n != -EAGAIN) {
        result = static_cast<int>(n);
        break;
      }
      if (left <= 0) {
        result = -ETIMEDOUT;
        break;
      }
      int step = std::min(left, 100);
      nl::WaitFor(fd_, POLLIN, step);
      left -= step;
      continue;
    }
    uint32_t len = static_cast<uint32_t>(n);
    bool answered = false;
    uint32_t off = 0;
    nl::Message m;
    while (nl::NextMessage(slot, len, &off, &m)) {
      nl::ErrorView e;
      if (!answered && nl::ReadError(m, &e) && e.hasEcho && e.echoSeq == seq && e.echoType == type) {
        result = e.error;
        answered = true;
        continue;
      }
      packets += NoteInFlight(m);
    }
    if (answered) break;
  }
  if (noted) *noted += packets;
  return result;
}

// A message read outside the batch path (while waiting for an answer, or by close()): a packet's id
// is noted so one VERDICT_BATCH can accept it with everything before it (returns 1); errors count.
uint32_t Queue::NoteInFlight(const nl::Message& m) {
  if (m.hdr->nlmsg_type == QueueMsgType(NFQNL_MSG_PACKET)) {
    PacketView v;
    if (!ReadPacket(m.Bytes(), m.have, v)) return 0;
    lastId_ = v.id;
    haveId_ = true;
    return 1;
  }
  if (m.hdr->nlmsg_type == NLMSG_ERROR)
    NoteError(m);
  else
    stats_.otherMessages++;
  return 0;
}

// NoteInFlight for every message of a datagram from offset `off` on; returns the packets noted.
uint32_t Queue::NoteDatagram(const uint8_t* dgram, uint32_t len, uint32_t off) {
  uint32_t packets = 0;
  nl::Message m;
  while (nl::NextMessage(dgram, len, &off, &m)) packets += NoteInFlight(m);
  return packets;
}

void Queue::NoteError(const nl::Message& m) {
  nl::ErrorView e;
  if (!nl::ReadError(m, &e) || e.error == 0) return;  // 0: an acknowledgement nobody waits for
  stats_.verdictErrors++;
  stats_.lastVerdictErrno = -e.error;
}

void Queue::OnReadable(int status) {
  if (status < 0) {
    stats_.recvErrors++;
    return;
  }
  Drain();
}

// Bounded work per wake-up: batches until maxPacketsPerWake packets were handed over (the last batch
// may go past it by less than a table), then back to the event loop (the poll is level-triggered, so
// the rest comes on the next iteration, after timers and I/O). Before that, every batch is followed by
// another recvmmsg, which may wait a little for packets (MayWait); the wake-up ends early only when it
// finds nothing. Counted in packets, not batches: under load the batches are small (a few packets
// each, what arrived while the last one was handled), and a budget of a few batches sent almost every
// wake-up back through the event loop (epoll_wait, timers, callback scope) after a few dozen packets.
void Queue::Drain() {
  stats_.wakeups++;
  drained_ = false;
  JsTurn turn;
  turn_ = &turn;
  uint32_t done = 0;
  uint64_t wakeStart = 0;
  if (lingerMs_ && loop_) {
    uv_update_time(loop_);
    wakeStart = uv_now(loop_);
  }
  while (state_ == State::Open) {
    if (done >= maxPacketsPerWake_) {
      stats_.budgetYields++;
      break;
    }
    uint32_t n = FillBatch(true, MayWait(wakeStart));
    if (n == 0) break;
    Deliver(n);
    done += n;
    // Packets that arrived while JavaScript ran, or arrive soon (MayWait), are taken in this
    // wake-up: a recvmmsg costs less than a trip through the event loop per batch.
    drained_ = false;
  }
  // Messages already received must not wait for a readiness event that may never come.
  while (state_ == State::Open && HavePending()) {
    uint32_t n = FillBatch(false, false);
    if (n == 0) break;
    Deliver(n);
  }
  turn_ = nullptr;
  // Closing the callback scope runs process.nextTick callbacks and microtasks queued by the handler.
  if (turn.callback) napi_close_callback_scope(env_, turn.callback);
  if (turn.handles) napi_close_handle_scope(env_, turn.handles);
  if (state_ != State::Open) asyncCtx_.reset();
}

// Whether the next receive of this wake-up may wait (up to the socket's receive timeout, kLingerWaitMs)
// for packets instead of going back to the event loop when the socket is empty. One turn of Node's
// loop (epoll_wait, timers, the check phase with its callback scope, then our own callback scope)
// costs more than the few packets a small batch carries, and under steady traffic the next packets
// come within microseconds: a consumer that blocks in recvmmsg, as a C consumer does, pays one
// syscall per batch instead. It may wait while the wake-up is younger than lingerMs_ and no timer of
// the loop falls due within the wait. What else the loop watches (the supervisor's messages, the
// route socket) waits at most lingerMs_ plus one wait; microtasks and nextTicks the handler queued
// run when the wake-up ends.
bool Queue::MayWait(uint64_t wakeStartMs) {
  // A failed call into JavaScript means the environment is going away: let its loop turn.
  if (lingerMs_ == 0 || loop_ == nullptr || turn_->failed) return false;
  // One clock read: the loop's time, which uv_backend_timeout measures timers against too.
  uv_update_time(loop_);
  if (uv_now(loop_) - wakeStartMs >= lingerMs_) return false;
  int timerMs = uv_backend_timeout(loop_);  // -1: no timer; 0: something is due or pending
  return timerMs < 0 || timerMs > kLingerWaitMs;
}

// The first JavaScript call of a wake-up opens one callback scope (what napi_make_callback opens and
// closes around every call) for the whole wake-up: entering it and draining the microtask queue once
// per wake-up rather than once per batch. Returns false when no scope could be opened (environment
// going away): then no JavaScript runs.
bool Queue::EnterJs() {
  JsTurn& t = *turn_;
  if (t.callback) return true;
  if (t.failed) return false;
  napi_value recv = nullptr;
  if (napi_open_handle_scope(env_, &t.handles) != napi_ok) t.handles = nullptr;
  napi_get_reference_value(env_, static_cast<napi_ref>(*this), &recv);
  if (!t.handles || !recv || !asyncCtx_ || napi_open_callback_scope(env_, recv, *asyncCtx_, &t.callback) != napi_ok) {
    t.callback = nullptr;
    t.failed = true;
    return false;
  }
  t.recv = recv;
  napi_get_reference_value(env_, static_cast<napi_ref>(onBatch_), &t.onBatch);
  return true;
}

// Fills table rows from received messages, receiving more while rows are free and the socket has
// data. Stops early when the next packet does not fit the buffer: it stays in its receive slot for
// the next batch.
uint32_t Queue::FillBatch(bool allowRecv, bool mayWait) {
  uint32_t count = 0;
  uint32_t off = 0;
  while (count < tableRows_) {
    if (!HavePending()) {
      if (!allowRecv || drained_) break;
      uint32_t vlen = std::min(nslots_, tableRows_ - count);
      // Waiting only for the first message of a batch (MSG_WAITFORONE): the socket blocks, for at
      // most its receive timeout (MayWait).
      bool wait = mayWait && count == 0;
      if (wait) stats_.lingerWaits++;
      int r = recvmmsg(fd_, msgs_.get(), vlen, wait ? MSG_WAITFORONE : MSG_DONTWAIT, nullptr);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno == ENOBUFS) {
          stats_.enobufs++;
          continue;
        }
        if (errno != EAGAIN) stats_.recvErrors++;
        drained_ = true;
        break;
      }
      stats_.recvCalls++;
      pendCount_ = static_cast<uint32_t>(r);
      pendSlot_ = 0;
      pendOff_ = 0;
      // Fewer messages than asked for: the socket is empty for now; new ones wake the poll again.
      if (static_cast<uint32_t>(r) < vlen) drained_ = true;
      if (r == 0) break;
    }
    const uint8_t* slot = scratch_.get() + static_cast<size_t>(pendSlot_) * kSlotStride;
    uint32_t avail = msgs_[pendSlot_].msg_len;
    nl::Message m;
    // pendOff_ moves past the message only once it is taken: one that does not fit this batch stays.
    uint32_t next = pendOff_;
    // At the end of the datagram, or at an impossible length (the rest of it is dropped): next slot.
    if (!nl::NextMessage(slot, avail, &next, &m)) {
      pendSlot_++;
      pendOff_ = 0;
      continue;
    }
    if (m.hdr->nlmsg_type == QueueMsgType(NFQNL_MSG_PACKET)) {
      PacketView v;
      if (ReadPacket(m.Bytes(), m.have, v)) {
        uint32_t plen = v.payload ? v.payloadLen : 0;
        // The packet's length in the kernel: NFQA_CAP_LEN when the kernel copied less, the payload
        // attribute's own length when our receive slot cut it.
        uint32_t origLen = std::max(plen, std::max(v.capLen, v.payloadDeclared));
        bool trunc = origLen > plen;
        if (off + plen + kTailroom > bufLen_) {
          if (count > 0) break;  // next batch; the message stays pending
          // Not even an empty buffer holds it (the constructor's minimum rules this out): hand over
          // what fits, as a truncated copy, rather than stall on this message for ever.
          plen = static_cast<uint32_t>(bufLen_ - kTailroom);
          trunc = true;
        }
        if (plen) std::memcpy(buf_ + off, v.payload, plen);
        uint32_t* row = table_ + static_cast<size_t>(count) * kStride;
        row[kId] = v.id;
        row[kOffset] = off;
        row[kLength] = plen;
        row[kOrigLength] = origLen;
        row[kHook] = v.hook;
        row[kFamily] = v.hwProtocol == 0x0800 ? 4 : v.hwProtocol == 0x86dd ? 6 : 0;
        row[kIndev] = v.indev;
        row[kOutdev] = v.outdev;
        row[kMark] = v.mark;
        row[kFlags] = (trunc ? kFlagTruncated : 0) | ((v.skbInfo & NFQA_SKB_CSUMNOTREADY) ? kFlagCsumNotReady : 0) |
                      ((v.skbInfo & NFQA_SKB_CSUM_NOTVERIFIED) ? kFlagCsumNotVerified : 0) |
                      ((v.skbInfo & NFQA_SKB_GSO) ? kFlagGso : 0);
        row[kVerdict] = kVerdictAccept;
        row[kNewLength] = 0;
        ids_[count] = v.id;
        offs_[count] = off;
        lens_[count] = plen;
        locked_[count] = trunc ? 1 : 0;
        minLens_[count] = MinNewLength(buf_ + off, plen);
        if (trunc) stats_.truncated++;
        if (haveId_) {
          int32_t gap = static_cast<int32_t>(v.id - lastId_);
          if (gap > 1) stats_.idGaps += gap - 1;
        }
        lastId_ = v.id;
        haveId_ = true;
        stats_.bytes += plen;
        off = AlignUp(off + plen + kTailroom, kPacketAlign);
        ++count;
      }
    } else if (m.hdr->nlmsg_type == NLMSG_ERROR) {
      NoteError(m);
    } else {
      stats_.otherMessages++;
    }
    pendOff_ = next;
    if (pendOff_ >= avail) {
      pendSlot_++;
      pendOff_ = 0;
    }
  }
  return count;
}

// Raw Node-API calls here, not node-addon-api's wrappers: while a worker is being terminated the call
// into JavaScript fails, and the wrappers turn a failed call into a fatal error. napi_call_function,
// not napi_make_callback: the wake-up's callback scope (EnterJs) is already open.
void Queue::Deliver(uint32_t count) {
  stats_.batches++;
  stats_.packets += count;
  if (count > stats_.batchMax) stats_.batchMax = count;
  stats_.batchHist[HistBucket(count)]++;

  // The handles of a batch (its count and the call's result) live in the wake-up's handle scope: one
  // scope per batch cost a heap allocation per batch, and a wake-up holds a bounded number of batches.
  napi_value recv = nullptr, fn = nullptr, argv[1] = {nullptr}, result = nullptr;
  napi_status st = napi_generic_failure;
  if (EnterJs()) {
    recv = turn_->recv;
    fn = turn_->onBatch;
    napi_create_uint32(env_, count, &argv[0]);
    inCallback_ = true;
    st = recv && fn ? napi_call_function(env_, recv, fn, 1, argv, &result) : napi_generic_failure;
    inCallback_ = false;
  }
  bool pending = false;
  napi_is_exception_pending(env_, &pending);
  napi_value err = nullptr;
  if (pending) napi_get_and_clear_last_exception(env_, &err);
  bool failed = st != napi_ok || pending;
  // Failed without an exception: JavaScript cannot run here any more (worker terminating).
  if (st != napi_ok && !pending) turn_->failed = true;
  // A failed handler may have written half the table: the whole batch goes through unchanged.
  SendVerdicts(count, failed);
  if (failed) {
    stats_.callbackErrors++;
    // No error to report when the call failed because the environment is being torn down.
    if (err) {
      napi_value onError = nullptr;
      if (!onError_.IsEmpty()) napi_get_reference_value(env_, static_cast<napi_ref>(onError_), &onError);
      if (onError) {
        inCallback_ = true;
        napi_call_function(env_, recv, onError, 1, &err, &result);
        inCallback_ = false;
        napi_is_exception_pending(env_, &pending);
        if (pending) {
          napi_value again = nullptr;
          napi_get_and_clear_last_exception(env_, &again);
          if (again) napi_fatal_exception(env_, again);
        }
      } else {
        napi_fatal_exception(env_, err);
      }
    }
  }
  if (closeRequested_) {
    closeRequested_ = false;
    Shutdown();
  }
}

// Verdicts in arrival order. A run of unmodified accepts becomes one NFQNL_MSG_VERDICT_BATCH ("every
// queued id up to N"): every earlier packet already had its verdict earlier in this same sendmsg or
// in an earlier one, and the kernel handles the messages of one sendmsg in order.
void Queue::SendVerdicts(uint32_t count, bool forceAccept) {
  StartChunk();
  uint32_t runLast = 0;
  uint32_t runLen = 0;
  constexpr uint32_t kPlainMsg = kPlainVerdictMsg;
  auto room = [this](size_t need) {
    if (out_.Len() + need > sendLimit_) FlushVerdicts();
  };
  auto flushRun = [&]() {
    if (runLen == 0) return;
    room(kPlainMsg);
    PutVerdict(out_, runLen == 1 ? NFQNL_MSG_VERDICT : NFQNL_MSG_VERDICT_BATCH, queueNum_, runLast, NF_ACCEPT, nullptr,
               0);
    chunkLastId_ = runLast;
    stats_.verdictMessages++;
    runLen = 0;
  };
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t* row = table_ + static_cast<size_t>(i) * kStride;
    uint32_t verdict = forceAccept ? kVerdictAccept : row[kVerdict];
    uint32_t newLen = forceAccept ? 0 : row[kNewLength];
    if (verdict != kVerdictAccept && verdict != kVerdictDrop) {
      stats_.badVerdicts++;
      verdict = kVerdictAccept;
      newLen = 0;
    }
    if (newLen != 0 &&
        (locked_[i] || newLen < minLens_[i] || newLen > lens_[i] + kTailroom || newLen > kMaxCopyRange)) {
      stats_.badVerdicts++;
      newLen = 0;
    }
    if (verdict == kVerdictAccept)
      stats_.accepted++;
    else
      stats_.dropped++;
    if (verdict == kVerdictAccept && newLen == 0 && batchVerdicts_) {
      runLast = ids_[i];
      runLen++;
      continue;
    }
    flushRun();
    room(kPlainMsg + NLA_HDRLEN + NLA_ALIGN(newLen));
    PutVerdict(out_, NFQNL_MSG_VERDICT, queueNum_, ids_[i], verdict == kVerdictAccept ? NF_ACCEPT : NF_DROP,
               newLen ? buf_ + offs_[i] : nullptr, newLen);
    chunkLastId_ = ids_[i];
    if (newLen) stats_.modified++;
    stats_.verdictMessages++;
  }
  flushRun();
  FlushVerdicts();
}

// A new sendmsg's worth of verdicts. If an earlier one failed for good, its packets are still queued in
// the kernel: this one starts with NFQNL_MSG_VERDICT_BATCH ACCEPT up to the failed one's highest id.
// The kernel accepts every queued id <= that (nfqnl_recv_verdict_batch / find_dequeue_entries), which
// can only be packets of the failed sendmsg: everything earlier got its verdict in an earlier sendmsg
// (or was released the same way), and every verdict written after it in this sendmsg is for a later
// id, and the kernel handles one sendmsg's messages in order.
void Queue::StartChunk() {
  out_.Reset();
  if (!releasePending_) return;
  PutVerdict(out_, NFQNL_MSG_VERDICT_BATCH, queueNum_, releaseId_, NF_ACCEPT, nullptr, 0);
  chunkLastId_ = releaseId_;
  stats_.verdictMessages++;
}

// Sends out_. One failure (SendAll already retried the transient errors) gets one more try once the
// socket is writable; if that fails too, the packets stay queued until the next sendmsg releases
// them (StartChunk), or close() does.
void Queue::FlushVerdicts() {
  if (out_.Len() == 0) return;
  stats_.verdictSends++;
  int err = nl::SendToKernel(fd_, out_.Data(), out_.Len());
  if (err != 0) {
    nl::WaitFor(fd_, POLLOUT, kRetryPollMs);
    err = nl::SendToKernel(fd_, out_.Data(), out_.Len());
  }
  if (err == 0) {
    releasePending_ = false;
  } else {
    stats_.sendErrors++;
    releasePending_ = true;
    releaseId_ = chunkLastId_;
  }
  StartChunk();
}

Napi::Value Queue::Close(const Napi::CallbackInfo& info) {
  if (inCallback_) {
    // Inside the handler: the batch's verdicts go first, then the queue closes.
    if (state_ == State::Open) closeRequested_ = true;
  } else {
    Shutdown();
  }
  return info.Env().Undefined();
}

// Stop polling; stop new packets entering the queue (StopQueueing: they pass unchanged); accept every
// packet still in flight with one VERDICT_BATCH; unbind; close.
void Queue::Shutdown() {
  if (state_ != State::Open) return;
  state_ = State::Closed;
  if (watch_) {
    watch_->Close();
    watch_ = nullptr;
  }
  if (fd_ >= 0) {
    uint32_t inFlight = 0;
    // Messages received but never handed to JavaScript.
    while (HavePending()) {
      const uint8_t* slot = scratch_.get() + static_cast<size_t>(pendSlot_) * kSlotStride;
      inFlight += NoteDatagram(slot, msgs_[pendSlot_].msg_len, pendOff_);
      pendSlot_++;
      pendOff_ = 0;
    }
    // Waiting for its answer also reads every packet message the socket holds before it.
    StopQueueing(&inFlight);
    for (;;) {  // anything that raced the config change
      uint8_t* slot = scratch_.get();
      long n = nl::ReceiveNow(fd_, slot, kSlotStride);
      if (n < 0) break;
      inFlight += NoteDatagram(slot, static_cast<uint32_t>(n), 0);
    }
    stats_.closeAccepted += inFlight;
    if (haveId_ && (inFlight > 0 || releasePending_)) {
      out_.Reset();
      PutVerdict(out_, NFQNL_MSG_VERDICT_BATCH, queueNum_, lastId_, NF_ACCEPT, nullptr, 0);
      nl::SendToKernel(fd_, out_.Data(), out_.Len());
      out_.Reset();
      releasePending_ = false;
    }
    Unbind(nullptr);
    close(fd_);
    fd_ = -1;
  }
  ReleaseJs();
}

void Queue::ReleaseJs() {
  onBatch_.Reset();
  onError_.Reset();
  bufRef_.Reset();
  tableRef_.Reset();
  // A wake-up's callback scope was opened with it: Drain drops it after closing the scope.
  if (!turn_) asyncCtx_.reset();
  buf_ = nullptr;
  table_ = nullptr;
  if (selfRef_) {
    selfRef_ = false;
    uint32_t left = 0;
    napi_reference_unref(env_, static_cast<napi_ref>(*this), &left);
  }
}

Napi::Value Queue::GetPortId(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), portId_); }

Napi::Value Queue::IsOpen(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), state_ == State::Open && !closeRequested_);
}

Napi::Value Queue::GetStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  const Stats& s = stats_;
  o.Set("packets", s.packets);
  o.Set("batches", s.batches);
  o.Set("batchMax", s.batchMax);
  Napi::Array hist = Napi::Array::New(env, 12);
  for (uint32_t i = 0; i < 12; ++i) hist.Set(i, s.batchHist[i]);
  o.Set("batchHistogram", hist);
  o.Set("bytes", s.bytes);
  o.Set("wakeups", s.wakeups);
  o.Set("budgetYields", s.budgetYields);
  o.Set("lingerWaits", s.lingerWaits);
  o.Set("recvCalls", s.recvCalls);
  o.Set("recvErrors", s.recvErrors);
  o.Set("enobufs", s.enobufs);
  o.Set("idGaps", s.idGaps);
  o.Set("truncated", s.truncated);
  o.Set("accepted", s.accepted);
  o.Set("dropped", s.dropped);
  o.Set("modified", s.modified);
  o.Set("badVerdicts", s.badVerdicts);
  o.Set("verdictMessages", s.verdictMessages);
  o.Set("verdictSends", s.verdictSends);
  o.Set("sendErrors", s.sendErrors);
  o.Set("verdictErrors", s.verdictErrors);
  o.Set("lastVerdictErrno", s.lastVerdictErrno);
  o.Set("callbackErrors", s.callbackErrors);
  o.Set("startupAccepted", s.startupAccepted);
  o.Set("closeAccepted", s.closeAccepted);
  o.Set("otherMessages", s.otherMessages);
  return o;
}

}  // namespace nfq
