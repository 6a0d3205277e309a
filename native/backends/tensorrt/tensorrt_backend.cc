// Per batch, on the slot's stream (the slot's context, buffers and tensor addresses are fixed at load):
//   packEngineInputs  packed pairs -> [rows, seqLen] input_ids / attention_mask / token_type_ids
//   setInputShape     only when (rows, seqLen) differs from the slot's last batch
//   enqueueV3         or the CUDA graph captured for this (rows, seqLen)
//   engineLogitsToFloat  the engine's logits -> the pipeline's fp32 logits (activation and scatter follow)
// seqLen is the batch's longest pair rounded up to a sequence bucket (engine_io.h), so a handful of shapes
// cover every batch: each is warmed up at load, and captured as a graph on first use.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "backends/tensorrt/engine_io.h"
#include "backends/tensorrt/tensorrt_backend.h"
#include "backends/tensorrt/tensorrt_runtime.h"
#include "common/cuda_check.h"
#include "common/cuda_resources.h"
#include "common/errors.h"
#include "common/mapped_file.h"
#include "kernels/engine_io.cuh"

namespace trt_rerank {
namespace {

namespace nv = nvinfer1;
using tensorrt::logger;
using tensorrt::Owned;

constexpr size_t kMaxGraphsPerSlot = 64;

TensorType fromTrt(nv::DataType t) {
  switch (t) {
    case nv::DataType::kFLOAT: return TensorType::Float;
    case nv::DataType::kHALF: return TensorType::Half;
    case nv::DataType::kBF16: return TensorType::BFloat16;
    case nv::DataType::kINT8: return TensorType::Int8;
    case nv::DataType::kINT32: return TensorType::Int32;
    case nv::DataType::kINT64: return TensorType::Int64;
    case nv::DataType::kBOOL: return TensorType::Bool;
    case nv::DataType::kUINT8: return TensorType::UInt8;
    default: return TensorType::Other;
  }
}

std::vector<int64_t> fromDims(const nv::Dims& d) {
  std::vector<int64_t> out;
  for (int32_t i = 0; i < d.nbDims; ++i) out.push_back(d.d[i]);
  return out;
}

size_t elementBytes(TensorType t) {
  switch (t) {
    case TensorType::Int64: return 8;
    case TensorType::Half:
    case TensorType::BFloat16: return 2;
    default: return 4;
  }
}

class CudaGraph {
 public:
  CudaGraph() = default;
  ~CudaGraph() {
    if (exec_) cudaGraphExecDestroy(exec_);
    if (graph_) cudaGraphDestroy(graph_);
  }
  CudaGraph(CudaGraph&& o) noexcept : graph_(std::exchange(o.graph_, nullptr)), exec_(std::exchange(o.exec_, nullptr)) {}
  CudaGraph& operator=(CudaGraph&&) = delete;
  CudaGraph(const CudaGraph&) = delete;

  // Captures what `enqueue` puts on `stream`. False (and the stream usable again) when capture fails:
  // the caller then runs without a graph.
  template <typename Enqueue>
  bool capture(cudaStream_t stream, Enqueue&& enqueue) {
    if (cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal) != cudaSuccess) {
      cudaGetLastError();
      return false;
    }
    const bool enqueued = enqueue();
    cudaGraph_t graph = nullptr;
    const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
    if (!enqueued || ended != cudaSuccess || !graph) {
      if (graph) cudaGraphDestroy(graph);
      cudaGetLastError();
      return false;
    }
    graph_ = graph;
    if (cudaGraphInstantiate(&exec_, graph_, 0) != cudaSuccess) {
      exec_ = nullptr;
      cudaGetLastError();
      return false;
    }
    return true;
  }
  void launch(cudaStream_t stream) const { TRT_RERANK_CUDA_CHECK(cudaGraphLaunch(exec_, stream)); }

