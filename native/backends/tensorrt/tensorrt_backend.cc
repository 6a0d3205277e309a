// Per batch, on the slot's stream (each slot's buffers and tensor addresses are fixed at load):
//   packEngineInputs     packed pairs -> [rows, seqLen] input_ids / attention_mask / token_type_ids
//   the engine           a CUDA graph replay, or enqueueV3
//   engineLogitsToFloat  the engine's logits -> the pipeline's fp32 logits (activation and scatter follow)
//
// seqLen is the batch's longest pair rounded up to a sequence bucket (engine_io.h: 16, 32, then multiples of 64
// up to the profile's maxSeq). With CUDA graphs on, rows are rounded up too (graphRows: 1, 2, 4 .. 64, then
// multiples of 64, within the profile; the extra rows are dummies), and each (rows, seqLen) shape is a bucket of
// the slot's GraphCache (common/graph_cache.h): its own execution context, fixed to that shape, and one graph
// captured after a first plain enqueue (TensorRT does deferred work on the first enqueue after a shape change,
// which must stay out of the graph). Replaying a graph is then always at the shape it was captured for. A slot's
// contexts run one at a time on its stream, so they share one block of activation memory (kUSER_MANAGED). A
// failed capture: that shape's context, enqueueV3 directly. Shapes past the cap, or graphs off: a per-slot context
// whose shape is set per batch, enqueueV3 directly.
//
// warmup() (at load, per slot) makes, runs and captures the shapes a batch is most likely to hit, through
// GraphCache::prepare, on dummy rows. The shapes a batch can hit are the row buckets of 1 .. the slots' pairs x
// the sequence buckets, less those the slots' tokens rule out (count x longest <= maxBatchTokens: a 512 x 512
// engine with 65 536 tokens has 14 x 10 row and sequence buckets, 120 of them reachable), often more than a slot
// holds (kMaxGraphsPerSlot = 64). So warmup takes whole row buckets, fewest rows first, every sequence bucket of
// each, while they fit in the capacity less kShapesLeftForRunTime (that 512 x 512 engine: rows 1, 2, 4, 8, 40
// shapes): a call of few pairs is where a first run's cost (a new context, TensorRT's per-shape work, the capture)
// is the largest multiple of the batch's own time, and a call of any length then never meets one. The shapes it
// leaves (larger batches, GPU-bound) are still captured after their first batch (the AfterFirstBatch policy),
// into the room left. Once per backend it also runs every sequence bucket at the most rows the slots' tokens
// allow on a slot's per-batch context, so TensorRT's first-run costs of those shapes are paid at load too.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <utility>
#include <vector>

#include "backends/tensorrt/engine_io.h"
#include "backends/tensorrt/tensorrt_backend.h"
#include "backends/tensorrt/tensorrt_runtime.h"
#include "common/cuda_check.h"
#include "common/cuda_resources.h"
#include "common/errors.h"
#include "common/graph_cache.h"
#include "common/mapped_file.h"
#include "kernels/engine_io.cuh"

namespace trt_rerank {
namespace {

namespace nv = nvinfer1;
using tensorrt::logger;
using tensorrt::Owned;

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

// Graph buckets by (rows, seqLen), each with its execution context fixed to that shape.
using ShapeContexts = GraphCache<std::pair<int, int>, Owned<nv::IExecutionContext>>;

// Graph buckets warmup() leaves free for shapes first seen at run time (a bucket with a context is never forgotten).
constexpr size_t kShapesLeftForRunTime = 16;

struct SlotState {
  DeviceBuffer activations;              // shared by the slot's contexts (one runs at a time)
  Owned<nv::IExecutionContext> dynamic;  // any shape, set per batch
  DeviceBuffer ids, mask, typeIds, output;
  std::pair<int, int> dynamicShape{-1, -1};
  ShapeContexts::Slot shapes;  // last: its contexts go first
};

// Rows a graph shape uses for `count` pairs: 1, 2, 4 .. 64, then multiples of 64, within [minBatch, cap].
int graphRows(int count, int minBatch, int cap) {
  int rows = 1;
  while (rows < count && rows < 64) rows *= 2;
  if (rows < count) rows = (count + 63) / 64 * 64;
  return std::clamp(std::max(rows, minBatch), 1, std::max(cap, minBatch));
}

// The graph shapes warmup() makes, in order: for each row bucket of 1 .. maxPairs pairs, fewest rows first, every
// sequence bucket a batch of those rows can reach (fewest pairs x shortest longest pair <= maxTokens; maxTokens
// <= 0: no bound), while the whole row bucket fits in `budget` shapes; if not even the first fits, as many of its
// sequence buckets as do.
std::vector<std::pair<int, int>> warmupShapes(const EngineIoPlan& plan, int maxPairs, int64_t maxTokens, size_t budget) {
  std::vector<std::pair<int, int>> shapes;
  const std::vector<int> seqs = sequenceBuckets(plan);
  const int cap = std::max(maxPairs, plan.minBatch);
  int fewest = 1;  // the fewest pairs that map to the current row bucket
  for (int count = 1; count <= cap && shapes.size() < budget;) {
    const int rows = graphRows(count, plan.minBatch, cap);
    std::vector<std::pair<int, int>> group;
    for (size_t j = 0; j < seqs.size(); ++j) {
      const int shortest = j == 0 ? 1 : seqs[j - 1] + 1;
      if (maxTokens <= 0 || static_cast<int64_t>(fewest) * shortest <= maxTokens) group.emplace_back(rows, seqs[j]);
    }
    if (shapes.size() + group.size() > budget) {
      if (shapes.empty()) shapes.assign(group.begin(), group.begin() + static_cast<std::ptrdiff_t>(budget));
      break;
    }
    shapes.insert(shapes.end(), group.begin(), group.end());
    // The next row bucket starts past this one's rows (rows >= count: graphRows rounds up).
    count = rows + 1;
    fewest = count;
  }
  return shapes;
}

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
    uint64_t bytes = 0;
    for (const auto& s : slots_) bytes += s->activations.bytes() + s->ids.bytes() + s->mask.bytes() + s->typeIds.bytes() + s->output.bytes();
    return bytes;
  }
  uint64_t activationBytesPerToken() const override {
    const uint64_t tokens = static_cast<uint64_t>(plan_.maxBatch) * plan_.maxSeq;
    return std::max<uint64_t>(1, static_cast<uint64_t>(std::max<int64_t>(0, engine_->getDeviceMemorySizeV2())) / tokens) +
           3 * elementBytes(plan_.inputType);
  }

