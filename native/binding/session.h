// Session: one loaded model on one backend. Request: one rerank/score call streaming batches into it.
//
// JS side (lib/binding/native.ts types these):
//   loadSession(spec, {backend, threads, ...}) -> Promise<Session>
//   session.createRequest(count, activation) -> Request     scores of `count` documents, one buffer
//   request.submit(ids, typeIds, offsets, firstIndex, docIndices?) -> Promise<void>   one batch of packed
//                     pairs; pair i is document docIndices[i], or firstIndex + i
//   request.finish(topK) -> Promise<{indices, scores}>      topK 0: every score in document order
//   request.cancel() -> Promise<void>   pending and later calls reject ERR_CANCELLED; settles once what the
//                                       request holds (a GPU slot) is given back
//   session.close() -> Promise<void>                         running requests reject ERR_CLOSED
#pragma once

#include <napi.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "backends/backend.h"
#include "pipeline/engine.h"

namespace trt_rerank {

struct RequestState;

// Shared by the Session object, its requests and their workers, so the backend lives until the last
// user is done even if JS drops the Session.
struct SessionCore {
  std::unique_ptr<Engine> engine;

  std::mutex stateMutex;      // guards the fields below, and every RequestState::request
  std::condition_variable idleChanged;
  int active = 0;             // workers running now
  bool closed = false;
  std::vector<std::weak_ptr<RequestState>> requests;
};

struct RequestState {
  std::shared_ptr<SessionCore> core;
  std::shared_ptr<EngineRequest> request;  // reset by close() before the engine goes
  int32_t count = 0;
  int64_t submitted = 0;      // documents submitted so far
  bool busy = false;          // a submit or finish is in flight (JS thread only)
  CancelFlag cancel;
};

class Session : public Napi::ObjectWrap<Session> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<SessionCore> core);
  explicit Session(const Napi::CallbackInfo& info);

 private:
  Napi::Value createRequest(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);
  Napi::Value backendName(const Napi::CallbackInfo& info);
  Napi::Value memoryBytes(const Napi::CallbackInfo& info);
  Napi::Value numLabels(const Napi::CallbackInfo& info);
  Napi::Value maxBatchSize(const Napi::CallbackInfo& info);
  Napi::Value padsBatches(const Napi::CallbackInfo& info);
  Napi::Value maxLength(const Napi::CallbackInfo& info);
  Napi::Value counters(const Napi::CallbackInfo& info);
  Napi::Value slots(const Napi::CallbackInfo& info);
  template <typename Fn>
  Napi::Value engineValue(Napi::Value closed, Fn&& fn) const;

  std::shared_ptr<SessionCore> core_;
};

class Request : public Napi::ObjectWrap<Request> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<RequestState> state);
  explicit Request(const Napi::CallbackInfo& info);

 private:
  Napi::Value submit(const Napi::CallbackInfo& info);
  Napi::Value finish(const Napi::CallbackInfo& info);
  Napi::Value cancel(const Napi::CallbackInfo& info);

  std::shared_ptr<RequestState> state_;
};

// loadSession(spec, options) -> Promise<Session>
Napi::Value loadSession(const Napi::CallbackInfo& info);

}  // namespace trt_rerank
