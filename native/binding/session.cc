#include "binding/session.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <utility>

#include "backends/registry.h"
#include "binding/addon_data.h"
#include "binding/js_values.h"
#include "binding/model_spec_from_js.h"
#include "binding/promise_worker.h"
#include "common/errors.h"

namespace trt_rerank {

// What a scheduler thread posts to the JS thread.
struct SessionEvent {
  enum class Kind { Retired,
                    Drained } kind;
  SessionCore* core;
  uint64_t call = 0;
  CallOutcome outcome;
};

namespace {

AddonData& addonData(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

// An Error with a code property (JS thread).
Napi::Value codedError(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error.Value();
}

Napi::Object histogramValue(Napi::Env env, const Histogram& h) {
  Napi::Object out = Napi::Object::New(env);
  Napi::Array le = Napi::Array::New(env, h.le.size());
  for (size_t i = 0; i < h.le.size(); ++i) le.Set(i, h.le[i]);
  Napi::Array counts = Napi::Array::New(env, h.counts.size());
  for (size_t i = 0; i < h.counts.size(); ++i) counts.Set(i, static_cast<double>(h.counts[i]));
  out.Set("le", le);
  out.Set("counts", counts);
  out.Set("sum", h.sum);
  out.Set("count", static_cast<double>(h.count));
  return out;
}

Napi::Object percentilesValue(Napi::Env env, const Window& w) {
  const Window::Percentiles p = w.percentiles();
  Napi::Object out = Napi::Object::New(env);
  out.Set("p50", p.p50);
  out.Set("p90", p.p90);
  out.Set("p99", p.p99);
  out.Set("max", p.max);
  return out;
}

Napi::Object resultValue(Napi::Env env, const CallOutcome& o) {
  Napi::Object out = Napi::Object::New(env);
  Napi::Int32Array indices = Napi::Int32Array::New(env, o.indices.size());
  std::copy(o.indices.begin(), o.indices.end(), indices.Data());
  Napi::Float32Array scores = Napi::Float32Array::New(env, o.scores.size());
  std::copy(o.scores.begin(), o.scores.end(), scores.Data());
  Napi::Object timings = Napi::Object::New(env);
  timings.Set("pairs", static_cast<double>(o.timings.pairs));
  timings.Set("tokens", static_cast<double>(o.timings.tokens));
  timings.Set("batches", static_cast<double>(o.timings.batches));
  timings.Set("queueMs", o.timings.queueMs);
  timings.Set("runMs", o.timings.runMs);
  out.Set("indices", indices);
  out.Set("scores", scores);
  out.Set("timings", timings);
  return out;
}

// Settles what waits on a retired call (JS thread).
void settleRetired(Napi::Env env, PendingCall& call) {
  const CallOutcome& o = call.outcome;
  if (call.finish) {
    if (o.code) call.finish->Reject(codedError(env, o.code, o.message));
    else call.finish->Resolve(resultValue(env, o));
    call.finish.reset();
  }
  if (call.drain) {
    if (o.code) call.drain->Reject(codedError(env, o.code, o.message));
    else call.drain->Resolve(env.Undefined());
    call.drain.reset();
  }
  for (auto& c : call.cancels) c.Resolve(env.Undefined());
  call.cancels.clear();
}

// Runs on the JS thread for each event (env is null once the environment is going away: drop it).
void dispatchEvent(Napi::Env env, Napi::Function, SessionEvent* event) {
  std::unique_ptr<SessionEvent> owned(event);
  if (env == nullptr) return;
  Napi::HandleScope scope(env);
  SessionCore& core = *owned->core;
  auto found = core.calls.find(owned->call);
  if (found == core.calls.end()) return;
  PendingCall& call = *found->second;
  if (owned->kind == SessionEvent::Kind::Drained) {
    if (call.drain) {
      call.drain->Resolve(env.Undefined());
      call.drain.reset();
    }
    return;
  }
  call.retired = true;
  call.outcome = std::move(owned->outcome);
  std::shared_ptr<PendingCall> keep = found->second;  // the Request object may hold the last other reference
  core.calls.erase(found);
  settleRetired(env, call);
  if (--core.unsettled == 0 && !core.closed) core.events.Unref(env);
}

// Closes the scheduler (blocking: batches in flight drain), lets the event function go once its queue is
// delivered, and frees the model.
// The lock guards only the pointer: the JS thread's calls meanwhile find a closing scheduler (ERR_CLOSED), never
// a wait for the batches in flight.
void shutDown(SessionCore& core) {
  Scheduler* running = nullptr;
  {
    std::lock_guard<std::mutex> lock(core.schedulerMutex);
    running = core.scheduler.get();
  }
  if (running) running->close();
  std::unique_ptr<Scheduler> scheduler;
  {
    std::lock_guard<std::mutex> lock(core.schedulerMutex);
    if (core.scheduler) core.finalStats = core.scheduler->stats();
    scheduler = std::move(core.scheduler);
  }
  {
    // Not once the function is finalized (env teardown finalizes it before the exit hook runs).
    std::lock_guard<std::mutex> lock(core.postMutex);
    if (core.posting) core.events.Release();
  }
  scheduler.reset();
  {
    std::lock_guard<std::mutex> lock(core.doneMutex);
    core.shutDownDone = true;
  }
  core.doneChanged.notify_all();
}

class LoadWorker : public PromiseWorker {
 public:
  LoadWorker(Napi::Env env, std::string backend, std::unique_ptr<ModelSpec> spec, BackendOptions options)
      : PromiseWorker(env, "trt_rerank.load"), backend_(std::move(backend)), spec_(std::move(spec)), options_(std::move(options)) {}

 protected:
  void work() override {
    core_ = std::make_shared<SessionCore>();
    SessionCore* core = core_.get();
    SchedulerEvents events;
    events.retired = [core](CallOutcome&& outcome) {
      const uint64_t id = outcome.call;
      core->post(new SessionEvent{SessionEvent::Kind::Retired, core, id, std::move(outcome)});
    };
    events.drained = [core](uint64_t id) { core->post(new SessionEvent{SessionEvent::Kind::Drained, core, id, {}}); };
    core_->scheduler = std::make_unique<Scheduler>(createExecutor(backend_, spec_.get(), options_), options_.maxQueuedPairs, std::move(events));
  }
  Napi::Value result(Napi::Env env) override {
    // The event function's context keeps the core alive until it is finalized (after close() released it).
    auto* holder = new std::shared_ptr<SessionCore>(core_);
    core_->events = Napi::ThreadSafeFunction::New(
        env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "trt_rerank.events", 0, 1, holder,
        [](Napi::Env, std::shared_ptr<SessionCore>* context) {
          {
            std::lock_guard<std::mutex> lock((*context)->postMutex);
            (*context)->posting = false;
          }
          delete context;
        });
    core_->events.Unref(env);
    return Session::wrap(env, std::move(core_));
  }

 private:
  std::string backend_;
  std::unique_ptr<ModelSpec> spec_;
  BackendOptions options_;
  std::shared_ptr<SessionCore> core_;
};

class CloseWorker : public PromiseWorker {
 public:
  CloseWorker(Napi::Env env, std::shared_ptr<SessionCore> core) : PromiseWorker(env, "trt_rerank.close"), core_(std::move(core)) {}

 protected:
  void work() override { shutDown(*core_); }

 private:
  std::shared_ptr<SessionCore> core_;
};

template <typename T>
bool isTyped(const Napi::Value& v, napi_typedarray_type type) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == type;
}

}  // namespace

void SessionCore::post(SessionEvent* event) {
  std::lock_guard<std::mutex> lock(postMutex);
  if (!posting || events.NonBlockingCall(event, dispatchEvent) != napi_ok) delete event;
}

// ---- Session --------------------------------------------------------------------------------------

Napi::Function Session::define(Napi::Env env) {
  return DefineClass(env, "Session",
                     {InstanceMethod<&Session::createRequest>("createRequest"), InstanceMethod<&Session::close>("close"),
                      InstanceMethod<&Session::stats>("stats"), InstanceAccessor<&Session::backendName>("backend"),
                      InstanceAccessor<&Session::memoryBytes>("memoryBytes"), InstanceAccessor<&Session::numLabels>("numLabels"),
                      InstanceAccessor<&Session::maxBatchSize>("maxBatchSize"),
                      InstanceAccessor<&Session::maxBatchTokens>("maxBatchTokens"),
                      InstanceAccessor<&Session::maxQueuedPairs>("maxQueuedPairs"),
                      InstanceAccessor<&Session::padsBatches>("padsBatches"), InstanceAccessor<&Session::maxLength>("maxLength"),
                      InstanceAccessor<&Session::counters>("counters"), InstanceAccessor<&Session::slots>("slots")});
}

Session::Session(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Session>(info) {}

// A Session dropped without close(): close it off the JS thread (joining the scheduler blocks).
Session::~Session() {
  if (!core_ || core_->closed) return;
  core_->closed = true;
  std::thread([core = core_] { shutDown(*core); }).detach();
}

Napi::Object Session::wrap(Napi::Env env, std::shared_ptr<SessionCore> core) {
  auto& sessions = addonData(env).sessions;
  sessions.erase(std::remove_if(sessions.begin(), sessions.end(), [](const auto& weak) { return weak.expired(); }), sessions.end());
  sessions.push_back(core);
  Napi::Object object = addonData(env).sessionConstructor.New({});
  Unwrap(object)->core_ = std::move(core);
  return object;
}

Napi::Value Session::createRequest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!core_) throwJsError(env, kErrInvalidArgument, "Session objects are made by loadSession()");
  if (core_->closed) throwJsError(env, kErrClosed, "the session is closed");
  const auto count = static_cast<int32_t>(js::integer(env, info[0], "count", 0, INT32_MAX - 1));
  const std::string activation = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  if (activation != "sigmoid" && activation != "none") throwJsError(env, kErrInvalidArgument, "activation must be 'sigmoid' or 'none'");
  auto call = std::make_shared<PendingCall>();
  call->count = count;
  try {
    std::lock_guard<std::mutex> lock(core_->schedulerMutex);
    if (!core_->scheduler) throw NativeError(kErrClosed, "the session is closed");
    call->id = core_->scheduler->admit(count, activation == "sigmoid" ? ScoreActivation::Sigmoid : ScoreActivation::None);
  } catch (const NativeError& e) {
    throwJsError(env, e.code(), e.what());
  }
  core_->calls.emplace(call->id, call);
  if (core_->unsettled++ == 0) core_->events.Ref(env);
  return Request::wrap(env, core_, std::move(call));
}

