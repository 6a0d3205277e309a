// Self-attention over packed variable-length sequences (no padding, no S x S matrix in memory):
//   out[q, h] = softmax_k( Q[q, h] . K[k, h] / sqrt(D) ) . V[k, h],   k over q's own sequence
// with an online softmax in fp32 (FlashAttention's running max and sum), K/V tiles staged in shared memory.
// Q, K and V are row-major with their own row strides (elements), head h at columns h * D .. h * D + D - 1;
// so a fused QKV buffer [tokens, 3H] is read in place.
//
// Queries: every token of each sequence (oneQueryPerSequence false; rows cuSeqLens[s] ..), or only the first
// token's query, given as row s of Q and written to row s of out (the last layer, which the classifier reads
// at [CLS] only).
//
// Sliding window (window >= 0, ModernBERT's local layers): the query at position i of its sequence attends
// only keys j with |i - j| <= window (transformers' `abs(q_idx - kv_idx) <= sliding_window`); the first query
// (position 0) then sees keys 0 .. window. Key tiles wholly outside a query block's window are never loaded,
// so a sequence of length L costs O(L * window). window < 0: every key of the sequence (the default path).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/encoder.cuh"

namespace trt_rerank::kernels {

struct AttentionArgs {
  StorageType type = StorageType::Half;
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  void* out = nullptr;
  int64_t qStride = 0, kvStride = 0, outStride = 0;
  const int32_t* cuSeqLens = nullptr;
  int32_t count = 0;      // sequences
  int32_t maxLength = 0;  // longest sequence (sizes the grid)
  int heads = 0;
  int headDim = 0;        // 32, 64 or 128
  bool oneQueryPerSequence = false;
  int window = -1;        // >= 0: keys within this distance of the query's position only; < 0: all keys
};

// Throws NativeError for an unsupported head size.
void attention(const AttentionArgs& args, cudaStream_t stream);

}  // namespace trt_rerank::kernels
