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
  const char* code_;  // a string literal: one of the kErr* codes below
};

inline constexpr const char* kErrInvalidArgument = "ERR_INVALID_ARGUMENT";
inline constexpr const char* kErrBackend = "ERR_BACKEND";
// A library or build part the operation needs is missing here (TensorRT, its ONNX parser, cuBLASLt, or this build
// lacks the backend): the fix is an install or a rebuild, named in the message. JS: BackendUnavailableError.
inline constexpr const char* kErrBackendUnavailable = "ERR_BACKEND_UNAVAILABLE";
inline constexpr const char* kErrCancelled = "ERR_CANCELLED";
inline constexpr const char* kErrClosed = "ERR_CLOSED";

}  // namespace trt_rerank
