// Top-k of a device score buffer: exact, sorted (score descending, ties by lower index, NaN after every
// number), deterministic, k in [1, n], n up to 2^31 - 1.
//
// Every element i becomes one 64-bit key, unique and ordered as the result must be:
//   key(i) = orderedBits(score[i]) << 32 | ~i
// where orderedBits maps floats to uint32 monotonically (-inf < ... < +inf) and NaN to 0, below -inf. The k
// largest keys are the answer. Algorithms by size:
//   n <= 4096:            one block sorts all keys in shared memory (bitonic): launch-bound, one kernel.
//   k <= 4096, n larger:  radix select on the keys, 8 bits a pass from the top, until the k-th key is pinned
//                         (usually 3-4 passes of n reads); then the k keys >= it are gathered and one block
//                         sorts them.
//   k > 4096:             CUB radix sort of all n keys, descending.
// All of it runs on the given stream in caller-owned workspace (no allocation): size it with
// topKWorkspaceBytes(n, k) once, for the largest n and k it will see.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace trt_rerank::kernels {

constexpr int kTopKBlockSortMax = 4096;  // keys one block sorts in shared memory (32 KiB)

size_t topKWorkspaceBytes(int32_t n, int32_t k);

// scores[n] -> outIndices[k], outScores[k] (device pointers). Throws CudaError on a launch failure.
void topK(const float* scores, int32_t n, int32_t k, int32_t* outIndices, float* outScores, void* workspace,
          size_t workspaceBytes, cudaStream_t stream);

}  // namespace trt_rerank::kernels
