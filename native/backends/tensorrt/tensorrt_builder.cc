// trt-rerank build-engine: ONNX -> serialized TensorRT engine, through IBuilder and the ONNX parser (both
// loaded at run time like the runtime). One optimization profile covers every input:
//   min [1, 1]   opt [maxBatch, optSeq]   max [maxBatch, maxSeq]
// Precision: TensorRT 10 takes builder flags (kFP16 / kBF16: layers may run in that type, LayerNorm and
// softmax stay fp32 where the ONNX keeps them as fp32 ops, opset >= 17). TensorRT 11 builds strongly typed
// networks only: the types are the ONNX model's own, so an fp16 engine needs an fp16 ONNX (ModelOpt AutoCast,
// docs/tensorrt.md); asking for --fp16 there is an error that says so.
#include <NvOnnxParser.h>

#include <fstream>

#include "backends/tensorrt/tensorrt_backend.h"
#include "backends/tensorrt/tensorrt_runtime.h"
#include "common/errors.h"

namespace trt_rerank {

namespace nv = nvinfer1;
using tensorrt::logger;
using tensorrt::Owned;

size_t buildTensorRtEngine(const EngineBuildOptions& options, const std::function<void(const std::string&)>& log) {
  if (options.maxBatch < 1 || options.maxSeq < 2 || options.optSeq < 1 || options.optSeq > options.maxSeq) {
    throw NativeError(kErrInvalidArgument, "build-engine: need maxBatch >= 1, maxSeq >= 2 and 1 <= optSeq <= maxSeq");
  }
  if (options.precision != "fp32" && options.precision != "fp16" && options.precision != "bf16") {
    throw NativeError(kErrInvalidArgument, "build-engine: precision must be fp32, fp16 or bf16");
  }
#if NV_TENSORRT_MAJOR >= 11
  if (options.precision != "fp32") {
    throw NativeError(kErrInvalidArgument,
                      "TensorRT 11 builds strongly typed networks only: it has no " + options.precision +
                          " flag. Convert the ONNX model to " + options.precision +
                          " first (NVIDIA ModelOpt AutoCast, see docs/tensorrt.md), then build without --" + options.precision);
  }
#endif
  const auto& lib = tensorrt::library();
  const auto& parserLib = tensorrt::onnxParserLibrary();
  if (!lib.createInferBuilder) throw NativeError(kErrBackend, lib.nvinfer.name() + " lacks createInferBuilder_INTERNAL");

  struct SinkScope {
    explicit SinkScope(const std::function<void(const std::string&)>& log) {
      logger().setInfoSink([](void* user, const char* m) { (*static_cast<const std::function<void(const std::string&)>*>(user))(m); },
                           const_cast<std::function<void(const std::string&)>*>(&log));
    }
    ~SinkScope() { logger().setInfoSink(nullptr, nullptr); }
  } sink(log);

  Owned<nv::IBuilder> builder(static_cast<nv::IBuilder*>(lib.createInferBuilder(&logger(), NV_TENSORRT_VERSION)));
  if (!builder) throw NativeError(kErrBackend, "TensorRT: createInferBuilder failed: " + logger().lastError("no reason given"));
  // Explicit batch is the only mode since TensorRT 10; TensorRT 11 networks are always strongly typed.
  const nv::NetworkDefinitionCreationFlags flags = 0;
  Owned<nv::INetworkDefinition> network(builder->createNetworkV2(flags));
  if (!network) throw NativeError(kErrBackend, "TensorRT: createNetworkV2 failed: " + logger().lastError("no reason given"));
  Owned<nvonnxparser::IParser> parser(
      static_cast<nvonnxparser::IParser*>(parserLib.createParser(network.get(), &logger(), NV_ONNX_PARSER_VERSION)));
  if (!parser) throw NativeError(kErrBackend, "TensorRT: createNvOnnxParser failed: " + logger().lastError("no reason given"));
  log("parsing " + options.onnxPath);
  if (!parser->parseFromFile(options.onnxPath.c_str(), static_cast<int>(nv::ILogger::Severity::kWARNING))) {
    std::string message = "TensorRT could not parse " + options.onnxPath + ":";
    for (int i = 0; i < parser->getNbErrors(); ++i) message += std::string(" ") + parser->getError(i)->desc() + ";";
    throw NativeError(kErrInvalidArgument, message);
  }

  Owned<nv::IBuilderConfig> config(builder->createBuilderConfig());
  if (!config) throw NativeError(kErrBackend, "TensorRT: createBuilderConfig failed: " + logger().lastError("no reason given"));
  if (options.workspaceBytes > 0) config->setMemoryPoolLimit(nv::MemoryPoolType::kWORKSPACE, options.workspaceBytes);
#if NV_TENSORRT_MAJOR < 11
    // Weak typing (precision flags) is deprecated in late TensorRT 10 releases and gone in 11; on 10 it is
    // still the documented way to get a mixed-precision engine from an fp32 ONNX.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  if (options.precision == "fp16") config->setFlag(nv::BuilderFlag::kFP16);
  if (options.precision == "bf16") config->setFlag(nv::BuilderFlag::kBF16);
#pragma GCC diagnostic pop
#endif
  if (options.versionCompatible) config->setFlag(nv::BuilderFlag::kVERSION_COMPATIBLE);
  if (options.hardwareCompatibility == "ampere+") {
    config->setHardwareCompatibilityLevel(nv::HardwareCompatibilityLevel::kAMPERE_PLUS);
  } else if (options.hardwareCompatibility == "same-cc") {
    config->setHardwareCompatibilityLevel(nv::HardwareCompatibilityLevel::kSAME_COMPUTE_CAPABILITY);
  } else if (options.hardwareCompatibility != "none") {
    throw NativeError(kErrInvalidArgument, "build-engine: hardware compatibility must be none, ampere+ or same-cc");
  }
  nv::IOptimizationProfile* profile = builder->createOptimizationProfile();  // owned by the builder
  for (int32_t i = 0; i < network->getNbInputs(); ++i) {
    nv::ITensor* input = network->getInput(i);
    const nv::Dims dims = input->getDimensions();
    if (dims.nbDims != 2) {
      throw NativeError(kErrInvalidArgument, std::string("input '") + input->getName() + "' has " + std::to_string(dims.nbDims) +
                                                 " dimensions; a cross-encoder's inputs are [batch, sequence]");
    }
    const char* name = input->getName();
    profile->setDimensions(name, nv::OptProfileSelector::kMIN, nv::Dims2(1, 1));
    profile->setDimensions(name, nv::OptProfileSelector::kOPT, nv::Dims2(options.maxBatch, options.optSeq));
    profile->setDimensions(name, nv::OptProfileSelector::kMAX, nv::Dims2(options.maxBatch, options.maxSeq));
  }
  if (config->addOptimizationProfile(profile) < 0) {
    throw NativeError(kErrInvalidArgument, "TensorRT rejected the optimization profile: " + logger().lastError("no reason given"));
  }
  log("building (" + options.precision + ", batch 1.." + std::to_string(options.maxBatch) + ", sequence 1.." +
      std::to_string(options.maxSeq) + ", optimised for " + std::to_string(options.optSeq) + "): this takes minutes");
  Owned<nv::IHostMemory> serialized(builder->buildSerializedNetwork(*network, *config));
  if (!serialized || serialized->size() == 0) {
    throw NativeError(kErrBackend, "TensorRT could not build the engine: " + logger().lastError("no reason given"));
  }
  std::ofstream out(options.outPath, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(serialized->data()), static_cast<std::streamsize>(serialized->size()));
  out.close();
  if (!out) throw NativeError(kErrInvalidArgument, "cannot write " + options.outPath);
  return serialized->size();
}

}  // namespace trt_rerank
