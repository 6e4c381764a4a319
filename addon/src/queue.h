// One bound NFQUEUE queue: the netlink socket, its uv_poll, the drain loop and the verdicts.
#pragma once

#include <napi.h>
#include <sys/socket.h>
#include <uv.h>

#include <cstdint>
#include <memory>

#include "nfqueue_wire.h"
#include "socket_watch.h"

namespace nfq {

struct Stats {
  double packets = 0;          // packets handed to JavaScript
  double batches = 0;          // JavaScript calls
  double batchMax = 0;         // largest batch
  double batchHist[12] = {};   // batches by size: [1], [2,3], [4,7], ... [1024,2047], [2048, inf)
  double bytes = 0;            // packet bytes handed to JavaScript
  double wakeups = 0;          // poll callbacks
  double budgetYields = 0;     // wake-ups that stopped at maxPacketsPerWake
  double lingerWaits = 0;      // receives that could wait for packets rather than return to the event loop
  double recvCalls = 0;        // recvmmsg calls that returned messages
  double recvErrors = 0;       // recvmmsg failures other than EAGAIN/EINTR
  double enobufs = 0;          // ENOBUFS from recv (socket overrun; normally off: NETLINK_NO_ENOBUFS)
  double idGaps = 0;           // packet ids skipped: the kernel could not deliver them (socket full)
  double truncated = 0;        // packets whose copy was shorter than the packet
  double accepted = 0;         // ACCEPT verdicts sent (with or without payload)
  double dropped = 0;          // DROP verdicts sent
  double modified = 0;         // verdicts sent with a new payload
  double badVerdicts = 0;      // table entries with an impossible verdict or length (sent as accept, unchanged)
  double verdictMessages = 0;  // netlink verdict messages (a VERDICT_BATCH message covers a run)
  double verdictSends = 0;     // sendmsg calls for verdicts
  double sendErrors = 0;       // verdict sendmsg failures after the retry (the next sendmsg releases the packets)
  double verdictErrors = 0;    // NLMSG_ERROR answers to verdicts (e.g. ENOENT)
  double lastVerdictErrno = 0;
  double callbackErrors = 0;   // batches whose JavaScript handler threw (accepted unchanged)
  double startupAccepted = 0;  // packets that arrived before the bind was acknowledged (accepted)
  double closeAccepted = 0;    // packets accepted unchanged by close()
  double otherMessages = 0;    // netlink messages of no interest
};

class Queue : public Napi::ObjectWrap<Queue>, private nl::WatchOwner {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Queue(const Napi::CallbackInfo& info);
  ~Queue() override;

 private:
  enum class State { Closed, Open };

  // JavaScript methods.
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value GetStats(const Napi::CallbackInfo& info);
  Napi::Value GetPortId(const Napi::CallbackInfo& info);
  Napi::Value IsOpen(const Napi::CallbackInfo& info);

  // Open: socket, bind, options, config message, ack. Returns false with the JS error thrown.
  bool Open(uint16_t queueNum, uint32_t maxLen, bool failOpen, uint32_t rcvBuf);
  void ThrowOpenError(const char* code, int err, const char* syscall, const char* message);
  // One NFQNL_MSG_CONFIG message, acknowledged; the named wrappers below are the three we send.
  int Configure(const ConfigRequest& r, uint32_t* noted);
  int Bind(uint32_t maxLen, bool failOpen, uint32_t* noted);
  int StopQueueing(uint32_t* noted);
  int Unbind(uint32_t* noted);
  int WaitAck(uint32_t seq, uint16_t type, int timeoutMs, uint32_t* noted);
  uint32_t NoteInFlight(const nl::Message& m);
  uint32_t NoteDatagram(const uint8_t* dgram, uint32_t len, uint32_t off);
  int ProbePermission();

