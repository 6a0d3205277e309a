// Kernels between the GPU pipeline and an inference engine with fixed-shape I/O (the TensorRT backend):
//
//   packEngineInputs: packed pairs (ids, typeIds, cuSeqLens) -> [rows, seqLen] input_ids, attention_mask and
//                     (optional) token_type_ids in the engine's integer type; zeros past each pair. Rows from
//                     count to rows are dummies (one token, mask 1, so no row is fully masked).
//   engineLogitsToFloat: the engine's logits [rows, labels] in fp32, fp16 or bf16 -> fp32 [count, labels],
//                     the pipeline's logits buffer (finalizeScores takes it from there).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace trt_rerank::kernels {

enum class EngineIntType { Int32,
                           Int64 };
enum class EngineFloatType { Float,
                             Half,
                             BFloat16 };

void packEngineInputs(const int32_t* ids, const uint8_t* typeIds, const int32_t* cuSeqLens, int32_t count,
                      int32_t rows, int32_t seqLen, EngineIntType type, void* outIds, void* outMask,
                      void* outTypeIds, cudaStream_t stream);

void engineLogitsToFloat(const void* logits, EngineFloatType type, int32_t count, int labels, float* out,
                         cudaStream_t stream);

}  // namespace trt_rerank::kernels
