#include "binding/model_spec_from_js.h"

#include <string>

namespace trt_rerank {
namespace {

Napi::Value field(const Napi::Object& object, const char* name) {
  Napi::Value value = object.Get(name);
  if (value.IsUndefined()) {
    throw Napi::TypeError::New(object.Env(), std::string("model spec: missing field '") + name + "'");
  }
  return value;
}

int intField(const Napi::Object& object, const char* name) {
  Napi::Value value = field(object, name);
  if (!value.IsNumber()) throw Napi::TypeError::New(object.Env(), std::string("model spec: '") + name + "' must be a number");
  return value.As<Napi::Number>().Int32Value();
}

std::string stringField(const Napi::Object& object, const char* name) {
  Napi::Value value = field(object, name);
  if (!value.IsString()) throw Napi::TypeError::New(object.Env(), std::string("model spec: '") + name + "' must be a string");
  return value.As<Napi::String>().Utf8Value();
}

WeightDType parseDType(Napi::Env env, const std::string& name) {
  if (name == "F32") return WeightDType::F32;
  if (name == "F16") return WeightDType::F16;
  if (name == "BF16") return WeightDType::BF16;
  throw Napi::TypeError::New(env, "model spec: unsupported weight dtype " + name);
}

}  // namespace

ModelSpec modelSpecFromJs(const Napi::Object& js) {
  Napi::Env env = js.Env();
  ModelSpec spec;
  const std::string architecture = stringField(js, "architecture");
  if (architecture == "bert") {
    spec.architecture = Architecture::Bert;
  } else if (architecture == "xlm-roberta") {
    spec.architecture = Architecture::XlmRoberta;
  } else {
    throw Napi::TypeError::New(env, "model spec: unknown architecture " + architecture);
  }
  spec.vocabSize = intField(js, "vocabSize");
  spec.hiddenSize = intField(js, "hiddenSize");
  spec.numLayers = intField(js, "numLayers");
  spec.numHeads = intField(js, "numHeads");
  spec.intermediateSize = intField(js, "intermediateSize");
  spec.maxPositions = intField(js, "maxPositions");
  spec.typeVocabSize = intField(js, "typeVocabSize");
  spec.numLabels = intField(js, "numLabels");
  spec.padTokenId = intField(js, "padTokenId");
  spec.layerNormEps = field(js, "layerNormEps").As<Napi::Number>().FloatValue();
  const std::string act = stringField(js, "hiddenAct");
  if (act == "gelu") {
    spec.hiddenAct = HiddenActivation::GeluErf;
  } else if (act == "gelu_tanh") {
    spec.hiddenAct = HiddenActivation::GeluTanh;
  } else if (act == "relu") {
    spec.hiddenAct = HiddenActivation::Relu;
  } else if (act == "silu") {
    spec.hiddenAct = HiddenActivation::Silu;
  } else {
    throw Napi::TypeError::New(env, "model spec: unknown hidden activation " + act);
  }
  spec.weightsPath = stringField(js, "weightsPath");

  Napi::Object tensors = field(js, "tensors").As<Napi::Object>();
  Napi::Array names = tensors.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).As<Napi::String>().Utf8Value();
    Napi::Object t = tensors.Get(name).As<Napi::Object>();
    TensorRef ref;
    ref.dtype = parseDType(env, stringField(t, "dtype"));
    Napi::Array shape = field(t, "shape").As<Napi::Array>();
    for (uint32_t d = 0; d < shape.Length(); ++d) ref.shape.push_back(shape.Get(d).As<Napi::Number>().Int64Value());
    ref.offset = static_cast<uint64_t>(field(t, "offset").As<Napi::Number>().Int64Value());
    ref.nbytes = static_cast<uint64_t>(field(t, "nbytes").As<Napi::Number>().Int64Value());
    spec.tensors.emplace(name, std::move(ref));
  }
  return spec;
}

}  // namespace trt_rerank