  // Receive path.
  void OnReadable(int status) override;
  void Drain();
  uint32_t FillBatch(bool allowRecv, bool mayWait);
  bool HavePending() const { return pendSlot_ < pendCount_; }
  // One wake-up's JavaScript scopes, opened on its first batch (EnterJs) and closed at its end.
  struct JsTurn {
    napi_handle_scope handles = nullptr;
    napi_callback_scope callback = nullptr;
    napi_value recv = nullptr;     // this queue's JavaScript object, for the whole wake-up
    napi_value onBatch = nullptr;  // the batch handler, for the whole wake-up
    bool failed = false;
  };
  bool EnterJs();
  bool MayWait(uint64_t wakeStartMs);
  void Deliver(uint32_t count);
  void SendVerdicts(uint32_t count, bool forceAccept);
  void StartChunk();
  void FlushVerdicts();
  void NoteError(const nl::Message& m);

  // Close path (no JavaScript runs): used by close(), by the env cleanup hook and the destructor.
  void Shutdown();
  void ReleaseJs();
  void OnEnvTeardown() override { Shutdown(); }

  napi_env env_;
  State state_ = State::Closed;
  bool inCallback_ = false;
  bool closeRequested_ = false;
  bool drained_ = false;
  bool batchVerdicts_ = true;
  bool selfRef_ = false;

  int fd_ = -1;
  uint32_t portId_ = 0;
  uint16_t queueNum_ = 0;
  uint32_t seq_ = 0;
  uint32_t maxPacketsPerWake_ = 1024;
  uint64_t lingerMs_ = 0;             // how long one wake-up may go on waiting for packets (0: never wait)
  uv_loop_t* loop_ = nullptr;         // the loop the socket is polled on
  nl::SocketWatch* watch_ = nullptr;  // while open and polled
  JsTurn* turn_ = nullptr;            // set while Drain runs

  // JavaScript-owned memory (kept alive by the references below).
  uint8_t* buf_ = nullptr;
  size_t bufLen_ = 0;
  uint32_t* table_ = nullptr;
  uint32_t tableRows_ = 0;
  Napi::ObjectReference bufRef_;
  Napi::ObjectReference tableRef_;
  Napi::FunctionReference onBatch_;
  Napi::FunctionReference onError_;
  std::unique_ptr<Napi::AsyncContext> asyncCtx_;

  // Native copies of what the verdict needs, so JavaScript cannot change ids or bounds.
  std::unique_ptr<uint32_t[]> ids_;
  std::unique_ptr<uint32_t[]> offs_;
  std::unique_ptr<uint32_t[]> lens_;
  std::unique_ptr<uint8_t[]> locked_;    // 1 = truncated copy: never send a payload
  std::unique_ptr<uint32_t[]> minLens_;  // shortest new length the kernel takes (MinNewLength)

  // Receive slots for recvmmsg and the messages received but not yet handed to JavaScript.
  uint32_t nslots_ = 0;
  std::unique_ptr<uint8_t[]> scratch_;
  std::unique_ptr<mmsghdr[]> msgs_;
  std::unique_ptr<iovec[]> iovs_;
  uint32_t pendSlot_ = 0;
  uint32_t pendCount_ = 0;
  uint32_t pendOff_ = 0;

  // Highest packet id seen: close() accepts everything up to it with one VERDICT_BATCH.
  uint32_t lastId_ = 0;
  bool haveId_ = false;

  // Verdict messages of the current batch.
  std::unique_ptr<uint8_t[]> sendBuf_;
  size_t sendCap_ = 0;
  size_t sendLimit_ = 0;
  nl::MsgWriter out_{nullptr, 0};
  uint32_t chunkLastId_ = 0;  // highest packet id with a verdict in out_
  // A verdict sendmsg failed even after the retry: its packets are still queued in the kernel. The
  // next sendmsg starts with an accept of every id up to releaseId_ (StartChunk).
  bool releasePending_ = false;
  uint32_t releaseId_ = 0;

  Stats stats_;
};

}  // namespace nfq
