// Exceptions thrown inside the addon carry a stable code that the JS side maps to an error class
// (lib/errors.ts). They never cross the Node-API boundary: workers turn them into rejected promises.
#pragma once

#include <stdexcept>
#include <string>

namespace trt_rerank {

class NativeError : public std::runtime_error {
 public:
  NativeError(const char* code, const std::string& message) : std::runtime_error(message), code_(code) {}
  const char* code() const noexcept { return code_; }

 private:
  const char* code_;  // a string literal: ERR_INVALID_ARGUMENT, ERR_BACKEND, ERR_CANCELLED, ERR_CLOSED
};

inline constexpr const char* kErrInvalidArgument = "ERR_INVALID_ARGUMENT";
inline constexpr const char* kErrBackend = "ERR_BACKEND";
inline constexpr const char* kErrCancelled = "ERR_CANCELLED";
inline constexpr const char* kErrClosed = "ERR_CLOSED";

}  // namespace trt_rerank
