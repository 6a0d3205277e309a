// Fuzz target: the CPU backend's weight loader (cpu::loadParams: mapWeightFiles, checkedTensor, checkPickedRows,
// widening) over a mapped file (MappedFile) with a fuzzed TensorRef set. The input is config.json, a NUL byte,
// then a safetensors file. The TensorRefs come from that file's header as lib/model/plan.ts would name them
// (prefix dropped), but unchecked: the header's dtype, shape and data_offsets go into the refs as they are
// (offsets past the file, begin > end, shapes that disagree), plus an optional "file" index per tensor, so the
// native checks are what stands between them and the read. loadParams must return or throw NativeError (or
// std::runtime_error naming a file it cannot map, which Session::load reports as ERR_MODEL_INVALID).
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

#include "backends/cpu/cpu_weights.h"
#include "common/errors.h"
#include "json.h"

using namespace trt_rerank;

namespace {

// A memfd holding `bytes`, named by a /proc path that MappedFile opens as a regular file.
class MemFile {
 public:
  MemFile(const uint8_t* bytes, size_t size) : fd_(::memfd_create("fuzz-weights", MFD_CLOEXEC)) {
    if (fd_ < 0) std::abort();
    for (size_t done = 0; done < size;) {
      const ssize_t n = ::write(fd_, bytes + done, size - done);
      if (n <= 0) std::abort();
      done += static_cast<size_t>(n);
    }
  }
  ~MemFile() { ::close(fd_); }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

std::string canonical(const std::string& name, const std::string& prefix) {
  std::string n = name.compare(0, prefix.size(), prefix) == 0 ? name.substr(prefix.size()) : name;
  static const std::string gamma = "LayerNorm.gamma", beta = "LayerNorm.beta";
  if (n.size() >= gamma.size() && n.compare(n.size() - gamma.size(), gamma.size(), gamma) == 0) n.replace(n.size() - gamma.size(), gamma.size(), "LayerNorm.weight");
  if (n.size() >= beta.size() && n.compare(n.size() - beta.size(), beta.size(), beta) == 0) n.replace(n.size() - beta.size(), beta.size(), "LayerNorm.bias");
  return n;
}

// A JSON number as a uint64/int64 the way a loose header would give it (clamped, not checked).
uint64_t u64(const fuzz::Json& v) {
  if (v.type != fuzz::Json::Type::Number || !(v.number >= 0)) return 0;
  return v.number >= 1.8e19 ? UINT64_MAX : static_cast<uint64_t>(v.number);
}
int64_t i64(const fuzz::Json& v) {
  if (v.type != fuzz::Json::Type::Number || v.number != v.number) return 0;
  if (v.number >= 9.2e18) return INT64_MAX;
  if (v.number <= -9.2e18) return INT64_MIN;
  return static_cast<int64_t>(v.number);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const uint8_t* nul = static_cast<const uint8_t*>(std::memchr(data, 0, size));
  if (!nul) return 0;
  const std::optional<fuzz::Json> config = fuzz::JsonParser::parse(reinterpret_cast<const char*>(data), nul - data);
  if (!config || config->type != fuzz::Json::Type::Object) return 0;
  const uint8_t* file = nul + 1;
  const size_t fileSize = size - (file - data);

  ModelSpec spec;
  try {
    fuzz::JsonConfigReader reader(*config, "config.json");
    spec.model = models::createModel(reader, fuzz::fuzzOptions(*config));
  } catch (const NativeError& e) {
    if (std::getenv("TRT_RERANK_FUZZ_VERBOSE")) std::fprintf(stderr, "config refused: %s\n", e.what());
    return 0;  // fuzz_config's ground
  }
  const MemFile weights(file, fileSize);
  spec.weightFiles = {weights.path()};
  if (fileSize >= 8) {
    uint64_t n = 0;
    std::memcpy(&n, file, 8);  // little-endian hosts only (x86_64, aarch64)
    if (n <= fileSize - 8) {
      const std::optional<fuzz::Json> header = fuzz::JsonParser::parse(reinterpret_cast<const char*>(file + 8), n);
      if (header && header->type == fuzz::Json::Type::Object) {
        for (const auto& [name, t] : header->object) {
          if (t.type != fuzz::Json::Type::Object) continue;
          TensorRef ref;
          const fuzz::Json* dtype = t.get("dtype");
          const std::string d = dtype && dtype->type == fuzz::Json::Type::String ? dtype->string : "";
          ref.dtype = d == "F16" ? WeightDType::F16 : d == "BF16" ? WeightDType::BF16
                                                                  : WeightDType::F32;
          if (const fuzz::Json* shape = t.get("shape"); shape && shape->type == fuzz::Json::Type::Array) {
            for (const fuzz::Json& dim : shape->array) ref.shape.push_back(i64(dim));
          }
          const fuzz::Json* offsets = t.get("data_offsets");
          if (offsets && offsets->type == fuzz::Json::Type::Array && offsets->array.size() == 2) {
            const uint64_t begin = u64(offsets->array[0]), end = u64(offsets->array[1]);
            ref.offset = 8 + n + begin;  // may wrap: the checks see what a corrupt plan would give them
            ref.nbytes = end - begin;
          }
          if (const fuzz::Json* f = t.get("file")) ref.file = static_cast<uint32_t>(u64(*f));
          spec.tensors[canonical(name, spec.model->info().tensorPrefix)] = ref;
        }
      }
    }
  }
  try {
    const std::vector<cpu::Param> params = cpu::loadParams(spec);
    if (params.size() != spec.model->params().size()) std::abort();
  } catch (const NativeError& e) {
    if (std::getenv("TRT_RERANK_FUZZ_VERBOSE")) std::fprintf(stderr, "weights refused: %s\n", e.what());
  } catch (const std::runtime_error& e) {
    if (std::strncmp(e.what(), "cannot ", 7) != 0) {  // MappedFile's messages; anything else is a finding
      std::fprintf(stderr, "fuzz_weights: runtime_error escaped loadParams: %s\n", e.what());
      std::abort();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_weights: %s escaped loadParams: %s\n", typeid(e).name(), e.what());
    std::abort();
  }
  return 0;
}
