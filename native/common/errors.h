// Exceptions thrown inside the addon carry a stable code that the JS side maps to an error class
// (lib/errors.ts fromNativeCode). They never cross the Node-API boundary: workers turn them into rejected promises.
#pragma once

#include <stdexcept>
#include <string>

#include "common/error_codes.h"  // generated from common/error_codes.json (the kErr* codes)

namespace trt_rerank {

class NativeError : public std::runtime_error {
 public:
  NativeError(const char* code, const std::string& message) : std::runtime_error(message), code_(code) {}
  const char* code() const noexcept { return code_; }

 private:
  const char* code_;  // a string literal: one of the kErr* codes (common/error_codes.json)
};

}  // namespace trt_rerank
