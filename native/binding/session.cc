#include "binding/session.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "backends/registry.h"
#include "binding/addon_data.h"
#include "binding/js_values.h"
#include "binding/model_spec_from_js.h"
#include "binding/promise_worker.h"
#include "common/errors.h"

namespace trt_rerank {
namespace {

// Marks a worker as running on the session; refuses once the session is closed. close() waits for
// every ActiveScope to end before it frees the backend.
class ActiveScope {
 public:
  explicit ActiveScope(SessionCore& core) : core_(core) {
    std::lock_guard<std::mutex> lock(core_.stateMutex);
    if (core_.closed) throw NativeError(kErrClosed, "the session is closed");
    ++core_.active;
  }
  ~ActiveScope() {
    {
      std::lock_guard<std::mutex> lock(core_.stateMutex);
      --core_.active;
    }
    core_.idleChanged.notify_all();
  }
  ActiveScope(const ActiveScope&) = delete;
  ActiveScope& operator=(const ActiveScope&) = delete;

 private:
  SessionCore& core_;
};

[[noreturn]] void throwStopped(const RequestState& state) {
  std::lock_guard<std::mutex> lock(state.core->stateMutex);
  if (state.core->closed) throw NativeError(kErrClosed, "the session was closed while the request ran");
  throw NativeError(kErrCancelled, "the request was cancelled");
}

class LoadWorker : public PromiseWorker {
 public:
  LoadWorker(Napi::Env env, std::string backend, std::unique_ptr<ModelSpec> spec, BackendOptions options)
      : PromiseWorker(env, "trt_rerank.load"), backend_(std::move(backend)), spec_(std::move(spec)), options_(std::move(options)) {}

 protected:
  void work() override {
    core_ = std::make_shared<SessionCore>();
    core_->engine = createEngine(backend_, spec_.get(), options_);
  }
  Napi::Value result(Napi::Env env) override { return Session::wrap(env, std::move(core_)); }

 private:
  std::string backend_;
  std::unique_ptr<ModelSpec> spec_;
  BackendOptions options_;
  std::shared_ptr<SessionCore> core_;
};

// Clears the busy mark of a request when its worker settles (on the JS thread).
class RequestWorker : public PromiseWorker {
 public:
  RequestWorker(Napi::Env env, const char* name, std::shared_ptr<RequestState> state)
      : PromiseWorker(env, name), state_(std::move(state)) {
    state_->busy = true;
  }

 protected:
  void beforeSettle() override { state_->busy = false; }

  std::shared_ptr<RequestState> state_;
};

class SubmitWorker : public RequestWorker {
 public:
  SubmitWorker(Napi::Env env, std::shared_ptr<RequestState> state, const Napi::Int32Array& ids,
               const Napi::Uint8Array& typeIds, const Napi::Int32Array& offsets, int32_t firstIndex,
               const Napi::Value& docIndices)
      : RequestWorker(env, "trt_rerank.submit", std::move(state)),
        idsRef_(Napi::Persistent(ids)),
        typeIdsRef_(Napi::Persistent(typeIds)),
        offsetsRef_(Napi::Persistent(offsets)),
        firstIndex_(firstIndex) {
    batch_.ids = ids.Data();
    batch_.typeIds = typeIds.Data();
    batch_.offsets = offsets.Data();
    batch_.count = static_cast<int32_t>(offsets.ElementLength()) - 1;
    if (docIndices.IsTypedArray()) {
      docIndicesRef_ = Napi::Persistent(docIndices.As<Napi::Int32Array>());
      docIndices_ = docIndices.As<Napi::Int32Array>().Data();
    }
  }

 protected:
  void work() override {
    RequestState& state = *state_;
    ActiveScope active(*state.core);
    if (state.cancel.isSet() || !state.request) throwStopped(state);
    try {
      state.request->submit(batch_, docIndices_, firstIndex_, state.cancel);
    } catch (const NativeError& e) {
      if (std::string(e.code()) == kErrCancelled) throwStopped(state);
      throw;
    }
    state.submitted += batch_.count;
  }