 private:
  cudaGraph_t graph_ = nullptr;
  cudaGraphExec_t exec_ = nullptr;
};

struct SlotState {
  Owned<nv::IExecutionContext> context;
  DeviceBuffer ids, mask, typeIds, output;
  std::pair<int, int> shape{-1, -1};
  std::map<std::pair<int, int>, CudaGraph> graphs;
  std::map<std::pair<int, int>, bool> uncapturable;
};

class TensorRtBackend : public DeviceBackend {
 public:
  explicit TensorRtBackend(const TensorRtOptions& options) : options_(options) {
    const auto& lib = tensorrt::library();
    TRT_RERANK_CUDA_CHECK(cudaSetDevice(options.device));
    runtime_.reset(static_cast<nv::IRuntime*>(lib.createInferRuntime(&logger(), NV_TENSORRT_VERSION)));
    if (!runtime_) throw NativeError(kErrBackend, "TensorRT: createInferRuntime failed: " + logger().lastError("no reason given"));
    // Version-compatible plans carry TensorRT's lean runtime as host code. A plan is code in any case (kernels,
    // plugins): load only plans you built or trust.
    runtime_->setEngineHostCodeAllowed(true);
    MappedFile plan;
    try {
      plan = MappedFile(options.enginePath);
    } catch (const std::exception& e) {
      throw NativeError(kErrInvalidArgument, "cannot read the TensorRT engine " + options.enginePath + ": " + e.what());
    }
    engine_.reset(runtime_->deserializeCudaEngine(plan.data(), plan.size()));
    if (!engine_) {
      throw NativeError(kErrInvalidArgument,
                        "TensorRT " + lib.version + " could not load the engine " + options.enginePath + ": " +
                            logger().lastError("no reason given") +
                            ". A plan only loads with the TensorRT version that built it, on the same kind of GPU, unless it "
                            "was built version- or hardware-compatible: rebuild it here (trt-rerank build-engine)");
    }
    std::vector<TensorDesc> tensors;
    const bool haveProfile = engine_->getNbOptimizationProfiles() > 0;
    for (int32_t i = 0; i < engine_->getNbIOTensors(); ++i) {
      const char* name = engine_->getIOTensorName(i);
      TensorDesc d;
      d.name = name;
      d.isInput = engine_->getTensorIOMode(name) == nv::TensorIOMode::kINPUT;
      d.type = fromTrt(engine_->getTensorDataType(name));
      d.shape = fromDims(engine_->getTensorShape(name));
      if (d.isInput && haveProfile) {
        d.profileMin = fromDims(engine_->getProfileShape(name, 0, nv::OptProfileSelector::kMIN));
        d.profileOpt = fromDims(engine_->getProfileShape(name, 0, nv::OptProfileSelector::kOPT));
        d.profileMax = fromDims(engine_->getProfileShape(name, 0, nv::OptProfileSelector::kMAX));
      }
      if (engine_->getTensorLocation(name) != nv::TensorLocation::kDEVICE) {
        throw NativeError(kErrInvalidArgument, "the engine's tensor '" + d.name + "' lives in host memory; trt-rerank feeds device tensors only");
      }
      tensors.push_back(std::move(d));
    }
    plan_ = planEngineIo(tensors);
    intType_ = plan_.inputType == TensorType::Int64 ? kernels::EngineIntType::Int64 : kernels::EngineIntType::Int32;
    floatType_ = plan_.outputType == TensorType::Half       ? kernels::EngineFloatType::Half
                 : plan_.outputType == TensorType::BFloat16 ? kernels::EngineFloatType::BFloat16
                                                            : kernels::EngineFloatType::Float;
  }

  ~TensorRtBackend() override {
    cudaSetDevice(options_.device);
    slots_.clear();  // contexts before the engine, the engine before the runtime (member order does the rest)
  }

  const char* name() const override { return "tensorrt"; }
  InputLayout layout() const override { return InputLayout::Packed; }
  bool padsBatches() const override { return true; }
  int numLabels() const override { return plan_.numLabels; }
  int maxBatchSize() const override { return plan_.maxBatch; }
  int maxSequenceLength() const override { return plan_.maxSeq; }
  uint64_t memoryBytes() const override {
    uint64_t bytes = static_cast<uint64_t>(std::max<int64_t>(0, engine_->getDeviceMemorySizeV2())) * slots_.size();
    for (const auto& s : slots_) bytes += s->ids.bytes() + s->mask.bytes() + s->typeIds.bytes() + s->output.bytes();
    return bytes;
  }
  uint64_t activationBytesPerToken() const override {
    const uint64_t tokens = static_cast<uint64_t>(plan_.maxBatch) * plan_.maxSeq;
    return std::max<uint64_t>(1, static_cast<uint64_t>(std::max<int64_t>(0, engine_->getDeviceMemorySizeV2())) / tokens) +
           3 * elementBytes(plan_.inputType);
  }

  void prepareSlots(int slots, int maxBatchSize) override {
    rowsCap_ = std::max(maxBatchSize, plan_.minBatch);
    const size_t tokens = static_cast<size_t>(rowsCap_) * plan_.maxSeq;
    const size_t intBytes = elementBytes(plan_.inputType);
    for (int i = 0; i < slots; ++i) {
      auto s = std::make_unique<SlotState>();
      // Every context takes profile 0 and its own activation memory (the kSTATIC default).
      s->context.reset(engine_->createExecutionContext());
      if (!s->context) throw NativeError(kErrBackend, "TensorRT: createExecutionContext failed: " + logger().lastError("out of device memory?"));
      s->ids = DeviceBuffer(tokens * intBytes);
      s->mask = DeviceBuffer(tokens * intBytes);
      if (!plan_.typeIdsName.empty()) s->typeIds = DeviceBuffer(tokens * intBytes);
      s->output = DeviceBuffer(static_cast<size_t>(rowsCap_) * plan_.numLabels * elementBytes(plan_.outputType));
      // cudaMalloc returns 256-byte aligned addresses, as TensorRT asks; they never change, so set them once.
      bindAddress(*s, plan_.idsName, s->ids.get());
      bindAddress(*s, plan_.maskName, s->mask.get());
      if (!plan_.typeIdsName.empty()) bindAddress(*s, plan_.typeIdsName, s->typeIds.get());
      bindAddress(*s, plan_.outputName, s->output.get());
      slots_.push_back(std::move(s));
    }
    if (options_.warmUp && !slots_.empty()) warmUp();
  }

