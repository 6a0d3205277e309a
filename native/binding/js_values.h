// Reading plain JS values in the binding: every reader throws a coded JS error (ERR_INVALID_ARGUMENT unless
// told otherwise) naming the field and what was expected, never a bare Napi::TypeError (which the JS side
// would see as ERR_BACKEND). Call on the JS thread only.
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>

#include "binding/promise_worker.h"
#include "common/errors.h"

namespace trt_rerank::js {

inline const char* typeName(const Napi::Value& v) {
  switch (v.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "a boolean";
    case napi_number: return "a number";
    case napi_string: return "a string";
    case napi_object: return v.IsArray() ? "an array" : "an object";
    default: return "a value of another type";
  }
}

// `what` names the object in messages ("model spec", "model spec tensor 'x'").
inline Napi::Value field(const Napi::Object& o, const char* name, const std::string& what) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) throwJsError(o.Env(), kErrInvalidArgument, what + ": missing field '" + name + "'");
  return v;
}

inline std::string string(const Napi::Object& o, const char* name, const std::string& what) {
  Napi::Value v = field(o, name, what);
  if (!v.IsString()) throwJsError(o.Env(), kErrInvalidArgument, what + ": '" + name + "' must be a string, got " + typeName(v));
  return v.As<Napi::String>().Utf8Value();
}

inline Napi::Object object(const Napi::Object& o, const char* name, const std::string& what) {
  Napi::Value v = field(o, name, what);
  if (!v.IsObject() || v.IsArray()) throwJsError(o.Env(), kErrInvalidArgument, what + ": '" + name + "' must be an object, got " + typeName(v));
  return v.As<Napi::Object>();
}

inline Napi::Array array(const Napi::Object& o, const char* name, const std::string& what) {
  Napi::Value v = field(o, name, what);
  if (!v.IsArray()) throwJsError(o.Env(), kErrInvalidArgument, what + ": '" + name + "' must be an array, got " + typeName(v));
  return v.As<Napi::Array>();
}

// An integer in [min, max] (JS numbers are exact up to 2^53).
inline int64_t integer(const Napi::Env& env, const Napi::Value& v, const std::string& name, int64_t min, int64_t max) {
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0.0;
  // Range first: converting NaN, an infinity or anything past int64 to an integer is undefined behaviour.
  if (!v.IsNumber() || !(d >= static_cast<double>(min) && d <= static_cast<double>(max)) || d != std::trunc(d)) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.10g", d);
    throwJsError(env, kErrInvalidArgument, name + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", got " + (v.IsNumber() ? std::string(text) : std::string(typeName(v))));
  }
  return static_cast<int64_t>(d);
}

// An options object whose fields are all optional: absent (or undefined) gives the fallback, a present value of
// the wrong type or out of range throws ERR_INVALID_ARGUMENT naming it.
class Options {
 public:
  Options(Napi::Object object, std::string what) : object_(object), what_(std::move(what)) {}

  int integer(const char* name, int fallback, int min, int max) const {
    Napi::Value v = object_.Get(name);
    if (v.IsUndefined()) return fallback;
    return static_cast<int>(js::integer(object_.Env(), v, what_ + " '" + name + "'", min, max));
  }
  std::string string(const char* name, const std::string& fallback) const {
    Napi::Value v = object_.Get(name);
    if (v.IsUndefined()) return fallback;
    if (!v.IsString()) throwJsError(object_.Env(), kErrInvalidArgument, what_ + " '" + name + "' must be a string, got " + typeName(v));
    return v.As<Napi::String>().Utf8Value();
  }
  // One of `allowed`, or the fallback when absent.
  std::string choice(const char* name, std::initializer_list<const char*> allowed, const std::string& fallback) const {
    const std::string v = string(name, fallback);
    std::string list;
    for (const char* a : allowed) {
      if (v == a) return v;
      list += (list.empty() ? "'" : ", '") + std::string(a) + "'";
    }
    throwJsError(object_.Env(), kErrInvalidArgument, what_ + " '" + name + "' must be one of " + list + ", got '" + v + "'");
  }
  bool boolean(const char* name, bool fallback) const {
    Napi::Value v = object_.Get(name);
    if (v.IsUndefined()) return fallback;
    if (!v.IsBoolean()) throwJsError(object_.Env(), kErrInvalidArgument, what_ + " '" + name + "' must be true or false, got " + typeName(v));
    return v.As<Napi::Boolean>().Value();
  }

 private:
  Napi::Object object_;
  std::string what_;
};

}  // namespace trt_rerank::js