Napi::Value Session::close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!core_) throwJsError(env, kErrInvalidArgument, "Session objects are made by loadSession()");
  if (core_->closed) {
    auto done = Napi::Promise::Deferred::New(env);
    done.Resolve(env.Undefined());
    return done.Promise();
  }
  core_->closed = true;
  core_->events.Ref(env);  // until every call's ERR_CLOSED is delivered and the function is released
  auto* worker = new CloseWorker(env, core_);
  worker->Queue();
  return worker->promise();
}

// The live counters while the scheduler exists (also while it closes), its last ones after.
Napi::Value Session::stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!core_) return env.Null();
  SchedulerStats st;
  {
    std::lock_guard<std::mutex> lock(core_->schedulerMutex);
    if (core_->scheduler) st = core_->scheduler->stats();
    else if (core_->finalStats) st = *core_->finalStats;
    else return env.Null();
  }
  Napi::Object out = Napi::Object::New(env);
  const auto number = [&](const char* name, double v) { out.Set(name, v); };
  number("calls", static_cast<double>(st.calls));
  number("failedCalls", static_cast<double>(st.failedCalls));
  number("rejectedCalls", static_cast<double>(st.rejectedCalls));
  number("pairs", static_cast<double>(st.pairs));
  number("tokens", static_cast<double>(st.tokens));
  number("batches", static_cast<double>(st.batches));
  number("contexts", static_cast<double>(st.contexts));
  number("sharedTokens", static_cast<double>(st.sharedTokens));
  number("activeCalls", static_cast<double>(st.activeCalls));
  number("queuedPairs", static_cast<double>(st.queuedPairs));
  number("maxBatchTokens", static_cast<double>(st.maxBatchTokens));
  number("maxBatchPairs", st.maxBatchPairs);
  number("maxQueuedPairs", static_cast<double>(st.maxQueuedPairs));
  out.Set("batchFill", histogramValue(env, st.batchFill));
  out.Set("batchPairs", histogramValue(env, st.batchPairs));
  out.Set("batchTokens", histogramValue(env, st.batchTokens));
  out.Set("queueSeconds", histogramValue(env, st.queueSeconds));
  out.Set("runSeconds", histogramValue(env, st.runSeconds));
  out.Set("queueMs", percentilesValue(env, st.queueMs));
  out.Set("runMs", percentilesValue(env, st.runMs));
  return out;
}

