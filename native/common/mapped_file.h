// A whole file mapped read-only, owned RAII-style. Header-only so that every target that needs it links
// without a build-list change.
//
// Windows has no mmap here: there the file is read into memory instead, behind the same interface
// (loading is a one-off copy into fp32 anyway, so nothing relies on pages being shared).
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#ifdef _WIN32
#include <cstdio>
#include <memory>
#else
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace trt_rerank {

class MappedFile {
 public:
  MappedFile() = default;

  // Throws std::runtime_error naming the path and the system's reason.
  explicit MappedFile(const std::string& path) : path_(path) {
#ifdef _WIN32
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (!file) fail("cannot open", errno);
    // The FILE* is closed on every path out of this block, including throws.
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(file, &std::fclose);
    if (std::fseek(file, 0, SEEK_END) != 0) fail("cannot seek", errno);
    const long long end = _ftelli64(file);
    if (end < 0) fail("cannot size", errno);
    if (std::fseek(file, 0, SEEK_SET) != 0) fail("cannot seek", errno);
    size_ = static_cast<size_t>(end);
    if (size_ > 0) {
      buffer_.reset(new uint8_t[size_]);
      if (std::fread(buffer_.get(), 1, size_, file) != size_) fail("cannot read", errno);
      data_ = buffer_.get();
    }
#else
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("cannot open", errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      fail("cannot stat", err);
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      throw std::runtime_error("cannot map '" + path_ + "': not a regular file");
    }
    size_ = static_cast<size_t>(st.st_size);
    // mmap of length 0 is an error; an empty file is simply an empty view.
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        const int err = errno;
        ::close(fd);
        fail("cannot map", err);
      }
      data_ = static_cast<const uint8_t*>(p);
      // Loading reads each tensor once, front to back: let the kernel read ahead. Only a hint.
      ::madvise(p, size_, MADV_SEQUENTIAL);
    }
    ::close(fd);  // the mapping keeps its own reference to the file
#endif
  }

  ~MappedFile() { release(); }

  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  MappedFile(MappedFile&& other) noexcept { *this = std::move(other); }
  MappedFile& operator=(MappedFile&& other) noexcept {
    if (this != &other) {
      release();
      path_ = std::move(other.path_);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
#ifdef _WIN32
      buffer_ = std::move(other.buffer_);
#endif
    }
    return *this;
  }

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  [[noreturn]] void fail(const char* what, int err) const {
    throw std::runtime_error(std::string(what) + " '" + path_ + "': " + std::strerror(err));
  }

  // Never throws: munmap can only fail on arguments we built ourselves.
  void release() noexcept {
#ifdef _WIN32
    buffer_.reset();
#else
    if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
#endif
    data_ = nullptr;
    size_ = 0;
  }

  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
#ifdef _WIN32
  std::unique_ptr<uint8_t[]> buffer_;
#endif
};

}  // namespace trt_rerank
