// A model as a backend loads it: the architecture (native/models/, built from config.json) and where each of
// its tensors lies in the weights files (model.safetensors, or the shards a model.safetensors.index.json lists).
// lib/model/plan.ts matched the checkpoint's names to the model's tensor list and checked every tensor's
// presence, dtype, shape and bounds; backends check again before reading.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/mapped_file.h"
#include "models/model.h"

namespace trt_rerank {

enum class WeightDType { F32,
                         F16,
                         BF16 };

struct TensorRef {
  WeightDType dtype = WeightDType::F32;
  std::vector<int64_t> shape;  // row-major, as stored (nn.Linear weights are [out, in])
  uint32_t file = 0;           // index in ModelSpec::weightFiles
  uint64_t offset = 0;         // absolute byte offset in that file
  uint64_t nbytes = 0;
};

struct ModelSpec {
  std::shared_ptr<const models::Model> model;
  std::vector<std::string> weightFiles;      // as lib/model/plan.ts names them; TensorRef::file indexes them
  std::map<std::string, TensorRef> tensors;  // by the model's canonical names (models::ParamDecl parts)
};

// The position of each token of one sequence under the model's rule (what its position table or RoPE sees).
inline void computePositionIds(models::PositionRule rule, int32_t padId, const int32_t* ids, int length, int32_t* positions) {
  if (rule == models::PositionRule::Sequential) {
    for (int i = 0; i < length; ++i) positions[i] = i;
    return;
  }
  int count = 0;
  for (int i = 0; i < length; ++i) positions[i] = ids[i] != padId ? padId + ++count : padId;
}

}  // namespace trt_rerank

namespace trt_rerank {

// spec.weightFiles, each mapped once, in that order. Throws std::runtime_error naming the file that cannot be
// opened or mapped (MappedFile).
std::vector<MappedFile> mapWeightFiles(const ModelSpec& spec);

// The tensor `name` of the model, after checking that it is listed, has shape `expected`, a byte count that
// matches that shape and its dtype, and bytes inside its file (`files`: mapWeightFiles(spec)). Throws
// NativeError (ERR_MODEL_INVALID) naming the tensor and its file; nothing is read before all of that holds.
const TensorRef& checkedTensor(const ModelSpec& spec, const std::string& name, const std::vector<int64_t>& expected,
                               const std::vector<MappedFile>& files);

// Bytes of one stored element of `dtype`.
uint64_t elementBytes(WeightDType dtype);

// A param with picked rows (models::ParamDecl): checks it is one weight part without bias, partRows[0] is the
// number of picked rows, and every picked row is a row of its [sourceRows, cols] tensor. Throws NativeError
// (ERR_MODEL_INVALID) naming the tensor. Does nothing for a param without picked rows.
void checkPickedRows(const models::ParamDecl& param);

// The shapes of a param's weight parts and bias parts as stored: Linear [rows_i, cols] and [rows_i]; Table
// [rows, cols]; Vector [rows].
std::vector<int64_t> partShape(const models::ParamDecl& param, size_t part);
std::vector<int64_t> biasShape(const models::ParamDecl& param, size_t part);

}  // namespace trt_rerank
