# CMake toolchain file: cross-compiles for Linux aarch64 with the compiler tools/fetch-aarch64-gcc.sh unpacks into
# .third_party/aarch64-cross (Debian bookworm's g++-12-aarch64-linux-gnu); TRT_RERANK_AARCH64_ROOT names another
# such folder. Used by tools/prebuild.mjs for the CPU-only linux-arm64 variant; the cross binutils need
# LD_LIBRARY_PATH=<root>/usr/lib/x86_64-linux-gnu in the environment (prebuild.mjs sets it).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
if(DEFINED ENV{TRT_RERANK_AARCH64_ROOT})
  set(_root "$ENV{TRT_RERANK_AARCH64_ROOT}")
else()
  get_filename_component(_root "${CMAKE_CURRENT_LIST_DIR}/../../.third_party/aarch64-cross" ABSOLUTE)
endif()
# The unpacked tree is the sysroot: the linker scripts of the arm64 glibc name /usr/aarch64-linux-gnu/lib/...
set(CMAKE_SYSROOT "${_root}")
set(CMAKE_C_COMPILER "${_root}/usr/bin/aarch64-linux-gnu-gcc-12")
set(CMAKE_CXX_COMPILER "${_root}/usr/bin/aarch64-linux-gnu-g++-12")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
