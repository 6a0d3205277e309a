#include "backends/cpu/gemm.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/thread_pool.h"

// Run-time ISA dispatch, x86-64 only: the blocked loops below are instantiated twice, for the SSE2
// baseline and for AVX2+FMA (a function-level target attribute, no -march flag), and the first call picks
// one with __builtin_cpu_supports. So one binary runs on any x86-64 CPU. Not target_clones: its
// "arch=haswell" clone is chosen only on Intel Haswell-family CPUs (an AMD Zen gets the baseline), and it
// needs ifunc, which Mach-O lacks. Elsewhere (aarch64: NEON is baseline) the baseline is the only build.
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define TRT_RERANK_X86_DISPATCH 1
#endif

// The loops must be inlined into each ISA's entry point to be compiled for that ISA.
#if defined(__GNUC__) || defined(__clang__)
#define TRT_RERANK_ALWAYS_INLINE inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define TRT_RERANK_ALWAYS_INLINE __forceinline
#else
#define TRT_RERANK_ALWAYS_INLINE inline
#endif

namespace trt_rerank {
namespace cpu {
namespace {

constexpr int kNr = PackedLinear::kPanel;
// K block: a kKc x kNr slice of B (16 KiB) stays in L1 while every row tile of A streams past it.
constexpr int kKc = 256;

// Register tiles, MR rows x kNr columns, kept in vectors of VW floats: as many accumulators as the
// registers allow, next to one B row (kNr / VW vectors) and a broadcast of A.
//   AVX2+FMA: 16 ymm; 6 x 16 -> 12 accumulators + 2 + 1 (1.2-1.3x the 4 x 16 tile on the
//   2-core AMD EPYC (Zen) development VM).
//   SSE2: 16 xmm; 2 x 16 -> 8 + 4 + 1 (3 rows would spill).
//   NEON and others: 4 x 16 -> 16 + 4 + 1 of NEON's 32 q registers.
constexpr int kMrAvx2 = 6;
constexpr int kVwAvx2 = 8;
#ifdef TRT_RERANK_X86_DISPATCH
constexpr int kMrBaseline = 2;
#else
constexpr int kMrBaseline = 4;
#endif
constexpr int kVwBaseline = 4;

// c [mr, nr] (=|+=) a [mr, kc] * b [kc, kNr]. b always has kNr readable columns (packed panels are
// zero-padded; gemmImpl copies a ragged edge into a padded buffer); only nr columns of c are touched.
// first: start from init [nr] (the bias) or from zero, rather than from c.
//
// The accumulators are GCC/Clang generic vectors (portable: x86 and NEON alike). The obvious loop on float
// arrays is SLP-vectorised by GCC 12 into 128-bit pieces with accumulators spilled to the stack. `acc += a * b` contracts to an FMA where the ISA has one (-ffp-contract=fast, GCC's default).
#if defined(__GNUC__) || defined(__clang__)
// VW floats in one generic vector. Its width must be the ISA's: GCC 12 lowers a 32-byte vector on SSE2
// through the stack, 15x slower than 16-byte ones.
// (Spelled out per width rather than vector_size(VW * 4): older Clang rejects a dependent vector_size.)
template <int VW>
struct Vec;
template <>
struct Vec<4> {
  typedef float type __attribute__((vector_size(16)));
};
template <>
struct Vec<8> {
  typedef float type __attribute__((vector_size(32)));
};

// Out-parameter, not a return value: returning a 32-byte vector from a baseline function is an ABI
// question GCC warns about (-Wpsabi), even when it is inlined.
template <class V>
TRT_RERANK_ALWAYS_INLINE void loadVec(V& v, const float* p) {
  std::memcpy(&v, p, sizeof v);  // unaligned
}

template <int MR, int VW>
TRT_RERANK_ALWAYS_INLINE void microTile(const float* a, int64_t lda, const float* b, int64_t ldb, int kc,
                                        float* c, int64_t ldc, int nr, bool first, const float* init) {
  static_assert(kNr % VW == 0, "a panel must be a whole number of vectors");
  typedef typename Vec<VW>::type V;
  constexpr int kVecs = kNr / VW;
  V acc[MR][kVecs];
  // Full tiles copy a constant size (inlined vector moves); a ragged edge goes through a padded row.
  for (int r = 0; r < MR; ++r) {
    const float* src = first ? init : c + r * ldc;
    if (src && nr == kNr) {
      for (int v = 0; v < kVecs; ++v) loadVec(acc[r][v], src + VW * v);
    } else {
      float row[kNr] = {};
      if (src) std::memcpy(row, src, sizeof(float) * static_cast<size_t>(nr));
      for (int v = 0; v < kVecs; ++v) loadVec(acc[r][v], row + VW * v);
    }
  }
  for (int k = 0; k < kc; ++k) {
    const float* bk = b + k * ldb;
    V bv[kVecs];
    for (int v = 0; v < kVecs; ++v) loadVec(bv[v], bk + VW * v);
    for (int r = 0; r < MR; ++r) {
      const float ar = a[r * lda + k];
      for (int v = 0; v < kVecs; ++v) acc[r][v] += ar * bv[v];
    }
  }
  for (int r = 0; r < MR; ++r) {
    if (nr == kNr) {
      std::memcpy(c + r * ldc, acc[r], sizeof(float) * kNr);
    } else {
      std::memcpy(c + r * ldc, acc[r], sizeof(float) * static_cast<size_t>(nr));
    }
  }
}
#else
// Other compilers (MSVC): the same arithmetic on plain arrays, left to the auto-vectoriser.
template <int MR, int VW>
TRT_RERANK_ALWAYS_INLINE void microTile(const float* a, int64_t lda, const float* b, int64_t ldb, int kc,
                                        float* c, int64_t ldc, int nr, bool first, const float* init) {
  float acc[MR][kNr] = {};
  for (int r = 0; r < MR; ++r) {
    const float* src = first ? init : c + r * ldc;
    if (src) {
      for (int j = 0; j < nr; ++j) acc[r][j] = src[j];
    }
  }
  for (int k = 0; k < kc; ++k) {
    const float* bk = b + k * ldb;
    for (int r = 0; r < MR; ++r) {
      const float ar = a[r * lda + k];
      for (int j = 0; j < kNr; ++j) acc[r][j] += ar * bk[j];
    }
  }
  for (int r = 0; r < MR; ++r) {
    for (int j = 0; j < nr; ++j) c[r * ldc + j] = acc[r][j];
  }
}
#endif

// The last m % MR rows: one tile of exactly that many rows.
template <int MR, int VW>
TRT_RERANK_ALWAYS_INLINE void rowTail(int rows, const float* a, int64_t lda, const float* b, int64_t ldb, int kc,
                                      float* c, int64_t ldc, int nr, bool first, const float* init) {
  if constexpr (MR > 0) {
    if (rows == MR) {
      microTile<MR, VW>(a, lda, b, ldb, kc, c, ldc, nr, first, init);
    } else {
      rowTail<MR - 1, VW>(rows, a, lda, b, ldb, kc, c, ldc, nr, first, init);
    }
  }
}

// All m rows of a, in MR-row tiles then the remainder, against one kc x kNr slice of B. A row's result
// does not depend on the tile it falls in (each element is its own chain of multiply-adds).
template <int MR, int VW>
TRT_RERANK_ALWAYS_INLINE void rowTiles(const float* a, int64_t lda, int m, const float* b, int64_t ldb, int kc,
                                       float* c, int64_t ldc, int nr, bool first, const float* init) {
  int i = 0;
  for (; i + MR <= m; i += MR) {
    microTile<MR, VW>(a + i * lda, lda, b, ldb, kc, c + i * ldc, ldc, nr, first, init);
  }
  if (i < m) rowTail<MR - 1, VW>(m - i, a + i * lda, lda, b, ldb, kc, c + i * ldc, ldc, nr, first, init);
}

// One activation value, as transformers computes it in fp32.
inline float activate(float x, Activation act) {
  switch (act) {
    case Activation::None: return x;
    case Activation::GeluErf: return 0.5f * x * (1.0f + std::erf(x / 1.41421356237309515f));
    case Activation::GeluTanh: {
      const float kSqrt2OverPi = 0.797884560802865406f;
      return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
    }
    case Activation::Relu: return x > 0.0f ? x : 0.0f;
    case Activation::Silu: return x / (1.0f + std::exp(-x));
    case Activation::Tanh: return std::tanh(x);
  }
  return x;
}

// c [m, nr] = act(c), row by row, while the tile is still in L1.
void activateTile(float* c, int64_t ldc, int m, int nr, Activation act) {
  if (act == Activation::None) return;
  for (int i = 0; i < m; ++i) {
    float* row = c + i * ldc;
    for (int j = 0; j < nr; ++j) row[j] = activate(row[j], act);
  }
}

struct LinearArgs {
  const float* a;
  int64_t lda;
  int m;
  const float* panels;  // [ceil(n / kNr)][k][kNr]
  const float* bias;    // [n]
  int n;
  int k;
  float* c;
  int64_t ldc;
  Activation act;
};

// Columns of panels [p0, p1) of c [m, n] = act(a [m, k] * W^T + bias). K outermost, so one K block of a
// (m x kKc, in L2) is reused by every panel, and one panel slice (kKc x kNr, in L1) by every row tile.
template <int MR, int VW>
TRT_RERANK_ALWAYS_INLINE void linearImpl(const LinearArgs& g, int p0, int p1) {
  if (g.k == 0) {  // an empty sum: the bias alone
    for (int p = p0; p < p1; ++p) {
      const int j0 = p * kNr;
      const int nr = std::min(kNr, g.n - j0);
      for (int i = 0; i < g.m; ++i) std::memcpy(g.c + i * g.ldc + j0, g.bias + j0, sizeof(float) * static_cast<size_t>(nr));
      activateTile(g.c + j0, g.ldc, g.m, nr, g.act);
    }
    return;
  }
  for (int pc = 0; pc < g.k; pc += kKc) {
    const int kc = std::min(kKc, g.k - pc);
    const bool first = pc == 0;
    const bool last = pc + kc == g.k;
    for (int p = p0; p < p1; ++p) {
      const int j0 = p * kNr;
      const int nr = std::min(kNr, g.n - j0);
      const float* b = g.panels + (static_cast<int64_t>(p) * g.k + pc) * kNr;
      rowTiles<MR, VW>(g.a + pc, g.lda, g.m, b, kNr, kc, g.c + j0, g.ldc, nr, first, g.bias + j0);
      if (last) activateTile(g.c + j0, g.ldc, g.m, nr, g.act);
    }
  }
}

// c [m, n] = a [m, k] * b [k, n], row-major with leading dimensions.
template <int MR, int VW>
TRT_RERANK_ALWAYS_INLINE void gemmImpl(int m, int n, int k, const float* a, int64_t lda, const float* b,
                                       int64_t ldb, float* c, int64_t ldc) {
  if (k == 0) {
    for (int i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
    return;
  }
  // A ragged last column block of b is copied here, zero-padded to kNr columns, so the micro-kernel never
  // reads past column n.
  float edge[kKc * kNr];
  for (int pc = 0; pc < k; pc += kKc) {
    const int kc = std::min(kKc, k - pc);
    const bool first = pc == 0;
    for (int j0 = 0; j0 < n; j0 += kNr) {
      const int nr = std::min(kNr, n - j0);
      const float* bp = b + pc * ldb + j0;
      int64_t ldbp = ldb;
      if (nr < kNr) {
        for (int kk = 0; kk < kc; ++kk) {
          float* dst = edge + kk * kNr;
          for (int j = 0; j < kNr; ++j) dst[j] = j < nr ? bp[kk * ldb + j] : 0.0f;
        }
        bp = edge;
        ldbp = kNr;
      }
      rowTiles<MR, VW>(a + pc, lda, m, bp, ldbp, kc, c + j0, ldc, nr, first, nullptr);
    }
  }
}

// One entry point per ISA; each inlines the loops above and so compiles them for its ISA.
void linearBaseline(const LinearArgs& g, int p0, int p1) { linearImpl<kMrBaseline, kVwBaseline>(g, p0, p1); }
void gemmBaseline(int m, int n, int k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                  int64_t ldc) {
  gemmImpl<kMrBaseline, kVwBaseline>(m, n, k, a, lda, b, ldb, c, ldc);
}

#ifdef TRT_RERANK_X86_DISPATCH
__attribute__((target("avx2,fma"))) void linearAvx2(const LinearArgs& g, int p0, int p1) {
  linearImpl<kMrAvx2, kVwAvx2>(g, p0, p1);
}
__attribute__((target("avx2,fma"))) void gemmAvx2(int m, int n, int k, const float* a, int64_t lda,
                                                  const float* b, int64_t ldb, float* c, int64_t ldc) {
  gemmImpl<kMrAvx2, kVwAvx2>(m, n, k, a, lda, b, ldb, c, ldc);
}
#endif

struct Kernels {
  void (*linear)(const LinearArgs& g, int p0, int p1);
  void (*gemm)(int m, int n, int k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
               int64_t ldc);
  const char* isa;
};

Kernels pickKernels() {
#ifdef TRT_RERANK_X86_DISPATCH
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return {&linearAvx2, &gemmAvx2, "avx2+fma"};
  return {&linearBaseline, &gemmBaseline, "sse2"};
#elif defined(__aarch64__)
  return {&linearBaseline, &gemmBaseline, "neon"};
#else
  return {&linearBaseline, &gemmBaseline, "generic"};
#endif
}

// Chosen once (thread-safe static initialisation); the CPU does not change under a running process.
const Kernels& kernels() {
  static const Kernels chosen = pickKernels();
  return chosen;
}

// Below this many multiply-adds a product runs on the calling thread: waking the pool costs more.
constexpr int64_t kMinParallelMacs = int64_t{1} << 17;

}  // namespace

const char* kernelIsa() { return kernels().isa; }

PackedLinear::PackedLinear(const float* w, const float* bias, int n, int k)
    : n_(n), k_(k), bias_(static_cast<size_t>(n), 0.0f) {
  const int numPanels = (n + kNr - 1) / kNr;
  panels_.assign(static_cast<size_t>(numPanels) * static_cast<size_t>(k) * kNr, 0.0f);
  for (int p = 0; p < numPanels; ++p) {
    float* panel = panels_.data() + static_cast<size_t>(p) * static_cast<size_t>(k) * kNr;
    for (int j = 0; j < kNr && p * kNr + j < n; ++j) {
      const float* src = w + static_cast<size_t>(p * kNr + j) * static_cast<size_t>(k);
      for (int kk = 0; kk < k; ++kk) panel[static_cast<size_t>(kk) * kNr + j] = src[kk];
    }
  }
  if (bias) std::copy(bias, bias + n, bias_.begin());
}

void linear(const float* a, int64_t lda, int m, const PackedLinear& w, float* c, int64_t ldc, Activation act,
            ThreadPool* pool) {
  const LinearArgs g{a, lda, m, w.panels(), w.bias(), w.outFeatures(), w.inFeatures(), c, ldc, act};
  if (g.m <= 0 || g.n <= 0) return;
  const auto run = kernels().linear;
  const int numPanels = (g.n + kNr - 1) / kNr;
  const int64_t macs = static_cast<int64_t>(g.m) * g.n * std::max(g.k, 1);
  if (!pool || pool->size() == 1 || numPanels == 1 || macs < kMinParallelMacs) {
    run(g, 0, numPanels);
    return;
  }
  // Contiguous runs of panels, a few per participant so that one late thread does not hold up the rest.
  // Which thread computes a column does not change its value (see gemm.h).
  const int numChunks = std::min(numPanels, 4 * pool->size());
  pool->parallelFor(numChunks, [&](int64_t chunk, int) {
    const int p0 = static_cast<int>(numPanels * chunk / numChunks);
    const int p1 = static_cast<int>(numPanels * (chunk + 1) / numChunks);
    run(g, p0, p1);
  });
}

float activation(float x, Activation act) { return activate(x, act); }

void gemm(int m, int n, int k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  kernels().gemm(m, n, k, a, lda, b, ldb, c, ldc);
}

}  // namespace cpu
}  // namespace trt_rerank
