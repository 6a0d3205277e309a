#include "binding/config_from_js.h"

#include <set>

#include "binding/js_values.h"
#include "binding/promise_worker.h"
#include "common/errors.h"
#include "common/model_spec.h"

namespace trt_rerank {

Napi::Value JsConfigReader::value(const std::string& key) const { return object_.Get(key); }

bool JsConfigReader::has(const std::string& key) const {
  Napi::Value v = value(key);
  return !v.IsUndefined() && !v.IsNull();
}

std::optional<double> JsConfigReader::number(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  Napi::Value v = value(key);
  if (!v.IsNumber()) invalid(key, std::string("must be a number, got ") + js::typeName(v));
  return v.As<Napi::Number>().DoubleValue();
}

std::optional<bool> JsConfigReader::boolean(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  Napi::Value v = value(key);
  if (!v.IsBoolean()) invalid(key, std::string("must be true or false, got ") + js::typeName(v));
  return v.As<Napi::Boolean>().Value();
}

std::optional<std::string> JsConfigReader::string(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  Napi::Value v = value(key);
  if (!v.IsString()) invalid(key, std::string("must be a string, got ") + js::typeName(v));
  return v.As<Napi::String>().Utf8Value();
}

std::optional<std::vector<std::string>> JsConfigReader::strings(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  Napi::Value v = value(key);
  if (!v.IsArray()) invalid(key, std::string("must be an array of strings, got ") + js::typeName(v));
  Napi::Array a = v.As<Napi::Array>();
  if (a.Length() > (1u << 20)) invalid(key, "has " + std::to_string(a.Length()) + " entries");
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value e = a.Get(i);
    if (!e.IsString()) invalid(key, "must be an array of strings; entry " + std::to_string(i) + " is " + js::typeName(e));
    out.push_back(e.As<Napi::String>().Utf8Value());
  }
  return out;
}

std::optional<std::vector<std::string>> JsConfigReader::keys(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  Napi::Value v = value(key);
  if (!v.IsObject() || v.IsArray()) return std::nullopt;
  Napi::Array names = v.As<Napi::Object>().GetPropertyNames();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < names.Length(); ++i) out.push_back(names.Get(i).ToString().Utf8Value());
  return out;
}

const models::ConfigReader* JsConfigReader::object(const std::string& key) const {
  if (!has(key)) return nullptr;
  Napi::Value v = value(key);
  if (!v.IsObject() || v.IsArray()) invalid(key, std::string("must be an object, got ") + js::typeName(v));
  auto& child = children_[key];
  if (!child) child = std::make_unique<JsConfigReader>(v.As<Napi::Object>(), where_ + ": " + key);
  return child.get();
}

std::shared_ptr<const models::Model> modelFromJs(const Napi::Object& config, const Napi::Value& options) {
  models::ModelOptions o;
  if (!options.IsUndefined() && !options.IsNull()) {
    if (!options.IsObject() || options.IsArray()) throwJsError(config.Env(), kErrInvalidArgument, "model options must be an object");
    const Napi::Value labels = options.As<Napi::Object>().Get("labelTokenIds");
    if (!labels.IsUndefined()) {
      if (!labels.IsArray()) throwJsError(config.Env(), kErrInvalidArgument, "model options labelTokenIds must be an array of token ids [no, yes]");
      const Napi::Array a = labels.As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); ++i) {
        o.labelTokens.push_back(static_cast<int32_t>(js::integer(config.Env(), a.Get(i), "model options labelTokenIds", 0, (int64_t{1} << 31) - 1)));
      }
    }
  }
  try {
    JsConfigReader reader(config, "config.json");
    return models::createModel(reader, o);
  } catch (const NativeError& e) {
    throwJsError(config.Env(), e.code(), e.what());
  }
}

namespace {

Napi::Array shapeArray(Napi::Env env, const std::vector<int64_t>& shape) {
  Napi::Array a = Napi::Array::New(env, shape.size());
  for (size_t i = 0; i < shape.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(shape[i])));
  return a;
}

}  // namespace

Napi::Value describeModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject() || info[0].IsArray()) throwJsError(env, kErrInvalidArgument, "describeModel(config: object, options?: object)");
  const std::shared_ptr<const models::Model> model = modelFromJs(info[0].As<Napi::Object>(), info[1]);
  const models::ModelInfo& m = model->info();
  Napi::Object out = Napi::Object::New(env);
  out.Set("architecture", m.architecture);
  out.Set("family", m.family);
  out.Set("modelType", m.modelType);
  out.Set("tensorPrefix", m.tensorPrefix);
  out.Set("pooling", m.pooling);
  out.Set("causal", m.causal);
  for (const auto& [name, value] : {std::pair<const char*, double>{"numLabels", m.numLabels}, {"hiddenSize", m.hiddenSize}, {"numLayers", m.numLayers}, {"numHeads", m.numHeads}, {"numKvHeads", m.numKvHeads}, {"headDim", m.headDim}, {"intermediateSize", m.intermediateSize}, {"vocabSize", m.vocabSize}, {"typeVocabSize", m.typeVocabSize}, {"maxSequenceLength", m.maxSequenceLength}, {"padTokenId", m.padTokenId}, {"gemmFlopsPerToken", m.gemmFlopsPerToken}}) {
    out.Set(name, Napi::Number::New(env, value));
  }
  // Every tensor the model reads, with its shape: [{name, shape}], weights then biases of each param.
  Napi::Array tensors = Napi::Array::New(env);
  uint32_t n = 0;
  std::set<std::string> listed;
  const auto add = [&](const std::string& name, const std::vector<int64_t>& shape) {
    if (!listed.insert(name).second) return;  // tied weights: one tensor, two params (same shape: checked at load)
    Napi::Object t = Napi::Object::New(env);
    t.Set("name", name);
    t.Set("shape", shapeArray(env, shape));
    tensors.Set(n++, t);
  };
  for (const models::ParamDecl& p : model->params()) {
    for (size_t i = 0; i < p.parts.size(); ++i) add(p.parts[i], partShape(p, i));
    for (size_t i = 0; i < p.biasParts.size(); ++i) add(p.biasParts[i], biasShape(p, i));
  }
  out.Set("tensors", tensors);
  return out;
}

}  // namespace trt_rerank
