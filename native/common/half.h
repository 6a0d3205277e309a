// 16-bit float formats of safetensors checkpoints widened to fp32. Both conversions are exact: every fp16
// and bf16 value (subnormals, infinities, NaN payloads included) is representable in fp32.
#pragma once

#include <cstdint>
#include <cstring>

namespace trt_rerank {

inline float bitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);  // memcpy, not a union or pointer cast: the one defined way in C++17
  return f;
}

// IEEE binary16 (1 sign, 5 exponent, 10 mantissa bits) -> binary32.
inline float halfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24. The product is exact (an integer below 2^10 times a power of
    // two, landing in fp32's normal range), which is simpler than renormalising the bits by hand.
    const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 0x1f) {
    // Inf or NaN: keep the payload bits (the quiet bit lands on fp32's quiet bit).
    return bitsToFloat(sign | 0x7f800000u | (mantissa << 13));
  }
  // Normal: rebias the exponent from 15 to 127.
  return bitsToFloat(sign | ((exponent + (127 - 15)) << 23) | (mantissa << 13));
}

// bfloat16 is the top half of an fp32.
inline float bf16ToFloat(uint16_t b) { return bitsToFloat(static_cast<uint32_t>(b) << 16); }

// Little-endian loads from unaligned bytes (safetensors data are little-endian and packed without
// alignment). Assembled byte by byte so the result does not depend on the host's byte order.
inline uint16_t loadLe16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (static_cast<uint16_t>(p[1]) << 8));
}

inline uint32_t loadLe32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

}  // namespace trt_rerank