// What an accessor answers: fn(scheduler) while the session is open, else `closed` (also for a Session made from
// JS without loadSession, which has no core).
template <typename Fn>
Napi::Value Session::schedulerValue(Napi::Value closed, Fn&& fn) const {
  if (!core_ || core_->closed) return closed;
  std::lock_guard<std::mutex> lock(core_->schedulerMutex);
  return core_->scheduler ? fn(static_cast<const Scheduler&>(*core_->scheduler)) : closed;
}

Napi::Value Session::backendName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return schedulerValue(Napi::String::New(env, "closed"), [&](const Scheduler& s) { return Napi::String::New(env, s.executor().backendName()); });
}

Napi::Value Session::memoryBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return schedulerValue(Napi::Number::New(env, 0),
                        [&](const Scheduler& s) { return Napi::Number::New(env, static_cast<double>(s.executor().memoryBytes())); });
}

Napi::Value Session::numLabels(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return schedulerValue(Napi::Number::New(env, 0), [&](const Scheduler& s) { return Napi::Number::New(env, s.executor().numLabels()); });
}

Napi::Value Session::maxBatchSize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return schedulerValue(Napi::Number::New(env, 0), [&](const Scheduler& s) { return Napi::Number::New(env, s.executor().limits().maxBatchPairs); });
}

