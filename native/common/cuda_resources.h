// Move-only owners of CUDA resources (CCCL's stream/stream_ref habit): destructors never throw, and
// release what they own on the device it was made on.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <utility>

#include "common/cuda_check.h"

namespace trt_rerank {

// Owned memory from a CUDA allocator: Memory names the allocate/free pair (device or page-locked host).
template <typename Memory>
class CudaBuffer {
 public:
  CudaBuffer() = default;
  explicit CudaBuffer(size_t bytes) : bytes_(bytes) {
    if (bytes > 0) Memory::allocate(&ptr_, bytes);
  }
  ~CudaBuffer() {
    if (ptr_) Memory::release(ptr_);
  }
  CudaBuffer(CudaBuffer&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  CudaBuffer& operator=(CudaBuffer&& o) noexcept {
    if (this != &o) {
      if (ptr_) Memory::release(ptr_);
      ptr_ = std::exchange(o.ptr_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  CudaBuffer(const CudaBuffer&) = delete;
  CudaBuffer& operator=(const CudaBuffer&) = delete;

  template <typename T = void>
  T* get() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

struct DeviceMemory {
  static void allocate(void** p, size_t bytes) { TRT_RERANK_CUDA_CHECK(cudaMalloc(p, bytes)); }
  static void release(void* p) noexcept { cudaFree(p); }
};

// Page-locked host memory: the staging side of asynchronous copies.
struct PinnedHostMemory {
  static void allocate(void** p, size_t bytes) { TRT_RERANK_CUDA_CHECK(cudaHostAlloc(p, bytes, cudaHostAllocDefault)); }
  static void release(void* p) noexcept { cudaFreeHost(p); }
};

using DeviceBuffer = CudaBuffer<DeviceMemory>;
using PinnedBuffer = CudaBuffer<PinnedHostMemory>;

class CudaStream {
 public:
  CudaStream() { TRT_RERANK_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  ~CudaStream() {
    if (stream_) cudaStreamDestroy(stream_);
  }
  CudaStream(CudaStream&& o) noexcept : stream_(std::exchange(o.stream_, nullptr)) {}
  CudaStream& operator=(CudaStream&&) = delete;
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;
  cudaStream_t get() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

class CudaEvent {
 public:
  explicit CudaEvent(unsigned flags = cudaEventDefault) { TRT_RERANK_CUDA_CHECK(cudaEventCreateWithFlags(&event_, flags)); }
  ~CudaEvent() {
    if (event_) cudaEventDestroy(event_);
  }
  CudaEvent(CudaEvent&& o) noexcept : event_(std::exchange(o.event_, nullptr)) {}
  CudaEvent& operator=(CudaEvent&&) = delete;
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;
  cudaEvent_t get() const { return event_; }

 private:
  cudaEvent_t event_ = nullptr;
};

}  // namespace trt_rerank