  std::vector<std::pair<std::string, double>> counters() const override {
    std::vector<std::pair<std::string, double>> out{{"enqueues", static_cast<double>(enqueues_.load())}};
    for (auto& c : graphs_.counters()) out.push_back(std::move(c));
    return out;
  }

  void prepareSlots(int slots, int maxBatchSize, int64_t maxTokens) override {
    rowsCap_ = std::max(maxBatchSize, plan_.minBatch);
    maxTokens_ = maxTokens;
    const size_t tokens = static_cast<size_t>(rowsCap_) * plan_.maxSeq;
    const size_t intBytes = elementBytes(plan_.inputType);
    activationBytes_ = static_cast<size_t>(std::max<int64_t>(0, engine_->getDeviceMemorySizeV2()));
    for (int i = 0; i < slots; ++i) {
      auto s = std::make_unique<SlotState>();
      s->activations = DeviceBuffer(activationBytes_);
      s->ids = DeviceBuffer(tokens * intBytes);
      s->mask = DeviceBuffer(tokens * intBytes);
      if (!plan_.typeIdsName.empty()) s->typeIds = DeviceBuffer(tokens * intBytes);
      s->output = DeviceBuffer(static_cast<size_t>(rowsCap_) * plan_.numLabels * elementBytes(plan_.outputType));
      s->dynamic = newContext(*s);
      slots_.push_back(std::move(s));
    }
    if (options_.cudaGraphs) warmShapes_ = warmupShapes(plan_, maxBatchSize, maxTokens, kMaxGraphsPerSlot - kShapesLeftForRunTime);
  }