Napi::Value Session::maxBatchTokens(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return schedulerValue(Napi::Number::New(env, 0), [&](const Scheduler& s) {
    return Napi::Number::New(env, static_cast<double>(s.executor().limits().maxBatchTokens));
  });
}

Napi::Value Session::maxQueuedPairs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return schedulerValue(Napi::Number::New(env, 0), [&](const Scheduler& s) { return Napi::Number::New(env, static_cast<double>(s.maxQueuedPairs())); });
}

Napi::Value Session::padsBatches(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return schedulerValue(Napi::Boolean::New(env, false), [&](const Scheduler& s) { return Napi::Boolean::New(env, s.executor().limits().padsBatches); });
}

Napi::Value Session::maxLength(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return schedulerValue(Napi::Number::New(env, 0), [&](const Scheduler& s) { return Napi::Number::New(env, s.executor().limits().maxLength); });
}

Napi::Value Session::counters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return schedulerValue(Napi::Object::New(env), [&](const Scheduler& s) {
    Napi::Object out = Napi::Object::New(env);
    for (const auto& [name, value] : s.executor().counters()) out.Set(name, value);
    return out;
  });
}

Napi::Value Session::slots(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return schedulerValue(Napi::Number::New(env, 0), [&](const Scheduler& s) { return Napi::Number::New(env, s.executor().limits().slots); });
}

// ---- Request --------------------------------------------------------------------------------------

Napi::Function Request::define(Napi::Env env) {
  return DefineClass(env, "Request",
                     {InstanceMethod<&Request::submit>("submit"), InstanceMethod<&Request::finish>("finish"),
                      InstanceMethod<&Request::cancel>("cancel")});
}

