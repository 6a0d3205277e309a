// fp32 matrix products of the CPU backend: nn.Linear layers on weights packed once at load, and the plain
// row-major product that attention needs. Portable C++ that GCC/Clang -O3 vectorise; on x86-64 the kernels
// are built for both the SSE2 baseline and AVX2+FMA and one is picked at run time, so one binary runs on
// any x86-64 CPU. Accumulation is fp32 throughout.
//
// Every output element is accumulated in the same order (k ascending, in blocks of kKc) whatever the
// matrix sizes, the row being computed alone or with others, and the way columns are split over threads:
// a sequence scores bit-identically alone or inside a batch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace trt_rerank {

class ThreadPool;

namespace cpu {

// Applied to each output element after the bias (a fused epilogue: the element is still in cache).
enum class Activation { None,
                        GeluErf,
                        GeluTanh,
                        Relu,
                        Silu,
                        Tanh };

// The weights of one nn.Linear, W [n, k] (out, in) and bias [n], rearranged for the kernel: W^T cut into
// panels of kPanel output columns, each panel k x kPanel contiguous, the last one zero-padded.
// Move-only: a copy would silently double the model's memory.
class PackedLinear {
 public:
  static constexpr int kPanel = 16;

  PackedLinear() = default;
  // w: [n, k] row-major; bias: [n], or nullptr for no bias.
  PackedLinear(const float* w, const float* bias, int n, int k);

  PackedLinear(PackedLinear&&) noexcept = default;
  PackedLinear& operator=(PackedLinear&&) noexcept = default;
  PackedLinear(const PackedLinear&) = delete;
  PackedLinear& operator=(const PackedLinear&) = delete;

  int outFeatures() const { return n_; }
  int inFeatures() const { return k_; }
  size_t bytes() const { return (panels_.size() + bias_.size()) * sizeof(float); }
  const float* panels() const { return panels_.data(); }  // [ceil(n / kPanel)][k][kPanel]
  const float* bias() const { return bias_.data(); }      // [n], zeros when there was none

 private:
  int n_ = 0;
  int k_ = 0;
  std::vector<float> panels_;
  std::vector<float> bias_;
};

// c [m, n] = act(a [m, k] * W^T + bias), with n = w.outFeatures(), k = w.inFeatures().
// a rows are lda floats apart, c rows ldc floats apart; c must not overlap a.
// With a pool of more than one thread, output columns are split over its participants (pass nullptr
// when the caller already runs on a pool thread with work of its own).
void linear(const float* a, int64_t lda, int m, const PackedLinear& w, float* c, int64_t ldc, Activation act,
            ThreadPool* pool);

// One activation value, exactly as the fused epilogue of linear() computes it (transformers' fp32 forms).
float activation(float x, Activation act);

// c [m, n] = a [m, k] * b [k, n], all row-major with leading dimensions lda, ldb, ldc (single thread).
// Attention's two products: scores = q * k^T (with k^T stored transposed) and context = p * v.
void gemm(int m, int n, int k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc);

// The instruction set the kernels run with on this CPU: "avx2+fma", "sse2", "neon" or "generic".
const char* kernelIsa();

}  // namespace cpu
}  // namespace trt_rerank
