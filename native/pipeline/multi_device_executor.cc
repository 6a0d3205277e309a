#include "pipeline/multi_device_executor.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/errors.h"

namespace trt_rerank {
namespace {

class MultiDeviceExecutor : public BatchExecutor {
 public:
  MultiDeviceExecutor(std::vector<std::unique_ptr<BatchExecutor>> parts, std::vector<int> devices)
      : parts_(std::move(parts)), devices_(std::move(devices)), stats_(parts_.size()) {
    if (parts_.size() < 2 || parts_.size() != devices_.size()) throw NativeError(kErrInvalidArgument, "a multi-device executor needs two or more parts, one per device");
    const ExecutorLimits& first = parts_[0]->limits();
    limits_ = first;
    for (const auto& part : parts_) {
      const ExecutorLimits& l = part->limits();
      if (l.slots != first.slots || l.arenaPairs != first.arenaPairs || l.maxLength != first.maxLength || l.padsBatches != first.padsBatches ||
          l.sharesPrefixes != first.sharesPrefixes || l.vocabSize != first.vocabSize || part->numLabels() != parts_[0]->numLabels()) {
        throw NativeError(kErrInvalidArgument, "the devices' model copies disagree on their limits (slots, arena, maxLength, layout): load them alike");
      }
      // Each part's inputs hold its own budget; a batch must fit every part's.
      limits_.maxBatchPairs = std::min(limits_.maxBatchPairs, l.maxBatchPairs);
      limits_.maxBatchTokens = std::min(limits_.maxBatchTokens, l.maxBatchTokens);
    }
    limits_.slots = first.slots * static_cast<int>(parts_.size());
    owner_.assign(static_cast<size_t>(limits_.arenaPairs), 0);
    launchedCount_.assign(static_cast<size_t>(limits_.slots), 0);
    launchedTokens_.assign(static_cast<size_t>(limits_.slots), 0);
    merged_.resize(static_cast<size_t>(limits_.arenaPairs));
    partScores_.resize(static_cast<size_t>(limits_.arenaPairs));
    for (size_t i = 0; i < parts_.size(); ++i) {
      const int d = devices_[i];
      const auto repeats = std::count(devices_.begin(), devices_.end(), d);
      const auto before = std::count(devices_.begin(), devices_.begin() + static_cast<std::ptrdiff_t>(i), d);
      names_.push_back("device" + std::to_string(d) + (repeats > 1 ? "." + std::to_string(before) : ""));
    }
  }

  std::string backendName() const override { return parts_[0]->backendName(); }
  int numLabels() const override { return parts_[0]->numLabels(); }
  const ExecutorLimits& limits() const override { return limits_; }
  uint64_t memoryBytes() const override {
    uint64_t bytes = 0;
    for (const auto& part : parts_) bytes += part->memoryBytes();
    return bytes;
  }
  std::vector<std::pair<std::string, double>> counters() const override {
    std::vector<std::pair<std::string, double>> out;
    for (size_t i = 0; i < parts_.size(); ++i) {
      const std::string& name = names_[i];
      out.emplace_back(name + ".batches", static_cast<double>(stats_[i].batches.load()));
      out.emplace_back(name + ".pairs", static_cast<double>(stats_[i].pairs.load()));
      out.emplace_back(name + ".tokens", static_cast<double>(stats_[i].tokens.load()));
      out.emplace_back(name + ".lost", lostWhy(i).empty() ? 0.0 : 1.0);
      for (const auto& [counter, value] : parts_[i]->counters()) out.emplace_back(name + "." + counter, value);
    }
    out.emplace_back("splitCalls", static_cast<double>(splitCalls_.load()));
    return out;
  }
  std::string broken() const override {
    std::string why;
    for (size_t i = 0; i < parts_.size(); ++i) {
      const std::string part = lostWhy(i);
      if (part.empty()) return "";
      why += (why.empty() ? "" : "; ") + names_[i] + ": " + part;
    }
    return "every device is lost: " + why;
  }

  bool slotUsable(int slot) const override { return lostWhy(static_cast<size_t>(partOf(slot))).empty(); }
  int slotDevice(int slot) const override { return partOf(slot); }
  BatchInput input(int slot) override { return parts_[partOf(slot)]->input(partSlot(slot)); }

  void launch(int slot, int32_t count, int32_t contexts, int64_t tokens, int32_t longest) override {
    const int part = partOf(slot);
    {
      // The scheduler writes the batch's dest list before launch; the arena indices are this part's until the
      // call retires (every pair of a call is scored exactly once).
      const int32_t* dest = parts_[part]->input(partSlot(slot)).dest;
      std::lock_guard<std::mutex> lock(mutex_);
      for (int32_t i = 0; i < count; ++i) owner_[static_cast<size_t>(dest[i])] = static_cast<uint8_t>(part);
    }
    launchedCount_[static_cast<size_t>(slot)] = count;
    launchedTokens_[static_cast<size_t>(slot)] = tokens;
    parts_[part]->launch(partSlot(slot), count, contexts, tokens, longest);
  }

