#include "common/model_spec.h"

#include "common/errors.h"

namespace trt_rerank {
namespace {

std::string shapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

const char* dtypeName(WeightDType dtype) {
  switch (dtype) {
    case WeightDType::F32: return "F32";
    case WeightDType::F16: return "F16";
    case WeightDType::BF16: return "BF16";
  }
  return "an unknown dtype";
}

}  // namespace

const TensorRef& checkedTensor(const ModelSpec& spec, const std::string& name, const std::vector<int64_t>& expected, uint64_t fileSize) {
  const auto it = spec.tensors.find(name);
  if (it == spec.tensors.end()) {
    throw NativeError(kErrModelInvalid, "tensor '" + name + "' (shape " + shapeString(expected) + ") is missing from the model");
  }
  const TensorRef& t = it->second;
  if (t.shape != expected) {
    throw NativeError(kErrModelInvalid, "tensor '" + name + "' has shape " + shapeString(t.shape) + ", expected " + shapeString(expected));
  }
  uint64_t elementSize = 0;
  switch (t.dtype) {
    case WeightDType::F32: elementSize = 4; break;
    case WeightDType::F16:
    case WeightDType::BF16: elementSize = 2; break;
    default:
      throw NativeError(kErrModelInvalid, "tensor '" + name + "' has an unknown dtype (" + std::to_string(static_cast<int>(t.dtype)) + ")");
  }
  // The expected dims come from checked, bounded config values: their product fits in 64 bits.
  uint64_t count = 1;
  for (int64_t d : expected) count *= static_cast<uint64_t>(d);
  if (t.nbytes != count * elementSize) {
    throw NativeError(kErrModelInvalid, "tensor '" + name + "' spans " + std::to_string(t.nbytes) + " bytes, but shape " + shapeString(t.shape) +
                                            " of " + dtypeName(t.dtype) + " needs " + std::to_string(count * elementSize));
  }
  if (t.offset > fileSize || t.nbytes > fileSize - t.offset) {  // written so that it cannot overflow
    throw NativeError(kErrModelInvalid, "tensor '" + name + "' (" + std::to_string(t.nbytes) + " bytes at offset " + std::to_string(t.offset) +
                                            ") lies past the end of '" + spec.weightsPath + "' (" + std::to_string(fileSize) + " bytes)");
  }
  return t;
}

std::vector<int64_t> partShape(const models::ParamDecl& param, size_t part) {
  if (param.kind == models::ParamDecl::Kind::Vector) return {param.partRows[part]};
  return {param.partRows[part], param.cols};
}

std::vector<int64_t> biasShape(const models::ParamDecl& param, size_t part) { return {param.partRows[part]}; }

}  // namespace trt_rerank
