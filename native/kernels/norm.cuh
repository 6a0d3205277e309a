// The row norms of the CUDA backend over packed rows (norm.cu): LayerNorm and RMSNorm, fused with the residual
// add before them, and the embedding gather with its LayerNorm (or none). T, the storage type, is __half or
// __nv_bfloat16; a residual stream may be kept in fp32; all arithmetic is fp32.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/encoder.cuh"

namespace trt_rerank::kernels {

enum class NormType {
  Layer,  // (s - mean(s)) / sqrt(var(s) + eps) * gamma + beta (beta nullptr: none)
  Rms,    // s / sqrt(mean(s^2) + eps) * gamma (no beta)
};

// out[t] = LayerNorm(word[ids[t]] + position[positions[t]] + type[typeIds[t]]) (gamma, beta, eps)
//   word [vocab, hidden], position [positions, hidden], tokenType [types, hidden], gamma and beta [hidden],
//   out [tokens, hidden]. position (or tokenType) nullptr: no such term, positions (typeIds) not read (may be
//   nullptr too); beta nullptr: no bias (ModernBERT: LayerNorm(word[ids[t]]), bias=False); gamma nullptr: no norm
//   at all (decoders: out = word[ids[t]] (+ the other terms), rounded once; beta must be nullptr too).
void embeddingLayerNorm(StorageType type, const int32_t* ids, const uint8_t* typeIds, const int32_t* positions,
                        int64_t tokens, int hidden, const void* word, const void* position, const void* tokenType,
                        const void* gamma, const void* beta, float eps, void* out, cudaStream_t stream);

// s[r] = x[r] + residual[r], out[r] = norm(s[r]) (gamma, beta, eps); x, residual, sum, out [rows, hidden], hidden a
// multiple of 8 up to 4096.
//   residual nullptr: s = x (a plain norm).
//   sum nullptr (post-LN, BERT; or a final norm of a stream that is not written again): s stays in fp32 and out
//   may alias x or residual (BERT: out = residual).
//   sum given (pre-norm: sum the residual stream, out another buffer): s is rounded to sum's type, written there
//   and normalised as rounded (in the storage type as PyTorch's h + y in fp16/bf16; an fp32 stream, below, keeps
//   it unrounded).
//   sum and out may each alias x or residual, not each other: every thread reads its elements before it writes any.
//   residualFloat / sumFloat: residual / sum hold fp32 (a residual stream kept in fp32: ModernBERT, Qwen3), any
//   combination (Qwen3's final norm: residual fp32, sum nullptr). x, gamma, beta and out are always T.
struct ResidualNormArgs {
  StorageType type = StorageType::Half;
  NormType kind = NormType::Layer;
  const void* x = nullptr;
  const void* residual = nullptr;
  bool residualFloat = false;
  void* sum = nullptr;
  bool sumFloat = false;
  int64_t rows = 0;
  int hidden = 0;
  const void* gamma = nullptr;
  const void* beta = nullptr;  // LayerNorm only
  float eps = 1e-5f;
  void* out = nullptr;
};

// Throws NativeError for a row width it has no kernel for, sum == out, an fp32 flag without its buffer, no gamma,
// or a beta with RMSNorm.
void residualNorm(const ResidualNormArgs& args, cudaStream_t stream);

}  // namespace trt_rerank::kernels
