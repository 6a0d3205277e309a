// Rotary position embeddings (RoPE), GPT-NeoX "rotate_half" form as transformers' apply_rotary_pos_emb, applied
// in place to the q and k heads of a packed fused QKV buffer before attention (ModernBERT), and the same fused
// with a per-head RMSNorm before it (Qwen3's q_norm / k_norm: headNormRotary).
//
// For every token t (position p = positions[t]), every head of q (columns h * D .. h * D + D - 1 of row t) and
// of k (columns kOffset + h * D ..), and every i < D / 2:
//   inv_i = 1 / theta^(2i / D)     fp32, as torch computes `1.0 / (base ** (torch.arange(0, D, 2).float() / D))`
//   a = p * inv_i                  fp32 product (transformers' inv_freq @ position_ids in fp32)
//   x1 = x[i], x2 = x[i + D/2]:    x[i] = x1 cos a - x2 sin a,   x[i + D/2] = x2 cos a + x1 sin a
// with accurate sincosf (positions reach 8192 and beyond), all arithmetic in fp32, results rounded to storage.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/encoder.cuh"

namespace trt_rerank::kernels {

// Head sizes up to this (any even size; 16-byte accesses where headDim % 16 == 0, stride and kOffset are
// multiples of 8 and qkv is 16-byte aligned, scalar ones otherwise).
constexpr int kMaxRotaryHeadDim = 512;

// qkv [tokens, stride] (row-major, stride in elements), positions [tokens] (int32, on the device). `heads` q
// heads from column 0 (rotateQ false: q left as it is, e.g. a k-only call) and kHeads k heads from column kOffset
// (kHeads < 0: as many as q's; 0: none). theta: rope_theta (ModernBERT: 160000 global layers, 10000 local ones).
// Throws NativeError for an odd or unsupported head size or a theta that is not positive.
void rotaryEmbedding(StorageType type, void* qkv, int64_t tokens, int64_t stride, int heads, int64_t kOffset, int headDim,
                     const int32_t* positions, float theta, cudaStream_t stream, bool rotateQ = true, int kHeads = -1);

// Qwen3's q_norm / k_norm, then RoPE, in place, in one pass: for every token t, each of its q heads (qHeads from
// column 0) and k heads (kHeads from column kOffset), over the head's D values x (Qwen3RMSNorm, then
// apply_rotary_pos_emb):
//   y = x / sqrt(mean(x^2) + eps) * w      w [D]: qWeight for every q head, kWeight for every k head (storage type);
//                                          a weight nullptr: y = x for those heads (no norm)
//   then the rotation above of y at position positions[t] (theta <= 0: none; positions may then be nullptr),
// all in fp32, each result rounded once to the storage type.
struct HeadNormRotaryArgs {
  StorageType type = StorageType::Half;
  void* qkv = nullptr;  // [tokens, stride], stride in elements
  int64_t tokens = 0, stride = 0;
  int qHeads = 0, kHeads = 0;
  int64_t kOffset = 0;
  int headDim = 0;                     // even, at most kMaxRotaryHeadDim
  const int32_t* positions = nullptr;  // [tokens], device
  const void* qWeight = nullptr;
  const void* kWeight = nullptr;
  float eps = 1e-6f;
  float theta = 0.0f;
};

// Throws NativeError for an odd or unsupported head size, a negative count or offset, or a negative eps.
void headNormRotary(const HeadNormRotaryArgs& args, cudaStream_t stream);

}  // namespace trt_rerank::kernels