Request::Request(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Request>(info) {}

// A Request dropped before it retired, and before finish() (whose promise then holds the call), leaves the queue,
// so its arena range comes back.
Request::~Request() {
  if (!core_ || !call_ || call_->retired || call_->finish) return;
  std::lock_guard<std::mutex> lock(core_->schedulerMutex);
  if (core_->scheduler) core_->scheduler->cancel(call_->id, kErrCancelled, "the request was dropped");
}

Napi::Object Request::wrap(Napi::Env env, std::shared_ptr<SessionCore> core, std::shared_ptr<PendingCall> call) {
  Napi::Object object = addonData(env).requestConstructor.New({});
  Request* request = Unwrap(object);
  request->core_ = std::move(core);
  request->call_ = std::move(call);
  return object;
}

Napi::Value Request::submit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!call_) throwJsError(env, kErrInvalidArgument, "Request objects are made by Session.createRequest()");
  if (call_->retired) throwJsError(env, call_->outcome.code ? call_->outcome.code : kErrInvalidArgument,
                                   call_->outcome.code ? call_->outcome.message : "submit() after the call finished");
  if (call_->drain) throwJsError(env, kErrInvalidArgument, "submit() before the promise of the previous submit() settled");
  if (!isTyped<int32_t>(info[0], napi_int32_array) || !isTyped<uint8_t>(info[1], napi_uint8_array) || !isTyped<int32_t>(info[2], napi_int32_array)) {
    throwJsError(env, kErrInvalidArgument, "submit(ids: Int32Array, typeIds: Uint8Array, offsets: Int32Array, firstIndex)");
  }
  Napi::Int32Array ids = info[0].As<Napi::Int32Array>();
  Napi::Uint8Array typeIds = info[1].As<Napi::Uint8Array>();
  Napi::Int32Array offsets = info[2].As<Napi::Int32Array>();
  const auto firstIndex = static_cast<int32_t>(js::integer(env, info[3], "firstIndex", 0, call_->count));
  const size_t count = offsets.ElementLength() == 0 ? 0 : offsets.ElementLength() - 1;
  if (offsets.ElementLength() == 0 || offsets[0] != 0 || typeIds.ElementLength() != ids.ElementLength() ||
      static_cast<size_t>(offsets[count]) != ids.ElementLength()) {
    throwJsError(env, kErrInvalidArgument, "submit: offsets must start at 0 and end at ids.length, and typeIds.length must equal ids.length");
  }
  for (size_t i = 0; i < count; ++i) {
    if (offsets[i + 1] <= offsets[i]) throwJsError(env, kErrInvalidArgument, "submit: every pair needs at least one token");
  }
  if (static_cast<int64_t>(firstIndex) + static_cast<int64_t>(count) > call_->count) {
    throwJsError(env, kErrInvalidArgument, "submit: documents past the request's count");
  }
  const int32_t* docIndices = nullptr;
  if (!info[4].IsUndefined()) {
    if (!isTyped<int32_t>(info[4], napi_int32_array) || info[4].As<Napi::Int32Array>().ElementLength() != count) {
      throwJsError(env, kErrInvalidArgument, "submit: docIndices must be an Int32Array with one entry per pair");
    }
    docIndices = info[4].As<Napi::Int32Array>().Data();
    for (size_t i = 0; i < count; ++i) {
      if (docIndices[i] < 0 || docIndices[i] >= call_->count) throwJsError(env, kErrInvalidArgument, "submit: docIndices past the request's count");
    }
  }
  TokenBatch batch;
  batch.ids = ids.Data();
  batch.typeIds = typeIds.Data();
  batch.offsets = offsets.Data();
  batch.count = static_cast<int32_t>(count);
  Scheduler::Enqueued result = Scheduler::Enqueued::Retired;
  try {
    std::lock_guard<std::mutex> lock(core_->schedulerMutex);
    if (!core_->scheduler) throw NativeError(kErrClosed, "the session is closed");
    result = core_->scheduler->enqueue(call_->id, batch, docIndices, firstIndex);
  } catch (const NativeError& e) {
    throwJsError(env, e.code(), e.what());
  }
  if (result == Scheduler::Enqueued::Room) {
    call_->submitted += static_cast<int64_t>(count);
    return env.Undefined();
  }
  if (result == Scheduler::Enqueued::Full) call_->submitted += static_cast<int64_t>(count);
  // Full: settles when the call may submit more. Retired (it failed, or was cancelled, and the news is still on
  // its way to this thread): rejects with the call's own error when it arrives.
  call_->drain = Napi::Promise::Deferred::New(env);
  return call_->drain->Promise();
}

Napi::Value Request::finish(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!call_) throwJsError(env, kErrInvalidArgument, "Request objects are made by Session.createRequest()");
  const auto topK = static_cast<int32_t>(js::integer(env, info[0], "topK", 0, INT32_MAX));
  if (call_->finish) throwJsError(env, kErrInvalidArgument, "finish() was called twice");
  auto deferred = Napi::Promise::Deferred::New(env);
  Napi::Promise promise = deferred.Promise();
  if (call_->retired) {  // it failed (or was cancelled) before: its error
    const CallOutcome& o = call_->outcome;
    deferred.Reject(codedError(env, o.code ? o.code : kErrInvalidArgument, o.code ? o.message : "finish() was called twice"));
    return promise;
  }
  try {
    std::lock_guard<std::mutex> lock(core_->schedulerMutex);
    if (!core_->scheduler) throw NativeError(kErrClosed, "the session is closed");
    core_->scheduler->finish(call_->id, topK);  // false: retired, its outcome (an error) settles this promise
  } catch (const NativeError& e) {
    throwJsError(env, e.code(), e.what());
  }
  call_->finish = std::move(deferred);
  return promise;
}

