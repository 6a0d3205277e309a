// Kernels of the CUDA backend's models (BERT / XLM-R / ModernBERT cross-encoders, Qwen3 rerankers, over packed
// tokens), besides the GEMMs (cuBLASLt), the norms (norm.cuh), attention (attention.cuh) and rotary position
// embeddings (rotary.cuh). T is __half or __nv_bfloat16 (storage); all arithmetic is fp32.
// Shapes: `tokens` packed rows of `hidden` values; sequence s is rows cuSeqLens[s] .. cuSeqLens[s + 1] - 1.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace trt_rerank::kernels {

enum class StorageType { Half,
                         BFloat16 };
enum class Activation { None,
                        GeluErf,
                        GeluTanh,
                        Relu,
                        Silu,
                        Tanh };

// Position ids as transformers computes them. BERT (xlmr false): t within the sequence, from the length of its
// context where contextOf (device, [count], each sequence's context or -1; nullptr: none) gives it one (a causal
// model's shared prefix: models/ops.h). XLM-R (xlmr true, padId the pad id; no contexts): pad + the count of
// non-pad tokens up to and including t, or pad for a pad token.
void positionIds(const int32_t* ids, const int32_t* cuSeqLens, int32_t count, int32_t padId, bool xlmr, int32_t* positions,
                 cudaStream_t stream, const int32_t* contextOf = nullptr);

// x = act(x), in place, n values.
void activate(StorageType type, Activation act, void* x, int64_t n, cudaStream_t stream);

// out[r, j] = act(x[r, j]) * x[r, width + j]: x [rows, 2 * width] (input, then gate), out [rows, width], not
// overlapping x. GeGLU with act GeluErf (transformers' ModernBertMLP: `input, gate = Wi(x).chunk(2, dim=-1);
// act(input) * gate`). 16-byte accesses where width % 8 == 0 and both pointers are 16-byte aligned.
void gatedActivation(StorageType type, Activation act, const void* x, int64_t rows, int width, void* out, cudaStream_t stream);

// out[s] = x[cuSeqLens[s]]: the first token ([CLS] / <s>) of each sequence.
void gatherFirstTokens(StorageType type, const void* x, const int32_t* cuSeqLens, int32_t count, int hidden, void* out,
                       cudaStream_t stream);

// out[s] = (1 / n_s) sum of x[t], t over sequence s's rows cuSeqLens[s] .. cuSeqLens[s + 1] - 1 (n_s of them),
// accumulated in fp32; an empty sequence gives zeros. x [tokens, hidden], out [count, hidden]. 16-byte accesses
// where hidden % 8 == 0 and both pointers are 16-byte aligned. ModernBERT's classifier_pooling "mean".
void meanPool(StorageType type, const void* x, const int32_t* cuSeqLens, int32_t count, int hidden, void* out, cudaStream_t stream);

// out[s] = x[cuSeqLens[s + 1] - 1]: the last row of each sequence, rows of rowBytes bytes (any element type: the
// storage type or an fp32 stream); zeros for an empty sequence. 16-byte copies where both pointers and rowBytes
// allow.
void gatherLastRows(const void* x, const int32_t* cuSeqLens, int32_t count, int64_t rowBytes, void* out, cudaStream_t stream);

// logits[s, l] = x[s] . w[l] + b[l] in fp32 (the classifier's last projection, `labels` outputs); b nullptr: no bias.
void classifierOutput(StorageType type, const void* x, const void* w, const void* b, int32_t count, int hidden, int labels,
                      float* logits, cudaStream_t stream);

// A small batch copied into a CUDA graph's fixed inputs, padded to the graph's shape: tokens [count's tokens,
// paddedTokens) get id 0, type 0 and position 0 (valid rows of every table) and belong to no sequence; sequences
// [count, paddedCount) are empty (they start and end at the real tokens' end). positions is the forward's own
// buffer: the forward writes the real tokens' positions and leaves the padding's. Padding rows are computed
// and ignored (every kernel is row-wise except attention, which stays within each sequence and its context).
// outContextOf [paddedCount] (a causal model's graphs; nullptr: not written): the batch's contextOf [count], or -1
// for every sequence where contextOf is nullptr, and -1 for the padding sequences.
void padGraphBatch(const int32_t* ids, const uint8_t* typeIds, const int32_t* cuSeqLens, int32_t count, int32_t paddedCount,
                   int32_t paddedTokens, int32_t* outIds, uint8_t* outTypeIds, int32_t* outCuSeqLens, int32_t* positions,
                   cudaStream_t stream, const int32_t* contextOf = nullptr, int32_t* outContextOf = nullptr);

// Weights as stored (fp32, fp16 or bf16: srcType 0, 1, 2) -> the storage type, n values.
void convertWeights(const void* src, int srcType, StorageType type, void* dst, int64_t n, cudaStream_t stream);

}  // namespace trt_rerank::kernels