  void wait(int slot) override {
    const int part = partOf(slot);
    parts_[part]->wait(partSlot(slot));
    stats_[part].batches += 1;
    stats_[part].pairs += static_cast<uint64_t>(launchedCount_[static_cast<size_t>(slot)]);
    stats_[part].tokens += static_cast<uint64_t>(launchedTokens_[static_cast<size_t>(slot)]);
  }

  void finishCall(int64_t offset, int32_t count, ScoreActivation activation, int32_t topK, std::vector<int32_t>& indices,
                  std::vector<float>& scores) override {
    indices.clear();
    scores.clear();
    if (count == 0) return;
    const std::vector<bool> used = partsUsed(offset, count);
    const auto parts = std::count(used.begin(), used.end(), true);
    if (parts == 1) {
      const auto only = static_cast<size_t>(std::find(used.begin(), used.end(), true) - used.begin());
      return parts_[only]->finishCall(offset, count, activation, topK, indices, scores);
    }
    // Split over devices: every score of the call onto one healthy part (the host buffers are sized at load).
    ++splitCalls_;
    mergeRawScores(offset, count, used, merged_.data());
    const size_t target = healthyPart();
    parts_[target]->writeRawScores(offset, count, merged_.data());
    parts_[target]->finishCall(offset, count, activation, topK, indices, scores);
  }

  // Each index from the part that scored it.
  void readRawScores(int64_t offset, int32_t count, float* out) override { mergeRawScores(offset, count, partsUsed(offset, count), out); }
  // Onto the first healthy part, which then owns the range.
  void writeRawScores(int64_t offset, int32_t count, const float* in) override {
    const size_t target = healthyPart();
    parts_[target]->writeRawScores(offset, count, in);
    std::lock_guard<std::mutex> lock(mutex_);
    std::fill_n(owner_.begin() + offset, count, static_cast<uint8_t>(target));
  }

  void stop() override {
    for (const auto& part : parts_) part->stop();
  }

 private:
  struct PartStats {
    std::atomic<uint64_t> batches{0}, pairs{0}, tokens{0};
  };
  // Why part p's device is lost ("" when it is not): copies on one device share its CUDA context, so one copy's
  // lost context is every copy's there.
  std::string lostWhy(size_t p) const {
    for (size_t q = 0; q < parts_.size(); ++q) {
      if (devices_[q] != devices_[p]) continue;
      if (std::string why = parts_[q]->broken(); !why.empty()) return why;
    }
    return "";
  }
  // Which parts scored some index of arena [offset, offset + count).
  std::vector<bool> partsUsed(int64_t offset, int32_t count) {
    std::vector<bool> used(parts_.size(), false);
    std::lock_guard<std::mutex> lock(mutex_);
    for (int64_t i = offset; i < offset + count; ++i) used[owner_[static_cast<size_t>(i)]] = true;
    return used;
  }
  // The raw scores of the range, each index read from the part that scored it (the used parts only).
  void mergeRawScores(int64_t offset, int32_t count, const std::vector<bool>& used, float* out) {
    for (size_t p = 0; p < parts_.size(); ++p) {
      if (!used[p]) continue;
      parts_[p]->readRawScores(offset, count, partScores_.data());
      std::lock_guard<std::mutex> lock(mutex_);
      for (int32_t i = 0; i < count; ++i) {
        if (owner_[static_cast<size_t>(offset + i)] == p) out[i] = partScores_[static_cast<size_t>(i)];
      }
    }
  }
  size_t healthyPart() const {
    for (size_t p = 0; p < parts_.size(); ++p) {
      if (lostWhy(p).empty()) return p;
    }
    throw NativeError(kErrBackend, broken());
  }
  int partOf(int slot) const { return slot % static_cast<int>(parts_.size()); }
  int partSlot(int slot) const { return slot / static_cast<int>(parts_.size()); }

  std::vector<std::unique_ptr<BatchExecutor>> parts_;
  std::vector<int> devices_;
  std::vector<std::string> names_;
  ExecutorLimits limits_;
  std::vector<PartStats> stats_;
  std::vector<int32_t> launchedCount_;  // per slot: the batch in flight (written by launch, read by wait)
  std::vector<int64_t> launchedTokens_;
  std::mutex mutex_;            // owner_: launch (batch thread) and finishCall (completion thread)
  std::vector<uint8_t> owner_;  // per arena index: the part that scored it
  std::vector<float> merged_;   // finishCall's buffers (completion thread only), arenaPairs each
  std::vector<float> partScores_;
  std::atomic<uint64_t> splitCalls_{0};
};

}  // namespace

std::unique_ptr<BatchExecutor> makeMultiDeviceExecutor(std::vector<std::unique_ptr<BatchExecutor>> parts, std::vector<int> devices) {
  if (parts.size() > 255) throw NativeError(kErrInvalidArgument, "at most 255 devices behind one Reranker");
  return std::make_unique<MultiDeviceExecutor>(std::move(parts), std::move(devices));
}

}  // namespace trt_rerank