 private:
  // The typed arrays stay referenced (so alive) until the worker is destroyed on the JS thread.
  Napi::Reference<Napi::Int32Array> idsRef_;
  Napi::Reference<Napi::Uint8Array> typeIdsRef_;
  Napi::Reference<Napi::Int32Array> offsetsRef_;
  Napi::Reference<Napi::Int32Array> docIndicesRef_;
  TokenBatch batch_;
  const int32_t* docIndices_ = nullptr;
  int32_t firstIndex_;
};

class FinishWorker : public RequestWorker {
 public:
  FinishWorker(Napi::Env env, std::shared_ptr<RequestState> state, int32_t topK)
      : RequestWorker(env, "trt_rerank.finish", std::move(state)), topK_(topK) {}

 protected:
  void work() override {
    RequestState& state = *state_;
    ActiveScope active(*state.core);
    if (state.cancel.isSet() || !state.request) throwStopped(state);
    if (state.submitted != state.count) {
      throw NativeError(kErrInvalidArgument, "finish() called after " + std::to_string(state.submitted) + " of " +
                                                 std::to_string(state.count) + " documents were submitted");
    }
    state.request->finish(topK_, indices_, scores_, state.cancel);
  }
  Napi::Value result(Napi::Env env) override {
    Napi::Object out = Napi::Object::New(env);
    Napi::Int32Array indices = Napi::Int32Array::New(env, indices_.size());
    std::copy(indices_.begin(), indices_.end(), indices.Data());
    Napi::Float32Array scores = Napi::Float32Array::New(env, scores_.size());
    std::copy(scores_.begin(), scores_.end(), scores.Data());
    out.Set("indices", indices);
    out.Set("scores", scores);
    return out;
  }

 private:
  int32_t topK_;
  std::vector<int32_t> indices_;
  std::vector<float> scores_;
};

// After cancel(): gives back what the request holds (a GPU slot) once a submit still running has returned; its
// promise settles when that is done. It keeps the RequestState alive, so close() still finds the request and
// releases it before the engine goes, whichever runs first (release() is idempotent and serialised per request).
class ReleaseWorker : public PromiseWorker {
 public:
  ReleaseWorker(Napi::Env env, std::shared_ptr<RequestState> state, std::shared_ptr<EngineRequest> request)
      : PromiseWorker(env, "trt_rerank.release"), state_(std::move(state)), request_(std::move(request)) {}

 protected:
  void work() override {
    try {
      request_->release();
    } catch (...) {
      // Nothing to report: the request was abandoned, and a lost context is reported by the next call.
    }
  }

 private:
  std::shared_ptr<RequestState> state_;
  std::shared_ptr<EngineRequest> request_;
};

class CloseWorker : public PromiseWorker {
 public:
  CloseWorker(Napi::Env env, std::shared_ptr<SessionCore> core)
      : PromiseWorker(env, "trt_rerank.close"), core_(std::move(core)) {}

 protected:
  void work() override {
    std::unique_lock<std::mutex> lock(core_->stateMutex);
    core_->idleChanged.wait(lock, [this] { return core_->active == 0; });
    // Requests never finished still hold engine resources: release them before the engine goes.
    std::vector<std::shared_ptr<EngineRequest>> requests;
    for (auto& weak : core_->requests) {
      if (auto state = weak.lock()) requests.push_back(std::move(state->request));
    }
    core_->requests.clear();
    lock.unlock();
    for (auto& r : requests) r->release();
    requests.clear();
    core_->engine.reset();  // frees weights and buffers off the JS thread
  }

