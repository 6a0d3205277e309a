// The activations the models define, on the device in fp32: one definition for the activation pass, the gated
// product (encoder.cu) and the GEMM epilogues (gemm.cu). The erf form is transformers' "gelu"; the tanh form its
// "gelu_new" / "gelu_pytorch_tanh"; SiLU is Qwen3's "silu".
#pragma once

#include "kernels/encoder.cuh"

namespace trt_rerank::kernels {

__device__ __forceinline__ float activation(Activation act, float x) {
  switch (act) {
    case Activation::None: return x;
    case Activation::GeluErf: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case Activation::GeluTanh: return 0.5f * x * (1.0f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
    case Activation::Relu: return fmaxf(x, 0.0f);
    case Activation::Silu: return x / (1.0f + expf(-x));
    default: return tanhf(x);
  }
}

}  // namespace trt_rerank::kernels
