// A dlopen'ed library, owned (TensorRT samples/common/common.h's habit): move-only, closed on destruction,
// with the dlerror() text kept for messages and typed symbol lookup.
#pragma once

#include <dlfcn.h>

#include <string>
#include <utility>

namespace trt_rerank {

class DynamicLibrary {
 public:
  DynamicLibrary() = default;
  // Tries each name in order; the first that loads wins. error() explains every failure otherwise.
  template <typename... Names>
  static DynamicLibrary openFirst(const Names&... names) {
    DynamicLibrary lib;
    for (const char* name : {names...}) {
      dlerror();
      lib.handle_ = dlopen(name, RTLD_NOW | RTLD_LOCAL);
      if (lib.handle_) {
        lib.name_ = name;
        lib.error_.clear();
        return lib;
      }
      const char* why = dlerror();
      lib.error_ += (lib.error_.empty() ? "" : "; ") + std::string(why ? why : name);
    }
    return lib;
  }
  ~DynamicLibrary() {
    if (handle_) dlclose(handle_);
  }
  DynamicLibrary(DynamicLibrary&& other) noexcept
      : handle_(std::exchange(other.handle_, nullptr)), name_(std::move(other.name_)), error_(std::move(other.error_)) {}
  DynamicLibrary& operator=(DynamicLibrary&& other) noexcept {
    if (this != &other) {
      if (handle_) dlclose(handle_);
      handle_ = std::exchange(other.handle_, nullptr);
      name_ = std::move(other.name_);
      error_ = std::move(other.error_);
    }
    return *this;
  }
  DynamicLibrary(const DynamicLibrary&) = delete;
  DynamicLibrary& operator=(const DynamicLibrary&) = delete;

  bool loaded() const { return handle_ != nullptr; }
  const std::string& name() const { return name_; }
  const std::string& error() const { return error_; }

  // nullptr when the library is not loaded or lacks the symbol.
  template <typename Fn>
  Fn symbol(const char* symbolName) const {
    return handle_ ? reinterpret_cast<Fn>(dlsym(handle_, symbolName)) : nullptr;
  }

 private:
  void* handle_ = nullptr;
  std::string name_;
  std::string error_;
};

}  // namespace trt_rerank