 private:
  std::shared_ptr<SessionCore> core_;
};

AddonData& addonData(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

int32_t checkedInt(Napi::Env env, const Napi::Value& value, const char* what, int32_t min, int32_t max) {
  if (!value.IsNumber()) throwJsError(env, kErrInvalidArgument, std::string(what) + " must be a number");
  const double d = value.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || d != static_cast<double>(static_cast<int64_t>(d))) {
    throwJsError(env, kErrInvalidArgument,
                 std::string(what) + " must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return static_cast<int32_t>(d);
}

}  // namespace

// ---- Session --------------------------------------------------------------------------------------

Napi::Function Session::define(Napi::Env env) {
  return DefineClass(env, "Session",
                     {InstanceMethod<&Session::createRequest>("createRequest"),
                      InstanceMethod<&Session::close>("close"),
                      InstanceAccessor<&Session::backendName>("backend"),
                      InstanceAccessor<&Session::memoryBytes>("memoryBytes"),
                      InstanceAccessor<&Session::numLabels>("numLabels"),
                      InstanceAccessor<&Session::maxBatchSize>("maxBatchSize"),
                      InstanceAccessor<&Session::padsBatches>("padsBatches"),
                      InstanceAccessor<&Session::maxLength>("maxLength"),
                      InstanceAccessor<&Session::counters>("counters"),
                      InstanceAccessor<&Session::slots>("slots")});
}

Session::Session(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Session>(info) {}

Napi::Object Session::wrap(Napi::Env env, std::shared_ptr<SessionCore> core) {
  Napi::Object object = addonData(env).sessionConstructor.New({});
  Unwrap(object)->core_ = std::move(core);
  return object;
}

Napi::Value Session::createRequest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!core_) throwJsError(env, kErrInvalidArgument, "Session objects are made by loadSession()");
  {
    std::lock_guard<std::mutex> lock(core_->stateMutex);
    if (core_->closed) throwJsError(env, kErrClosed, "the session is closed");
    // Forget requests that are gone, so the list stays as long as the requests alive.
    auto& list = core_->requests;
    list.erase(std::remove_if(list.begin(), list.end(), [](const auto& weak) { return weak.expired(); }), list.end());
  }
  auto state = std::make_shared<RequestState>();
  state->core = core_;
  state->count = checkedInt(env, info[0], "count", 0, INT32_MAX - 1);
  const std::string activation = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  if (activation != "sigmoid" && activation != "none") throwJsError(env, kErrInvalidArgument, "activation must be 'sigmoid' or 'none'");
  const ScoreActivation scoreActivation = activation == "sigmoid" ? ScoreActivation::Sigmoid : ScoreActivation::None;
  {
    std::lock_guard<std::mutex> lock(core_->stateMutex);
    if (core_->closed || !core_->engine) throwJsError(env, kErrClosed, "the session is closed");
    try {
      state->request = core_->engine->begin(state->count, scoreActivation);
    } catch (const NativeError& e) {
      throwJsError(env, e.code(), e.what());
    } catch (const std::exception& e) {
      throwJsError(env, kErrBackend, e.what());
    }
    core_->requests.push_back(state);
  }
  return Request::wrap(env, std::move(state));
}

Napi::Value Session::close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!core_) throwJsError(env, kErrInvalidArgument, "Session objects are made by loadSession()");
  {
    std::lock_guard<std::mutex> lock(core_->stateMutex);
    core_->closed = true;
    for (auto& weak : core_->requests) {
      if (auto request = weak.lock()) request->cancel.cancelled = true;
    }
  }
  auto* worker = new CloseWorker(env, core_);
  worker->Queue();
  return worker->promise();
}

// What an accessor answers: fn(engine) while the session is open, else `closed` (also for a Session made from
// JS without loadSession, which has no core).
template <typename Fn>
Napi::Value Session::engineValue(Napi::Value closed, Fn&& fn) const {
  if (!core_) return closed;
  std::lock_guard<std::mutex> lock(core_->stateMutex);
  return core_->engine && !core_->closed ? fn(*core_->engine) : closed;
}

Napi::Value Session::backendName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return engineValue(Napi::String::New(env, "closed"), [&](Engine& e) { return Napi::String::New(env, e.backendName()); });
}

Napi::Value Session::memoryBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return engineValue(Napi::Number::New(env, 0), [&](Engine& e) { return Napi::Number::New(env, static_cast<double>(e.memoryBytes())); });
}

Napi::Value Session::numLabels(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return engineValue(Napi::Number::New(env, 0), [&](Engine& e) { return Napi::Number::New(env, e.numLabels()); });
}

Napi::Value Session::maxBatchSize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return engineValue(Napi::Number::New(env, 0), [&](Engine& e) { return Napi::Number::New(env, e.maxBatchSize()); });
}

Napi::Value Session::padsBatches(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return engineValue(Napi::Boolean::New(env, false), [&](Engine& e) { return Napi::Boolean::New(env, e.padsBatches()); });
}

Napi::Value Session::maxLength(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return engineValue(Napi::Number::New(env, 0), [&](Engine& e) { return Napi::Number::New(env, e.maxLength()); });
}

Napi::Value Session::counters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return engineValue(Napi::Object::New(env), [&](Engine& e) {
    Napi::Object out = Napi::Object::New(env);
    for (const auto& [name, value] : e.counters()) out.Set(name, value);
    return out;
  });
}

