// What a TensorRT cross-encoder engine must look like, checked without TensorRT: the backend
// (tensorrt_backend.cc) describes the deserialized engine's I/O tensors and profile 0 in these plain types,
// and planEngineIo either accepts them or throws an error that lists what the engine has and what is needed.
// Pure C++, so it is built and tested everywhere (addon.engineIo, test/native/tensorrt-io.test.ts).
//
// Accepted engines (what torch.onnx / optimum exports of BertForSequenceClassification and
// XLMRobertaForSequenceClassification give, see tools/export_onnx.py):
//   inputs   input_ids [B, S], attention_mask [B, S], token_type_ids [B, S] (optional); int32 or int64,
//            all of one type; B and S dynamic (-1) or fixed, the same profile range for every input
//   output   logits [B, 1] or [B, 2] (or [B] for one label); fp32, fp16 or bf16
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace trt_rerank {

enum class TensorType { Float,
                        Half,
                        BFloat16,
                        Int8,
                        Int32,
                        Int64,
                        Bool,
                        UInt8,
                        Other };

const char* tensorTypeName(TensorType type);

struct TensorDesc {
  std::string name;
  bool isInput = false;
  TensorType type = TensorType::Other;
  std::vector<int64_t> shape;  // -1 for a dynamic dimension
  // Inputs only: profile 0's shapes (empty when the engine has no profile for this tensor).
  std::vector<int64_t> profileMin, profileOpt, profileMax;
};

struct EngineIoPlan {
  std::string idsName, maskName, typeIdsName;  // typeIdsName empty: the engine takes no token types
  TensorType inputType = TensorType::Int32;    // Int32 or Int64, shared by every input
  std::string outputName;
  TensorType outputType = TensorType::Float;
  int numLabels = 1;
  int minBatch = 1, maxBatch = 1;
  int minSeq = 1, optSeq = 1, maxSeq = 1;
};

// Throws NativeError(ERR_INVALID_ARGUMENT) naming every problem, the engine's I/O and what is required.
EngineIoPlan planEngineIo(const std::vector<TensorDesc>& tensors);

// One batch's launch shape: `rows` x `seqLen` tensors, for `count` real pairs whose longest has `longest`
// tokens. seqLen is the smallest sequence bucket >= longest (fewer shapes: fewer warm-ups and CUDA graphs);
// rows is count, raised to the profile's minimum batch when below it (the extra rows are dummies).
struct BatchShape {
  int rows = 0;
  int seqLen = 0;
};

// Sequence buckets of an engine: 16, 32, 64, then every multiple of 64, clamped to [minSeq, maxSeq], with
// maxSeq always the last.
std::vector<int> sequenceBuckets(const EngineIoPlan& plan);

// Throws when count exceeds maxBatch or longest exceeds maxSeq.
BatchShape planBatchShape(const EngineIoPlan& plan, int count, int longest);

}  // namespace trt_rerank
