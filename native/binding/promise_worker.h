// One Napi::AsyncWorker per operation, settled through a Promise (node-llama-cpp's AddonContext habit):
// work() runs on a libuv thread and may throw; NativeError keeps its code, anything else is ERR_BACKEND.
// Nothing thrown in work() reaches Node-API.
#pragma once

#include <napi.h>

#include <exception>
#include <string>

#include "common/errors.h"

namespace trt_rerank {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env, const char* name)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  virtual void work() = 0;
  virtual Napi::Value result(Napi::Env env) { return env.Undefined(); }
  // Runs on the JS thread just before the promise settles (so before any continuation sees the state).
  virtual void beforeSettle() {}

 private:
  void Execute() override {
    try {
      work();
    } catch (const NativeError& e) {
      code_ = e.code();
      SetError(e.what());
    } catch (const std::exception& e) {
      code_ = kErrBackend;
      SetError(e.what());
    } catch (...) {
      code_ = kErrBackend;
      SetError("unknown native error");
    }
  }
  void OnOK() override {
    Napi::HandleScope scope(Env());
    beforeSettle();
    try {
      deferred_.Resolve(result(Env()));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) override {
    Napi::HandleScope scope(Env());
    beforeSettle();
    Napi::Object error = e.Value();
    error.Set("code", Napi::String::New(Env(), code_));
    deferred_.Reject(error);
  }

  Napi::Promise::Deferred deferred_;
  const char* code_ = kErrBackend;
};

// Throws a JS Error with a code property (on the JS thread only).
[[noreturn]] inline void throwJsError(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  throw error;
}

}  // namespace trt_rerank