Napi::Value Session::slots(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return engineValue(Napi::Number::New(env, 0), [&](Engine& e) { return Napi::Number::New(env, e.slots()); });
}

// ---- Request --------------------------------------------------------------------------------------

Napi::Function Request::define(Napi::Env env) {
  return DefineClass(env, "Request",
                     {InstanceMethod<&Request::submit>("submit"), InstanceMethod<&Request::finish>("finish"),
                      InstanceMethod<&Request::cancel>("cancel")});
}

Request::Request(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Request>(info) {}

Napi::Object Request::wrap(Napi::Env env, std::shared_ptr<RequestState> state) {
  Napi::Object object = addonData(env).requestConstructor.New({});
  Unwrap(object)->state_ = std::move(state);
  return object;
}

Napi::Value Request::submit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!state_) throwJsError(env, kErrInvalidArgument, "Request objects are made by Session.createRequest()");
  if (state_->busy) throwJsError(env, kErrInvalidArgument, "a submit() or finish() of this request is still running");
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      !info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throwJsError(env, kErrInvalidArgument, "submit(ids: Int32Array, typeIds: Uint8Array, offsets: Int32Array, firstIndex)");
  }
  Napi::Int32Array ids = info[0].As<Napi::Int32Array>();
  Napi::Uint8Array typeIds = info[1].As<Napi::Uint8Array>();
  Napi::Int32Array offsets = info[2].As<Napi::Int32Array>();
  const int32_t firstIndex = checkedInt(env, info[3], "firstIndex", 0, state_->count);
  const size_t count = offsets.ElementLength() == 0 ? 0 : offsets.ElementLength() - 1;
  if (offsets.ElementLength() == 0 || offsets[0] != 0 || typeIds.ElementLength() != ids.ElementLength() ||
      static_cast<size_t>(offsets[count]) != ids.ElementLength()) {
    throwJsError(env, kErrInvalidArgument,
                 "submit: offsets must start at 0 and end at ids.length, and typeIds.length must equal ids.length");
  }
  for (size_t i = 0; i < count; ++i) {
    if (offsets[i + 1] <= offsets[i]) throwJsError(env, kErrInvalidArgument, "submit: every pair needs at least one token");
  }
  if (static_cast<int64_t>(firstIndex) + static_cast<int64_t>(count) > state_->count) {
    throwJsError(env, kErrInvalidArgument, "submit: documents past the request's count");
  }
  Napi::Value docIndices = info[4];
  if (!docIndices.IsUndefined()) {
    if (!docIndices.IsTypedArray() || docIndices.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
        docIndices.As<Napi::Int32Array>().ElementLength() != count) {
      throwJsError(env, kErrInvalidArgument, "submit: docIndices must be an Int32Array with one entry per pair");
    }
    Napi::Int32Array d = docIndices.As<Napi::Int32Array>();
    for (size_t i = 0; i < count; ++i) {
      if (d[i] < 0 || d[i] >= state_->count) throwJsError(env, kErrInvalidArgument, "submit: docIndices past the request's count");
    }
  }
  auto* worker = new SubmitWorker(env, state_, ids, typeIds, offsets, firstIndex, docIndices);
  worker->Queue();
  return worker->promise();
}

Napi::Value Request::finish(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!state_) throwJsError(env, kErrInvalidArgument, "Request objects are made by Session.createRequest()");
  if (state_->busy) throwJsError(env, kErrInvalidArgument, "a submit() or finish() of this request is still running");
  const int32_t topK = checkedInt(env, info[0], "topK", 0, INT32_MAX);
  auto* worker = new FinishWorker(env, state_, topK);
  worker->Queue();
  return worker->promise();
}

Napi::Value Request::cancel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<EngineRequest> request;
  if (state_) {
    state_->cancel.cancelled = true;
    std::lock_guard<std::mutex> lock(state_->core->stateMutex);
    request = state_->request;
  }
  if (!request) {
    auto done = Napi::Promise::Deferred::New(env);
    done.Resolve(env.Undefined());
    return done.Promise();
  }
  auto* worker = new ReleaseWorker(env, state_, std::move(request));
  worker->Queue();
  return worker->promise();
}

// ---- loadSession ----------------------------------------------------------------------------------

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
  options.device = o.integer("device", 0, 0, 1024);
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
