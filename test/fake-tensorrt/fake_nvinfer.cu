// A fake libnvinfer.so.<major> for the GPU test lane: no machine here has TensorRT, so this stands in for
// it to run trt-rerank's TensorRT backend end to end — dlopen, version check, deserialize, I/O discovery,
// execution contexts, tensor addresses, input shapes, enqueueV3 (inside CUDA graph capture too), logits.
// It implements, against the real headers' ABI, only the calls trt-rerank makes; any other call aborts
// (stubs.h). It checks what real TensorRT requires (every address set, shapes inside the profile) and fails
// the way TensorRT does: false or null, with the reason sent to the logger.
//
// Its "engine" is a text file (see parsePlan) describing the I/O; its network computes the pipeline test
// backend's score (native/backends/testing/test_score.cuh), so tests know every expected logit exactly.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>
#include <string>

#include "backends/testing/test_score.cuh"
#include "stubs.h"

[[noreturn]] void fakeTensorRtUnimplemented(const char* method) {
  std::fprintf(stderr, "fake TensorRT: %s is not implemented (trt-rerank called something the fake does not expect)\n", method);
  std::abort();
}

namespace fake {
namespace {

constexpr int kThreads = 128;

struct Plan {
  DataType inputType = DataType::kINT64;
  bool typeIds = true;
  DataType outputType = DataType::kFLOAT;
  int labels = 1;
  int minBatch = 1, maxBatch = 512, minSeq = 1, optSeq = 128, maxSeq = 512;
};

// "trt-rerank-fake-plan" then key=value lines: inputType (int32|int64), typeIds (0|1), outputType
// (fp32|fp16|bf16), labels (1|2), minBatch, maxBatch, minSeq, optSeq, maxSeq.
bool parsePlan(const void* blob, size_t size, Plan& plan, std::string& error) {
  std::istringstream in(std::string(static_cast<const char*>(blob), size));
  std::string line;
  if (!std::getline(in, line) || line != "trt-rerank-fake-plan") {
    error = "fake TensorRT: the blob is not a fake plan (wrong magic)";
    return false;
  }
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    auto type = [&](const std::string& v) {
      return v == "int32" ? DataType::kINT32 : v == "fp16" ? DataType::kHALF : v == "bf16" ? DataType::kBF16 : v == "fp32" ? DataType::kFLOAT : DataType::kINT64;
    };
    if (key == "inputType") plan.inputType = type(value);
    else if (key == "typeIds") plan.typeIds = value == "1";
    else if (key == "outputType") plan.outputType = type(value);
    else if (key == "labels") plan.labels = std::atoi(value.c_str());
    else if (key == "minBatch") plan.minBatch = std::atoi(value.c_str());
    else if (key == "maxBatch") plan.maxBatch = std::atoi(value.c_str());
    else if (key == "minSeq") plan.minSeq = std::atoi(value.c_str());
    else if (key == "optSeq") plan.optSeq = std::atoi(value.c_str());
    else if (key == "maxSeq") plan.maxSeq = std::atoi(value.c_str());
  }
  return true;
}

template <typename Int, typename Out>
__global__ void __launch_bounds__(kThreads)
fakeNetworkKernel(const Int* ids, const Int* mask, const Int* typeIds, int seqLen, int labels, Out* logits) {
  const int row = blockIdx.x;
  uint32_t sum = 0;
  for (int t = threadIdx.x; t < seqLen; t += blockDim.x) {
    const int64_t i = static_cast<int64_t>(row) * seqLen + t;
    if (!mask[i]) continue;
    const uint32_t type = typeIds ? static_cast<uint32_t>(typeIds[i]) : 0u;
    sum += trt_rerank::testing::tokenHash(static_cast<uint32_t>(ids[i]), type, static_cast<uint32_t>(t));
  }
  const float logit = trt_rerank::testing::blockTestLogit<kThreads>(sum);
  if (threadIdx.x == 0) {
    for (int l = 0; l < labels; ++l) logits[row * labels + l] = static_cast<Out>(l == labels - 1 ? logit : 0.0f);
  }
}

template <typename Int>
void launchNetwork(const Plan& plan, const void* ids, const void* mask, const void* typeIds, int rows, int seqLen, void* out,
                   cudaStream_t stream) {
  auto I = [](const void* p) { return static_cast<const Int*>(p); };
  switch (plan.outputType) {
    case DataType::kHALF:
      fakeNetworkKernel<<<rows, kThreads, 0, stream>>>(I(ids), I(mask), I(typeIds), seqLen, plan.labels, static_cast<__half*>(out));
      break;
    case DataType::kBF16:
      fakeNetworkKernel<<<rows, kThreads, 0, stream>>>(I(ids), I(mask), I(typeIds), seqLen, plan.labels, static_cast<__nv_bfloat16*>(out));
      break;
    default:
      fakeNetworkKernel<<<rows, kThreads, 0, stream>>>(I(ids), I(mask), I(typeIds), seqLen, plan.labels, static_cast<float*>(out));
  }
}

ILogger* gLogger = nullptr;
void fail(const std::string& message) {
  if (gLogger) gLogger->log(ILogger::Severity::kERROR, message.c_str());
}

const char* const kNames[] = {"input_ids", "attention_mask", "token_type_ids", "logits"};

class FakeEngine;

constexpr int64_t kActivationBytes = 1 << 20;

class FakeContextImpl : public StubVExecutionContext {
 public:
  FakeContextImpl(const Plan& plan, bool userManaged) : plan_(plan), userManaged_(userManaged) {}
  void setDeviceMemoryV2(void* memory, int64_t size) noexcept override {
    memory_ = memory;
    memorySize_ = size;
  }
  bool setTensorAddress(char const* name, void* data) noexcept override {
    if (!known(name)) {
      fail(std::string("fake TensorRT: setTensorAddress: no tensor '") + name + "'");
      return false;
    }
    if (reinterpret_cast<uintptr_t>(data) % 256 != 0) {
      fail(std::string("fake TensorRT: setTensorAddress('") + name + "'): address not 256-byte aligned");
      return false;
    }
    addresses_[name] = data;
    return true;
  }
  bool setInputShape(char const* name, Dims const& dims) noexcept override {
    const std::string n = name;
    if (n == "logits" || !known(name)) {
      fail("fake TensorRT: setInputShape: '" + n + "' is not an input");
      return false;
    }
    if (dims.nbDims != 2 || dims.d[0] < plan_.minBatch || dims.d[0] > plan_.maxBatch || dims.d[1] < plan_.minSeq ||
        dims.d[1] > plan_.maxSeq) {
      fail("fake TensorRT: setInputShape('" + n + "'): shape outside profile 0");
      return false;
    }
    shapes_[n] = {dims.d[0], dims.d[1]};
    return true;
  }
  bool enqueueV3(cudaStream_t stream) noexcept override {
    if (userManaged_ && (!memory_ || memorySize_ < kActivationBytes)) {
      return fail("fake TensorRT: enqueueV3: a kUSER_MANAGED context needs setDeviceMemoryV2 with getDeviceMemorySizeV2() bytes"), false;
    }
    const int inputs = plan_.typeIds ? 3 : 2;
    for (int i = 0; i < inputs; ++i) {
      if (!addresses_.count(kNames[i])) return fail(std::string("fake TensorRT: enqueueV3: no address for ") + kNames[i]), false;
      if (!shapes_.count(kNames[i])) return fail(std::string("fake TensorRT: enqueueV3: no shape for ") + kNames[i]), false;
      if (shapes_[kNames[i]] != shapes_["input_ids"]) return fail("fake TensorRT: enqueueV3: inputs disagree on shape"), false;
    }
    if (!addresses_.count("logits")) return fail("fake TensorRT: enqueueV3: no address for logits"), false;
    const auto [rows, seqLen] = shapes_["input_ids"];
    const void* typeIds = plan_.typeIds ? addresses_["token_type_ids"] : nullptr;
    if (plan_.inputType == DataType::kINT32) {
      launchNetwork<int32_t>(plan_, addresses_["input_ids"], addresses_["attention_mask"], typeIds, static_cast<int>(rows),
                             static_cast<int>(seqLen), addresses_["logits"], stream);
    } else {
      launchNetwork<int64_t>(plan_, addresses_["input_ids"], addresses_["attention_mask"], typeIds, static_cast<int>(rows),
                             static_cast<int>(seqLen), addresses_["logits"], stream);
    }
    if (cudaGetLastError() != cudaSuccess) return fail("fake TensorRT: enqueueV3: kernel launch failed"), false;
    return true;
  }

