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

std::vector<MappedFile> mapWeightFiles(const ModelSpec& spec) {
  std::vector<MappedFile> files;
  files.reserve(spec.weightFiles.size());
  for (const std::string& path : spec.weightFiles) files.emplace_back(path);
  return files;
}

uint64_t elementBytes(WeightDType dtype) {
  switch (dtype) {
    case WeightDType::F32: return 4;
    case WeightDType::F16:
    case WeightDType::BF16: return 2;
  }
  return 0;
}

const TensorRef& checkedTensor(const ModelSpec& spec, const std::string& name, const std::vector<int64_t>& expected,
                               const std::vector<MappedFile>& files) {
  const auto it = spec.tensors.find(name);
  if (it == spec.tensors.end()) {
    throw NativeError(kErrModelInvalid, "tensor '" + name + "' (shape " + shapeString(expected) + ") is missing from the model");
  }
  const TensorRef& t = it->second;
  if (t.file >= files.size()) {
    throw NativeError(kErrModelInvalid, "tensor '" + name + "' lies in weights file " + std::to_string(t.file) + ", but the model has " +
                                            std::to_string(files.size()) + " file(s)");
  }
  const std::string& path = files[t.file].path();
  if (t.shape != expected) {
    throw NativeError(kErrModelInvalid, "tensor '" + name + "' of '" + path + "' has shape " + shapeString(t.shape) + ", expected " +
                                            shapeString(expected));
  }
  const uint64_t elementSize = elementBytes(t.dtype);
  if (elementSize == 0) {
    throw NativeError(kErrModelInvalid, "tensor '" + name + "' has an unknown dtype (" + std::to_string(static_cast<int>(t.dtype)) + ")");
  }
  // The expected dims come from checked, bounded config values: their product fits in 64 bits.
  uint64_t count = 1;
  for (int64_t d : expected) count *= static_cast<uint64_t>(d);
  if (t.nbytes != count * elementSize) {
    throw NativeError(kErrModelInvalid, "tensor '" + name + "' of '" + path + "' spans " + std::to_string(t.nbytes) + " bytes, but shape " +
                                            shapeString(t.shape) + " of " + dtypeName(t.dtype) + " needs " + std::to_string(count * elementSize));
  }
  const uint64_t fileSize = files[t.file].size();
  if (t.offset > fileSize || t.nbytes > fileSize - t.offset) {  // written so that it cannot overflow
    throw NativeError(kErrModelInvalid, "tensor '" + name + "' (" + std::to_string(t.nbytes) + " bytes at offset " + std::to_string(t.offset) +
                                            ") lies past the end of '" + path + "' (" + std::to_string(fileSize) + " bytes)");
  }
  return t;
}

void checkPickedRows(const models::ParamDecl& param) {
  if (param.pickedRows.empty()) return;
  const std::string name = param.parts.empty() ? std::string("(none)") : param.parts[0];
  if (param.kind != models::ParamDecl::Kind::Linear || param.parts.size() != 1 || !param.biasParts.empty() || param.partRows.size() != 1 ||
      param.partRows[0] != static_cast<int64_t>(param.pickedRows.size())) {
    throw NativeError(kErrModelInvalid, "tensor '" + name + "': picked rows need a Linear of one part without bias, with as many rows as picked");
  }
  for (size_t i = 0; i < param.pickedRows.size(); ++i) {
    const int64_t r = param.pickedRows[i];
    if (r < 0 || r >= param.sourceRows) {
      throw NativeError(kErrModelInvalid, "tensor '" + name + "': picked row " + std::to_string(i) + " is row " + std::to_string(r) +
                                              ", but the tensor has " + std::to_string(param.sourceRows) + " rows");
    }
  }
}

std::vector<int64_t> partShape(const models::ParamDecl& param, size_t part) {
  if (param.kind == models::ParamDecl::Kind::Vector) return {param.partRows[part]};
  if (!param.pickedRows.empty()) return {param.sourceRows, param.cols};  // as stored; the param is some of its rows
  return {param.partRows[part], param.cols};
}

std::vector<int64_t> biasShape(const models::ParamDecl& param, size_t part) { return {param.partRows[part]}; }

}  // namespace trt_rerank