  void enqueue(const DeviceBatch& batch, float* logits, cudaStream_t stream, int slot) override {
    if (batch.count == 0) return;
    SlotState& s = *slots_.at(slot);
    const BatchShape shape = planBatchShape(plan_, batch.count, batch.maxLength);
    kernels::packEngineInputs(batch.ids, batch.typeIds, batch.cuSeqLens, batch.count, shape.rows, shape.seqLen, intType_,
                              s.ids.get(), s.mask.get(), plan_.typeIdsName.empty() ? nullptr : s.typeIds.get(), stream);
    run(s, shape, stream);
    kernels::engineLogitsToFloat(s.output.get(), floatType_, batch.count, plan_.numLabels, logits, stream);
  }

 private:
  void bindAddress(SlotState& s, const std::string& tensor, void* address) {
    if (!s.context->setTensorAddress(tensor.c_str(), address)) {
      throw NativeError(kErrBackend, "TensorRT: setTensorAddress('" + tensor + "') failed: " + logger().lastError("no reason given"));
    }
  }

  void setShape(SlotState& s, const BatchShape& shape) {
    const std::pair<int, int> key{shape.rows, shape.seqLen};
    if (s.shape == key) return;
    const nv::Dims2 dims(shape.rows, shape.seqLen);
    for (const std::string* tensor : {&plan_.idsName, &plan_.maskName, &plan_.typeIdsName}) {
      if (tensor->empty()) continue;
      if (!s.context->setInputShape(tensor->c_str(), dims)) {
        s.shape = {-1, -1};
        throw NativeError(kErrBackend, "TensorRT: setInputShape('" + *tensor + "', [" + std::to_string(shape.rows) + ", " +
                                           std::to_string(shape.seqLen) + "]) failed: " + logger().lastError("no reason given"));
      }
    }
    s.shape = key;
  }

  void enqueueDirect(SlotState& s, cudaStream_t stream) {
    if (!s.context->enqueueV3(stream)) throw NativeError(kErrBackend, "TensorRT: enqueueV3 failed: " + logger().lastError("no reason given"));
  }

  // The engine on the slot's inputs, as a CUDA graph where one was captured for this shape. TensorRT's recipe:
  // after a shape change, enqueue once without capture (it may do deferred work then), then capture.
  void run(SlotState& s, const BatchShape& shape, cudaStream_t stream) {
    const bool changed = s.shape != std::pair<int, int>{shape.rows, shape.seqLen};
    setShape(s, shape);
    const std::pair<int, int> key{shape.rows, shape.seqLen};
    if (!options_.cudaGraphs || s.uncapturable.count(key)) return enqueueDirect(s, stream);
    auto found = s.graphs.find(key);
    if (found != s.graphs.end() && !changed) return found->second.launch(stream);
    enqueueDirect(s, stream);  // this batch's result; the capture below only records
    if (found != s.graphs.end() || s.graphs.size() >= kMaxGraphsPerSlot) return;
    CudaGraph graph;
    if (graph.capture(stream, [&] { return s.context->enqueueV3(stream); })) {
      s.graphs.emplace(key, std::move(graph));
    } else {
      s.uncapturable[key] = true;
    }
  }

  // Every sequence bucket at the full batch once on slot 0, so no request pays TensorRT's first-run costs.
  void warmUp() {
    SlotState& s = *slots_.front();
    CudaStream stream;
    const size_t tokens = static_cast<size_t>(rowsCap_) * plan_.maxSeq;
    const size_t intBytes = elementBytes(plan_.inputType);
    TRT_RERANK_CUDA_CHECK(cudaMemsetAsync(s.ids.get(), 0, tokens * intBytes, stream.get()));
    TRT_RERANK_CUDA_CHECK(cudaMemsetAsync(s.mask.get(), 0, tokens * intBytes, stream.get()));
    if (!plan_.typeIdsName.empty()) TRT_RERANK_CUDA_CHECK(cudaMemsetAsync(s.typeIds.get(), 0, tokens * intBytes, stream.get()));
    for (int seqLen : sequenceBuckets(plan_)) {
      BatchShape shape;
      shape.rows = rowsCap_;
      shape.seqLen = seqLen;
      setShape(s, shape);
      enqueueDirect(s, stream.get());
    }
    TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(stream.get()));
  }

  TensorRtOptions options_;
  Owned<nv::IRuntime> runtime_;
  Owned<nv::ICudaEngine> engine_;
  EngineIoPlan plan_;
  kernels::EngineIntType intType_ = kernels::EngineIntType::Int32;
  kernels::EngineFloatType floatType_ = kernels::EngineFloatType::Float;
  int rowsCap_ = 0;
  std::vector<std::unique_ptr<SlotState>> slots_;
};

}  // namespace

std::unique_ptr<DeviceBackend> makeTensorRtBackend(const TensorRtOptions& options) {
  return std::make_unique<TensorRtBackend>(options);
}

}  // namespace trt_rerank
