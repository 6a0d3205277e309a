// The GEMM hooks of addon.testing (testing addon only): our kernel (kernels/gemm.cuh) and the backend's
// dispatch (backends/cuda/linear_gemm.h) on given operands, for test/gpu/gemm.test.ts, and timed on the device for
// bench/gemm.mjs.
//   linearGemm(x, w, bias | null, m, n, k, { act, gated, dtype, impl, tile }) -> Float32Array [m, n]
//   benchGemm(m, n, k, { act, gated, dtype, impl, tile, iterations }) -> { ms, tflops }
// act: 'none' | 'gelu' | 'gelu_tanh' | 'relu' | 'silu' | 'tanh'; impl: 'ours' | 'cublaslt' | 'auto' (the backend's
// rule); tile: 'auto' | 'large' | 'medium' | 'small' | 'hopper' | 'hopper-tma' (ours only). w is [n, k], or [2n, k] gated; bias [n] or [2n].
#include <napi.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "backends/cuda/linear_gemm.h"
#include "binding/gpu_testing_hooks.h"
#include "kernels/gemm.cuh"

namespace trt_rerank::gpu_testing {
namespace {

constexpr size_t kWorkspaceBytes = 32u << 20;

struct GemmOptions {
  kernels::StorageType type = kernels::StorageType::Half;
  kernels::Activation act = kernels::Activation::None;
  bool gated = false;
  std::string impl = "ours";
  kernels::GemmTile tile = kernels::GemmTile::Auto;
  int iterations = 20;
};

GemmOptions gemmOptions(Napi::Env env, const Napi::Value& v) {
  if (!v.IsObject()) throwJsError(env, kErrInvalidArgument, "gemm hooks: options { act, gated, dtype, impl, tile } required");
  const Napi::Object o = v.As<Napi::Object>();
  auto text = [&](const char* key, const char* fallback) {
    const Napi::Value x = o.Get(key);
    return x.IsString() ? x.As<Napi::String>().Utf8Value() : std::string(fallback);
  };
  GemmOptions g;
  g.type = storageType(env, o.Get("dtype"));
  const std::string act = text("act", "none");
  if (act == "none") g.act = kernels::Activation::None;
  else if (act == "gelu") g.act = kernels::Activation::GeluErf;
  else if (act == "gelu_tanh") g.act = kernels::Activation::GeluTanh;
  else if (act == "relu") g.act = kernels::Activation::Relu;
  else if (act == "silu") g.act = kernels::Activation::Silu;
  else if (act == "tanh") g.act = kernels::Activation::Tanh;
  else throwJsError(env, kErrInvalidArgument, "gemm hooks: act '" + act + "' unknown");
  g.gated = o.Get("gated").ToBoolean().Value();
  g.impl = text("impl", "ours");
  if (g.impl != "ours" && g.impl != "cublaslt" && g.impl != "auto") throwJsError(env, kErrInvalidArgument, "gemm hooks: impl 'ours', 'cublaslt' or 'auto'");
  const std::string tile = text("tile", "auto");
  if (tile == "large") g.tile = kernels::GemmTile::Large;
  else if (tile == "medium") g.tile = kernels::GemmTile::Medium;
  else if (tile == "small") g.tile = kernels::GemmTile::Small;
  else if (tile == "hopper") g.tile = kernels::GemmTile::Hopper;
  else if (tile == "hopper-tma") g.tile = kernels::GemmTile::HopperTma;
  else if (tile != "auto") throwJsError(env, kErrInvalidArgument, "gemm hooks: tile 'auto', 'large', 'medium', 'small', 'hopper' or 'hopper-tma'");
  const Napi::Value it = o.Get("iterations");
  if (it.IsNumber()) g.iterations = std::clamp(it.As<Napi::Number>().Int32Value(), 1, 10000);
  return g;
}

// One product on the device, through our kernel (with the tile asked for) or the backend's dispatch.
class Runner {
 public:
  explicit Runner(const GemmOptions& o) : o_(o) {
    if (o.impl != "ours") gemm_ = std::make_unique<cuda::LinearGemm>(o.impl == "cublaslt" ? cuda::GemmChoice::CublasLt : cuda::GemmChoice::Auto);
  }
  void run(const void* x, const void* w, const void* bias, void* y, void* scratch, void* workspace, int64_t m, int64_t n, int64_t k,
           cudaStream_t stream) const {
    if (!gemm_) {
      kernels::GemmArgs a;
      a.type = o_.type, a.x = x, a.w = w, a.bias = bias, a.y = y, a.m = m, a.n = n, a.k = k, a.act = o_.act, a.gated = o_.gated, a.tile = o_.tile;
      kernels::gemm(a, stream);
      return;
    }
    cuda::LinearCall c;
    c.type = o_.type, c.x = x, c.w = w, c.bias = bias, c.y = y, c.m = m, c.n = n, c.k = k, c.act = o_.act, c.gated = o_.gated;
    c.scratch = scratch, c.workspace = workspace, c.workspaceBytes = kWorkspaceBytes;
    gemm_->run(c, stream);
  }

