#include "binding/engine_io_binding.h"

#include <string>

#include "backends/tensorrt/engine_io.h"
#include "binding/promise_worker.h"
#include "common/errors.h"

namespace trt_rerank {
namespace {

TensorType typeFromName(const std::string& name) {
  for (TensorType t : {TensorType::Float, TensorType::Half, TensorType::BFloat16, TensorType::Int8, TensorType::Int32,
                       TensorType::Int64, TensorType::Bool, TensorType::UInt8}) {
    if (name == tensorTypeName(t)) return t;
  }
  return TensorType::Other;
}

std::vector<int64_t> shapeFromJs(const Napi::Value& value) {
  std::vector<int64_t> shape;
  if (!value.IsArray()) return shape;
  Napi::Array array = value.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); ++i) shape.push_back(array.Get(i).As<Napi::Number>().Int64Value());
  return shape;
}

Napi::Array shapeToJs(Napi::Env env, const std::vector<int>& values) {
  Napi::Array array = Napi::Array::New(env, values.size());
  for (uint32_t i = 0; i < values.size(); ++i) array.Set(i, values[i]);
  return array;
}

EngineIoPlan planFromJs(Napi::Env env, const Napi::Value& value) {
  if (!value.IsObject()) throwJsError(env, kErrInvalidArgument, "expected an EngineIoPlan object");
  Napi::Object o = value.As<Napi::Object>();
  auto integer = [&](const char* name) { return o.Get(name).IsNumber() ? o.Get(name).As<Napi::Number>().Int32Value() : 0; };
  EngineIoPlan plan;
  plan.minBatch = integer("minBatch");
  plan.maxBatch = integer("maxBatch");
  plan.minSeq = integer("minSeq");
  plan.optSeq = integer("optSeq");
  plan.maxSeq = integer("maxSeq");
  return plan;
}

Napi::Value plan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) throwJsError(env, kErrInvalidArgument, "plan(tensors: TensorDesc[])");
  Napi::Array array = info[0].As<Napi::Array>();
  std::vector<TensorDesc> tensors;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Object t = array.Get(i).As<Napi::Object>();
    TensorDesc d;
    d.name = t.Get("name").As<Napi::String>().Utf8Value();
    d.isInput = t.Get("input").ToBoolean();
    d.type = typeFromName(t.Get("type").As<Napi::String>().Utf8Value());
    d.shape = shapeFromJs(t.Get("shape"));
    d.profileMin = shapeFromJs(t.Get("profileMin"));
    d.profileOpt = shapeFromJs(t.Get("profileOpt"));
    d.profileMax = shapeFromJs(t.Get("profileMax"));
    tensors.push_back(std::move(d));
  }
  EngineIoPlan p;
  try {
    p = planEngineIo(tensors);
  } catch (const NativeError& e) {
    throwJsError(env, e.code(), e.what());
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("idsName", p.idsName);
  out.Set("maskName", p.maskName);
  out.Set("typeIdsName", p.typeIdsName.empty() ? env.Null() : Napi::String::New(env, p.typeIdsName));
  out.Set("inputType", tensorTypeName(p.inputType));
  out.Set("outputName", p.outputName);
  out.Set("outputType", tensorTypeName(p.outputType));
  out.Set("numLabels", p.numLabels);
  out.Set("minBatch", p.minBatch);
  out.Set("maxBatch", p.maxBatch);
  out.Set("minSeq", p.minSeq);
  out.Set("optSeq", p.optSeq);
  out.Set("maxSeq", p.maxSeq);
  return out;
}

Napi::Value buckets(const Napi::CallbackInfo& info) {
  return shapeToJs(info.Env(), sequenceBuckets(planFromJs(info.Env(), info[0])));
}

Napi::Value batchShape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const EngineIoPlan p = planFromJs(env, info[0]);
  if (!info[1].IsNumber() || !info[2].IsNumber()) throwJsError(env, kErrInvalidArgument, "batchShape(plan, count, longest)");
  BatchShape shape;
  try {
    shape = planBatchShape(p, info[1].As<Napi::Number>().Int32Value(), info[2].As<Napi::Number>().Int32Value());
  } catch (const NativeError& e) {
    throwJsError(env, e.code(), e.what());
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("rows", shape.rows);
  out.Set("seqLen", shape.seqLen);
  return out;
}

}  // namespace

Napi::Object engineIoExports(Napi::Env env) {
  Napi::Object exports = Napi::Object::New(env);
  exports.Set("plan", Napi::Function::New(env, plan));
  exports.Set("buckets", Napi::Function::New(env, buckets));
  exports.Set("batchShape", Napi::Function::New(env, batchShape));
  return exports;
}

}  // namespace trt_rerank
