// Self-attention over packed variable-length sequences (no padding, no S x S matrix in memory):
//   out[q, h] = softmax_k( Q[q, h] . K[k, g(h)] / sqrt(D) ) . V[k, g(h)],   k over q's keys (below)
// with an online softmax in fp32 (FlashAttention's running max and sum), K/V tiles staged in shared memory.
// Q, K and V are row-major with their own row strides (elements): query head h at columns h * D .. h * D + D - 1,
// K/V head g at columns g * D ..; so a fused QKV buffer [tokens, (heads + 2 kvHeads) D] is read in place.
// Grouped-query attention: query head h reads K/V head g(h) = h / (heads / kvHeads).
//
// Queries (AttentionQueries): every token of each sequence (rows cuSeqLens[s] .. of q and out); or one per
// sequence, out row s: the first token's query given as row s of q (encoders' last layer, read at [CLS] only), or
// the last token's query, row cuSeqLens[s + 1] - 1 of q (decoders' last layer, read at the last token only).
//
// The keys of a query at position i of sequence s (positions within the sequence):
//   - contexts (contextOf given, contextOf[s] = c >= 0): first every key of sequence c (all of them precede s's
//     tokens), then s's own keys as below. One level: c's own queries see c's keys only (contextOf[c] is -1).
//   - causal: own keys j <= i only (a decoder). The last token's query sees every own key either way.
//   - sliding window w >= 0 (ModernBERT's local layers): own keys with |i - j| <= w (transformers'
//     `abs(q_idx - kv_idx) <= sliding_window`); the first query (position 0) then sees keys 0 .. w. Key tiles
//     wholly outside a query block's window are never loaded, so a sequence of length L costs O(L * w).
//   - otherwise every own key.
// A window is not combined with causal masking or contexts (refused). An empty sequence (graph padding) has no
// query rows; with one query per sequence its out row is zeros (nothing of q is read for the last-token form).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/encoder.cuh"

namespace trt_rerank::kernels {

enum class AttentionQueries {
  All,    // q and out [tokens, ...]
  First,  // q and out [count, ...]: row s is sequence s's first token
  Last,   // q [tokens, ...] (row cuSeqLens[s + 1] - 1 read), out [count, ...]
};

struct AttentionArgs {
  StorageType type = StorageType::Half;
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  void* out = nullptr;
  int64_t qStride = 0, kvStride = 0, outStride = 0;
  const int32_t* cuSeqLens = nullptr;
  const int32_t* contextOf = nullptr;  // [count] device, each sequence's context or -1; nullptr: no contexts
  int32_t count = 0;                   // sequences
  int32_t maxLength = 0;               // longest sequence, its own rows (sizes the all-query grid)
  int heads = 0;
  int kvHeads = 0;  // K/V heads, dividing heads; 0: heads
  int headDim = 0;  // 32, 64 or 128
  AttentionQueries queries = AttentionQueries::All;
  int window = -1;      // >= 0: keys within this distance of the query's position only; < 0: all keys
  bool causal = false;  // own keys at positions <= the query's only
};

// Throws NativeError for an unsupported head size, kvHeads not dividing heads, or a window combined with causal
// masking, contexts, or last-token queries (or first-token queries with causal masking or contexts).
void attention(const AttentionArgs& args, cudaStream_t stream);

namespace detail {
// The two kernel families behind attention() (attention.cu: every query, on tensor cores; attention_one_query.cu:
// one query per sequence). Arguments already checked; kvHeads resolved.
void allQueryAttention(const AttentionArgs& args, cudaStream_t stream);
void oneQueryAttention(const AttentionArgs& args, cudaStream_t stream);
}  // namespace detail

}  // namespace trt_rerank::kernels