 private:
  GemmOptions o_;
  std::unique_ptr<cuda::LinearGemm> gemm_;
};

bool validShape(int64_t m, int64_t n, int64_t k) { return m >= 1 && n >= 1 && k >= 1 && m <= (1 << 24) && n <= (1 << 20) && k <= (1 << 20); }

Napi::Value linearGemmHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!isFloat32Array(info[0]) || !isFloat32Array(info[1])) throwJsError(env, kErrInvalidArgument, "linearGemm: x and w are Float32Arrays");
  const Napi::Float32Array x = info[0].As<Napi::Float32Array>(), w = info[1].As<Napi::Float32Array>();
  Napi::Float32Array bias;
  const bool hasBias = optionalFloat32(env, info[2], "linearGemm: bias", bias);
  const int64_t m = info[3].ToNumber().Int64Value(), n = info[4].ToNumber().Int64Value(), k = info[5].ToNumber().Int64Value();
  const GemmOptions o = gemmOptions(env, info[6]);
  const int64_t wRows = o.gated ? 2 * n : n;
  if (!validShape(m, n, k) || x.ElementLength() != static_cast<size_t>(m * k) || w.ElementLength() != static_cast<size_t>(wRows * k) ||
      (hasBias && bias.ElementLength() != static_cast<size_t>(wRows))) {
    throwJsError(env, kErrInvalidArgument, "linearGemm: x [m, k], w [n or 2n gated, k], bias [n or 2n] or null");
  }
  return onDevice(env, [&](cudaStream_t stream) -> Napi::Value {
    const Runner runner(o);
    DeviceBuffer dx = upload(x, o.type, stream), dw = upload(w, o.type, stream);
    DeviceBuffer db = hasBias ? upload(bias, o.type, stream) : DeviceBuffer();
    DeviceBuffer y(2 * static_cast<size_t>(m * n) + 16), scratch(o.gated ? 2 * static_cast<size_t>(m * wRows) : 16), workspace(kWorkspaceBytes);
    runner.run(dx.get(), dw.get(), hasBias ? db.get() : nullptr, y.get(), scratch.get(), workspace.get(), m, n, k, stream);
    return download(env, y, static_cast<size_t>(m * n), o.type, stream);
  });
}

// Operands filled with a constant bit pattern (0x3c3c: 1.06 in fp16, 0.0115 in bf16; the values do not change the
// time of a dense product), the call run once to warm up, then `iterations` times between two events, three
// times over; the fastest of the three.
Napi::Value benchGemmHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t m = info[0].ToNumber().Int64Value(), n = info[1].ToNumber().Int64Value(), k = info[2].ToNumber().Int64Value();
  const GemmOptions o = gemmOptions(env, info[3]);
  if (!validShape(m, n, k)) throwJsError(env, kErrInvalidArgument, "benchGemm: 1 <= m <= 2^24, 1 <= n, k <= 2^20");
  const int64_t wRows = o.gated ? 2 * n : n;
  return onDevice(env, [&](cudaStream_t stream) -> Napi::Value {
    const Runner runner(o);
    DeviceBuffer x(2 * static_cast<size_t>(m * k)), w(2 * static_cast<size_t>(wRows * k)), bias(2 * static_cast<size_t>(wRows));
    DeviceBuffer y(2 * static_cast<size_t>(m * n)), scratch(o.gated ? 2 * static_cast<size_t>(m * wRows) : 16), workspace(kWorkspaceBytes);
    for (DeviceBuffer* b : {&x, &w, &bias}) TRT_RERANK_CUDA_CHECK(cudaMemsetAsync(b->get(), 0x3c, b->bytes(), stream));
    runner.run(x.get(), w.get(), bias.get(), y.get(), scratch.get(), workspace.get(), m, n, k, stream);
    CudaEvent start, stop;
    float best = 0;
    for (int repeat = 0; repeat < 3; ++repeat) {
      TRT_RERANK_CUDA_CHECK(cudaEventRecord(start.get(), stream));
      for (int i = 0; i < o.iterations; ++i) runner.run(x.get(), w.get(), bias.get(), y.get(), scratch.get(), workspace.get(), m, n, k, stream);
      TRT_RERANK_CUDA_CHECK(cudaEventRecord(stop.get(), stream));
      TRT_RERANK_CUDA_CHECK(cudaEventSynchronize(stop.get()));
      float ms = 0;
      TRT_RERANK_CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), stop.get()));
      ms /= static_cast<float>(o.iterations);
      if (repeat == 0 || ms < best) best = ms;
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("ms", best);
    out.Set("tflops", 2.0 * static_cast<double>(m) * static_cast<double>(wRows) * static_cast<double>(k) / (best * 1e-3) / 1e12);
    return out;
  });
}

}  // namespace

void addGemmHooks(Napi::Env env, Napi::Object& testing) {
  testing.Set("linearGemm", Napi::Function::New(env, linearGemmHook));
  testing.Set("benchGemm", Napi::Function::New(env, benchGemmHook));
}

}  // namespace trt_rerank::gpu_testing