Napi::Value Request::cancel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto deferred = Napi::Promise::Deferred::New(env);
  Napi::Promise promise = deferred.Promise();
  if (!call_ || call_->retired) {
    deferred.Resolve(env.Undefined());
    return promise;
  }
  call_->cancels.push_back(std::move(deferred));
  std::lock_guard<std::mutex> lock(core_->schedulerMutex);
  if (core_->scheduler) core_->scheduler->cancel(call_->id, kErrCancelled, "the request was cancelled");
  return promise;
}

void closeSessionsAtExit(Napi::Env env) {
  for (auto& weak : addonData(env).sessions) {
    std::shared_ptr<SessionCore> core = weak.lock();
    if (!core) continue;
    if (!core->closed) {
      core->closed = true;
      shutDown(*core);
      continue;
    }
    // A close() or a GC'd Session's shutdown still running elsewhere: let it end before the addon goes (bounded,
    // in case a close() was queued that never ran).
    std::unique_lock<std::mutex> lock(core->doneMutex);
    core->doneChanged.wait_for(lock, std::chrono::seconds(30), [&] { return core->shutDownDone; });
  }
}

// ---- loadSession ----------------------------------------------------------------------------------

// `device`: an index, a list of them (one model copy each, repeats allowed), or 'all' ({-1}: every device, at load).
static std::vector<int> devicesOption(Napi::Env env, Napi::Value v) {
  const std::string what = "loadSession options 'device'";
  if (v.IsUndefined()) return {0};
  if (v.IsString()) {
    if (v.As<Napi::String>().Utf8Value() == "all") return {-1};
    throwJsError(env, kErrInvalidArgument, what + " must be a device index, a list of them or 'all'");
  }
  if (!v.IsArray()) return {static_cast<int>(js::integer(env, v, what, 0, 1024))};
  const Napi::Array list = v.As<Napi::Array>();
  if (list.Length() == 0 || list.Length() > 255) throwJsError(env, kErrInvalidArgument, what + " lists 1 to 255 devices");
  std::vector<int> devices;
  for (uint32_t i = 0; i < list.Length(); ++i) devices.push_back(static_cast<int>(js::integer(env, list.Get(i), what + "[" + std::to_string(i) + "]", 0, 1024)));
  return devices;
}

Napi::Value loadSession(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[1].IsObject()) throwJsError(env, kErrInvalidArgument, "loadSession(spec: object | null, options: object)");
  std::unique_ptr<ModelSpec> spec;
  if (info[0].IsObject()) spec = std::make_unique<ModelSpec>(modelSpecFromJs(info[0].As<Napi::Object>()));
  const js::Options o(info[1].As<Napi::Object>(), "loadSession options");
  const std::string backend = o.string("backend", "cpu");
  BackendOptions options;
  options.threads = o.integer("threads", 0, 0, 4096);
  options.maxBatchSize = o.integer("maxBatchSize", 0, 0, 1 << 20);
  options.maxBatchTokens = o.integer("maxBatchTokens", 0, 0, 1 << 24);
  options.maxQueuedPairs = o.integer("maxQueuedPairs", 1 << 18, 1, 1 << 26);
  options.warmup = o.boolean("warmup", true);
  options.sharePrefixes = o.boolean("sharePrefixes", true);
  options.devices = devicesOption(env, info[1].As<Napi::Object>().Get("device"));
  options.device = options.devices[0] < 0 ? 0 : options.devices[0];
  options.cpuReplicas = o.integer("cpuReplicas", 1, 1, 8);
  options.concurrency = o.integer("concurrency", 2, 1, 64);
  options.maxLength = o.integer("maxLength", 512, 1, 1 << 20);
  options.padded = o.choice("layout", {"packed", "padded"}, "packed") == "padded";
  options.numLabels = o.integer("numLabels", 1, 1, 2);
  options.spinPerToken = o.integer("spinPerToken", 0, 0, 1 << 20);
  options.fault = o.choice("fault", {"", "bad-launch", "illegal-address"}, "");
  options.faultAtBatch = o.integer("faultAtBatch", 1, 1, INT32_MAX);
  options.engine = o.string("engine", "");
  options.bf16 = o.choice("dtype", {"fp16", "bf16"}, "fp16") == "bf16";
  options.clampMaxLength = o.boolean("clampMaxLength", false);
  options.cudaGraphs = o.boolean("cudaGraphs", true);
  auto* worker = new LoadWorker(env, backend, std::move(spec), std::move(options));
  worker->Queue();
  return worker->promise();
}

}  // namespace trt_rerank