  // The slot's warm-up shapes (warmupShapes), each made, run once and captured on dummy rows; the first call of
  // any slot also runs every sequence bucket on that slot's per-batch context. Blocks until done.
  void warmup(int slot, cudaStream_t stream) override {
    const auto start = std::chrono::steady_clock::now();
    SlotState& s = *slots_.at(slot);
    std::call_once(dynamicWarmed_, [&] {
      for (int seqLen : sequenceBuckets(plan_)) {
        BatchShape shape;
        shape.seqLen = seqLen;
        shape.rows = maxTokens_ > 0 ? static_cast<int>(std::clamp<int64_t>(maxTokens_ / seqLen, plan_.minBatch, rowsCap_)) : rowsCap_;
        packDummies(s, shape, stream);
        runDynamic(s, shape, stream);
      }
      TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(stream));
    });
    using Context = Owned<nv::IExecutionContext>;
    for (const auto& [rows, seqLen] : warmShapes_) {
      BatchShape shape;
      shape.rows = rows;
      shape.seqLen = seqLen;
      packDummies(s, shape, stream);
      graphs_.prepare(
          s.shapes, {rows, seqLen}, stream,
          [&] {
            Context context = newContext(s);
            setShape(*context, shape);
            return context;
          },
          [&](Context& context) { enqueueDirect(*context, stream); }, [&](Context& context) { return context->enqueueV3(stream); });
      TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(stream));
    }
    graphs_.addWarmupTime(std::chrono::steady_clock::now() - start);
  }

  void enqueue(const DeviceBatch& batch, float* logits, cudaStream_t stream, int slot) override {
    if (batch.count == 0) return;
    SlotState& s = *slots_.at(slot);
    BatchShape shape = planBatchShape(plan_, batch.count, batch.maxLength);
    if (options_.cudaGraphs) shape.rows = graphRows(batch.count, plan_.minBatch, rowsCap_);
    kernels::packEngineInputs(batch.ids, batch.typeIds, batch.cuSeqLens, batch.count, shape.rows, shape.seqLen, intType_,
                              s.ids.get(), s.mask.get(), plan_.typeIdsName.empty() ? nullptr : s.typeIds.get(), stream);
    run(s, shape, stream);
    kernels::engineLogitsToFloat(s.output.get(), floatType_, batch.count, plan_.numLabels, logits, stream);
  }

 private:
  // A context on the slot's shared activation memory, with the slot's tensor addresses (256-byte aligned, as
  // cudaMalloc returns them, and fixed for the life of the slot).
  Owned<nv::IExecutionContext> newContext(SlotState& s) {
    Owned<nv::IExecutionContext> context(engine_->createExecutionContext(nv::ExecutionContextAllocationStrategy::kUSER_MANAGED));
    if (!context) throw NativeError(kErrBackend, "TensorRT: createExecutionContext failed: " + logger().lastError("no reason given"));
    context->setDeviceMemoryV2(s.activations.get(), static_cast<int64_t>(activationBytes_));
    bindAddress(*context, plan_.idsName, s.ids.get());
    bindAddress(*context, plan_.maskName, s.mask.get());
    if (!plan_.typeIdsName.empty()) bindAddress(*context, plan_.typeIdsName, s.typeIds.get());
    bindAddress(*context, plan_.outputName, s.output.get());
    return context;
  }

  void bindAddress(nv::IExecutionContext& context, const std::string& tensor, void* address) {
    if (!context.setTensorAddress(tensor.c_str(), address)) {
      throw NativeError(kErrBackend, "TensorRT: setTensorAddress('" + tensor + "') failed: " + logger().lastError("no reason given"));
    }
  }

  void setShape(nv::IExecutionContext& context, const BatchShape& shape) {
    const nv::Dims2 dims(shape.rows, shape.seqLen);
    for (const std::string* tensor : {&plan_.idsName, &plan_.maskName, &plan_.typeIdsName}) {
      if (tensor->empty()) continue;
      if (!context.setInputShape(tensor->c_str(), dims)) {
        throw NativeError(kErrBackend, "TensorRT: setInputShape('" + *tensor + "', [" + std::to_string(shape.rows) + ", " +
                                           std::to_string(shape.seqLen) + "]) failed: " + logger().lastError("no reason given"));
      }
    }
  }

  void enqueueDirect(nv::IExecutionContext& context, cudaStream_t stream) {
    ++enqueues_;
    if (!context.enqueueV3(stream)) throw NativeError(kErrBackend, "TensorRT: enqueueV3 failed: " + logger().lastError("no reason given"));
  }

  void runDynamic(SlotState& s, const BatchShape& shape, cudaStream_t stream) {
    const std::pair<int, int> key{shape.rows, shape.seqLen};
    if (s.dynamicShape != key) {
      s.dynamicShape = {-1, -1};
      setShape(*s.dynamic, shape);
      s.dynamicShape = key;
    }
    enqueueDirect(*s.dynamic, stream);
  }

  void run(SlotState& s, const BatchShape& shape, cudaStream_t stream) {
    if (!options_.cudaGraphs) return runDynamic(s, shape, stream);
    using Context = Owned<nv::IExecutionContext>;
    graphs_.run(
        s.shapes, {shape.rows, shape.seqLen}, stream,
        [&] {
          Context context = newContext(s);
          setShape(*context, shape);
          return context;
        },
        [&](Context& context) { enqueueDirect(*context, stream); },
        // The enqueue after the first (which did TensorRT's deferred work), recorded: it does not run now.
        [&](Context& context) { return context->enqueueV3(stream); }, [&] { runDynamic(s, shape, stream); });
  }

  // `shape.rows` dummy rows in the slot's inputs (no real pair: id 0 and mask 1 at the first position, zeros after).
  void packDummies(SlotState& s, const BatchShape& shape, cudaStream_t stream) {
    kernels::packEngineInputs(nullptr, nullptr, nullptr, 0, shape.rows, shape.seqLen, intType_, s.ids.get(), s.mask.get(),
                              plan_.typeIdsName.empty() ? nullptr : s.typeIds.get(), stream);
  }

  TensorRtOptions options_;
  Owned<nv::IRuntime> runtime_;
  Owned<nv::ICudaEngine> engine_;
  EngineIoPlan plan_;
  kernels::EngineIntType intType_ = kernels::EngineIntType::Int32;
  kernels::EngineFloatType floatType_ = kernels::EngineFloatType::Float;
  int rowsCap_ = 0;
  int64_t maxTokens_ = 0;
  size_t activationBytes_ = 0;
  std::vector<std::pair<int, int>> warmShapes_;  // (rows, seqLen) warmup() captures in each slot
  std::once_flag dynamicWarmed_;
  std::vector<std::unique_ptr<SlotState>> slots_;
  // Over all slots (each slot runs on one thread at a time, slots in parallel).
  std::atomic<uint64_t> enqueues_{0};
  ShapeContexts graphs_{GraphCapture::AfterFirstBatch};  // the slots' buckets are in SlotState::shapes
};

}  // namespace

std::unique_ptr<DeviceBackend> makeTensorRtBackend(const TensorRtOptions& options) {
  return std::make_unique<TensorRtBackend>(options);
}

}  // namespace trt_rerank