 private:
  bool known(const char* name) const {
    const std::string n = name;
    return n == "input_ids" || n == "attention_mask" || n == "logits" || (n == "token_type_ids" && plan_.typeIds);
  }
  Plan plan_;
  bool userManaged_;
  void* memory_ = nullptr;
  int64_t memorySize_ = 0;
  std::map<std::string, void*> addresses_;
  std::map<std::string, std::pair<int64_t, int64_t>> shapes_;
};

class FakeContext : public IExecutionContext {
 public:
  FakeContext(const Plan& plan, bool userManaged) : impl_(plan, userManaged) { mImpl = &impl_; }

 private:
  FakeContextImpl impl_;
};

class FakeEngineImpl : public StubVCudaEngine {
 public:
  explicit FakeEngineImpl(const Plan& plan) : plan_(plan) {}
  int32_t getNbIOTensors() const noexcept override { return plan_.typeIds ? 4 : 3; }
  char const* getIOTensorName(int32_t index) const noexcept override {
    if (!plan_.typeIds && index == 2) return "logits";
    return index >= 0 && index < 4 ? kNames[index] : nullptr;
  }
  TensorIOMode getTensorIOMode(char const* name) const noexcept override {
    return std::string(name) == "logits" ? TensorIOMode::kOUTPUT : TensorIOMode::kINPUT;
  }
  DataType getTensorDataType(char const* name) const noexcept override {
    return std::string(name) == "logits" ? plan_.outputType : plan_.inputType;
  }
  Dims getTensorShape(char const* name) const noexcept override {
    return std::string(name) == "logits" ? Dims2(-1, plan_.labels) : Dims2(-1, -1);
  }
  TensorLocation getTensorLocation(char const*) const noexcept override { return TensorLocation::kDEVICE; }
  int32_t getNbOptimizationProfiles() const noexcept override { return 1; }
  Dims getProfileShape(char const*, int32_t profileIndex, OptProfileSelector select) const noexcept override {
    if (profileIndex != 0) return Dims{-1, {}};
    switch (select) {
      case OptProfileSelector::kMIN: return Dims2(plan_.minBatch, plan_.minSeq);
      case OptProfileSelector::kOPT: return Dims2(plan_.maxBatch, plan_.optSeq);
      default: return Dims2(plan_.maxBatch, plan_.maxSeq);
    }
  }
  int64_t getDeviceMemorySizeV2() const noexcept override { return kActivationBytes; }
  IExecutionContext* createExecutionContext(ExecutionContextAllocationStrategy strategy) noexcept override {
    return new FakeContext(plan_, strategy == ExecutionContextAllocationStrategy::kUSER_MANAGED);
  }

