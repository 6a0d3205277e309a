#include "binding/model_spec_from_js.h"

#include <string>

#include "binding/config_from_js.h"
#include "binding/js_values.h"

namespace trt_rerank {
namespace {

WeightDType parseDType(Napi::Env env, const std::string& name, const std::string& what) {
  if (name == "F32") return WeightDType::F32;
  if (name == "F16") return WeightDType::F16;
  if (name == "BF16") return WeightDType::BF16;
  throwJsError(env, kErrInvalidArgument, what + ": unsupported weight dtype " + name);
}

}  // namespace

ModelSpec modelSpecFromJs(const Napi::Object& js) {
  Napi::Env env = js.Env();
  ModelSpec spec;
  spec.model = modelFromJs(js::object(js, "config", "model spec"), js.Get("modelOptions"));
  Napi::Array files = js::array(js, "weightFiles", "model spec");
  if (files.Length() == 0) throwJsError(env, kErrInvalidArgument, "model spec: 'weightFiles' is empty");
  for (uint32_t i = 0; i < files.Length(); ++i) {
    Napi::Value f = files.Get(i);
    if (!f.IsString()) {
      throwJsError(env, kErrInvalidArgument, "model spec: weightFiles[" + std::to_string(i) + "] must be a string, got " + js::typeName(f));
    }
    spec.weightFiles.push_back(f.As<Napi::String>().Utf8Value());
  }
  Napi::Object tensors = js::object(js, "tensors", "model spec");
  Napi::Array names = tensors.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).As<Napi::String>().Utf8Value();
    const std::string what = "model spec tensor '" + name + "'";
    Napi::Value value = tensors.Get(name);
    if (!value.IsObject()) throwJsError(env, kErrInvalidArgument, what + " must be an object");
    Napi::Object t = value.As<Napi::Object>();
    TensorRef ref;
    ref.dtype = parseDType(env, js::string(t, "dtype", what), what);
    Napi::Array shape = js::array(t, "shape", what);
    for (uint32_t d = 0; d < shape.Length(); ++d) ref.shape.push_back(js::integer(env, shape.Get(d), what + " shape", 0, int64_t{1} << 40));
    ref.file = static_cast<uint32_t>(js::integer(env, js::field(t, "file", what), what + " file", 0, static_cast<int64_t>(files.Length()) - 1));
    ref.offset = static_cast<uint64_t>(js::integer(env, js::field(t, "offset", what), what + " offset", 0, int64_t{1} << 52));
    ref.nbytes = static_cast<uint64_t>(js::integer(env, js::field(t, "nbytes", what), what + " nbytes", 0, int64_t{1} << 52));
    spec.tensors.emplace(name, std::move(ref));
  }
  return spec;
}

}  // namespace trt_rerank
