// Session: one loaded model and its scheduler (pipeline/scheduler.h). Request: one rerank/score call in it.
//
// JS side (lib/binding/native.ts types these):
//   loadSession(spec, {backend, threads, maxBatchSize, maxBatchTokens, maxQueuedPairs, warmup, ...})
//                                                   -> Promise<Session>
//   session.createRequest(count, activation) -> Request    admits the call, or throws ERR_OVERLOADED at once
//   request.submit(ids, typeIds, offsets, firstIndex, docIndices?) -> undefined | Promise<void>
//                     queues a chunk of packed pairs (copied; pair i is document docIndices[i], or firstIndex + i);
//                     a promise means: wait for it before the next chunk (the call has enough queued)
//   request.finish(topK) -> Promise<{indices, scores, timings}>   topK 0: every score in document order
//   request.cancel() -> Promise<void>   the call leaves the queue; settles once no batch in flight holds its pairs
//   session.stats() -> the scheduler's counters (lib/stats.ts)
//   session.close() -> Promise<void>     unfinished calls reject ERR_CLOSED; batches in flight drain
//
// Threads: the scheduler's threads report a call's end (retired) and its room to submit (drained) through one
// thread-safe function per session; its callback, on the JS thread, settles the promises. The function keeps
// the event loop alive only while calls are unsettled.
#pragma once

#include <napi.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "pipeline/scheduler.h"

namespace trt_rerank {

// A call's promises and, once it retired, its outcome (JS thread only).
struct PendingCall {
  uint64_t id = 0;
  int32_t count = 0;
  int64_t submitted = 0;
  std::optional<Napi::Promise::Deferred> finish, drain;
  std::vector<Napi::Promise::Deferred> cancels;
  bool retired = false;
  CallOutcome outcome;
};

struct SessionEvent;

struct SessionCore {
  std::unique_ptr<Scheduler> scheduler;      // reset by close(), off the JS thread
  std::optional<SchedulerStats> finalStats;  // its counters once closed
  mutable std::mutex schedulerMutex;         // guards both (the JS thread reads them, close resets the scheduler)

  // JS thread only:
  bool closed = false;
  int unsettled = 0;  // calls not yet retired: the thread-safe function is ref'd while > 0
  std::unordered_map<uint64_t, std::shared_ptr<PendingCall>> calls;

  // The scheduler threads' way back (see the file comment); `posting` is cleared when it is finalized.
  Napi::ThreadSafeFunction events;
  std::mutex postMutex;
  bool posting = true;
  void post(SessionEvent* event);

  // Set once shutDown() has run to its end (from a CloseWorker, a GC'd Session's thread or the exit hook).
  std::mutex doneMutex;
  std::condition_variable doneChanged;
  bool shutDownDone = false;
};

class Session : public Napi::ObjectWrap<Session> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<SessionCore> core);
  explicit Session(const Napi::CallbackInfo& info);
  ~Session() override;

 private:
  Napi::Value createRequest(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);
  Napi::Value stats(const Napi::CallbackInfo& info);
  Napi::Value backendName(const Napi::CallbackInfo& info);
  Napi::Value memoryBytes(const Napi::CallbackInfo& info);
  Napi::Value numLabels(const Napi::CallbackInfo& info);
  Napi::Value maxBatchSize(const Napi::CallbackInfo& info);
  Napi::Value maxBatchTokens(const Napi::CallbackInfo& info);
  Napi::Value maxQueuedPairs(const Napi::CallbackInfo& info);
  Napi::Value padsBatches(const Napi::CallbackInfo& info);
  Napi::Value maxLength(const Napi::CallbackInfo& info);
  Napi::Value counters(const Napi::CallbackInfo& info);
  Napi::Value slots(const Napi::CallbackInfo& info);
  template <typename Fn>
  Napi::Value schedulerValue(Napi::Value closed, Fn&& fn) const;

  std::shared_ptr<SessionCore> core_;
};

class Request : public Napi::ObjectWrap<Request> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<SessionCore> core, std::shared_ptr<PendingCall> call);
  explicit Request(const Napi::CallbackInfo& info);
  ~Request() override;

 private:
  Napi::Value submit(const Napi::CallbackInfo& info);
  Napi::Value finish(const Napi::CallbackInfo& info);
  Napi::Value cancel(const Napi::CallbackInfo& info);

  std::shared_ptr<SessionCore> core_;
  std::shared_ptr<PendingCall> call_;
};

// loadSession(spec, options) -> Promise<Session>
Napi::Value loadSession(const Napi::CallbackInfo& info);

// The environment is ending (an env cleanup hook, on the JS thread): closes every session still open, waiting for
// its scheduler's threads, so none outlives the addon (a process that exits without close()).
void closeSessionsAtExit(Napi::Env env);

}  // namespace trt_rerank