 private:
  Plan plan_;
};

class FakeEngine : public ICudaEngine {
 public:
  explicit FakeEngine(const Plan& plan) : impl_(plan) { mImpl = &impl_; }

 private:
  FakeEngineImpl impl_;
};

class FakeRuntimeImpl : public StubVRuntime {
 public:
  using StubVRuntime::deserializeCudaEngine;  // the stream-reader overloads stay stubs
  ICudaEngine* deserializeCudaEngine(void const* blob, std::size_t size) noexcept override {
    Plan plan;
    std::string error;
    if (!parsePlan(blob, size, plan, error)) {
      fail(error);
      return nullptr;
    }
    return new FakeEngine(plan);
  }
  void setEngineHostCodeAllowed(bool) noexcept override {}
};

class FakeRuntime : public IRuntime {
 public:
  FakeRuntime() { mImpl = &impl_; }

 private:
  FakeRuntimeImpl impl_;
};

}  // namespace
}  // namespace fake

extern "C" __attribute__((visibility("default"))) void* createInferRuntime_INTERNAL(void* logger, int32_t version) noexcept {
  if (version / 10000 != NV_TENSORRT_MAJOR) return nullptr;
  fake::gLogger = static_cast<nvinfer1::ILogger*>(logger);
  return static_cast<nvinfer1::IRuntime*>(new fake::FakeRuntime());
}

extern "C" __attribute__((visibility("default"))) int32_t getInferLibVersion() noexcept { return NV_TENSORRT_VERSION; }
