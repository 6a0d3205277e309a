#include "pipeline/scheduler.h"

#include <algorithm>
#include <cstring>
#include <exception>

#include "common/errors.h"

namespace trt_rerank {
namespace {

double msBetween(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// An executor's failure as a code and message.
std::pair<const char*, std::string> describeFailure(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const NativeError& e) {
    return {e.code(), e.what()};
  } catch (const std::exception& e) {
    return {kErrBackend, e.what()};
  } catch (...) {
    return {kErrBackend, "unknown native error"};
  }
}

}  // namespace

Scheduler::Scheduler(std::unique_ptr<BatchExecutor> executor, int64_t maxQueuedPairs, SchedulerEvents events)
    : executor_(std::move(executor)),
      limits_(executor_->limits()),
      maxQueuedPairs_(maxQueuedPairs),
      events_(std::move(events)),
      arena_(executor_->limits().arenaPairs),
      slotBusy_(limits_.slots, false),
      inFlight_(limits_.slots) {
  stats_.maxBatchTokens = limits_.maxBatchTokens;
  stats_.maxBatchPairs = limits_.maxBatchPairs;
  stats_.maxQueuedPairs = maxQueuedPairs_;
  batchThread_ = std::thread([this] { batchLoop(); });
  completionThread_ = std::thread([this] { completionLoop(); });
}

Scheduler::~Scheduler() { close(); }

uint64_t Scheduler::admit(int32_t count, ScoreActivation activation) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closing_) throw NativeError(kErrClosed, "the session is closed");
  if (const std::string why = executor_->broken(); !why.empty()) {
    throw NativeError(kErrBackend, "the CUDA context is lost (" + why + "): close this Reranker and load a new one");
  }
  const auto refuse = [&](const std::string& why) {
    ++stats_.rejectedCalls;
    throw NativeError(kErrOverloaded, why);
  };
  if (count > maxQueuedPairs_) {
    refuse("a call of " + std::to_string(count) + " documents is more than maxQueuedPairs (" + std::to_string(maxQueuedPairs_) +
           ") allows: split it, or load with a larger maxQueuedPairs");
  }
  if (admittedPairs_ + count > maxQueuedPairs_) {
    refuse("the queue holds " + std::to_string(admittedPairs_) + " pairs of unfinished calls and takes " + std::to_string(maxQueuedPairs_) +
           " (maxQueuedPairs): retry later");
  }
  const int64_t offset = arena_.allocate(std::max<int64_t>(count, 1));
  if (offset < 0) refuse("the score arena has no free range of " + std::to_string(count) + " pairs: retry later");
  auto call = std::make_shared<Call>();
  call->id = nextCall_++;
  call->count = count;
  call->activation = activation;
  call->arenaOffset = offset;
  call->seen.assign(count, false);
  call->admitted = Clock::now();
  admittedPairs_ += count;
  calls_.emplace(call->id, call);
  return call->id;
}

Scheduler::Enqueued Scheduler::enqueue(uint64_t id, const TokenBatch& batch, const int32_t* docIndices, int32_t firstIndex) {
  // Checked before the lock: what the batch thread copies into a device batch must be in range there.
  const int64_t tokens = batch.offsets[batch.count];
  for (int32_t i = 0; i < batch.count; ++i) {
    const int32_t length = batch.offsets[i + 1] - batch.offsets[i];
    if (length > limits_.maxLength) {
      throw NativeError(kErrInvalidArgument, "a pair of " + std::to_string(length) + " tokens is longer than the engine's maxLength " +
                                                 std::to_string(limits_.maxLength));
    }
  }
  if (limits_.vocabSize > 0) {
    for (int64_t t = 0; t < tokens; ++t) {
      if (batch.ids[t] < 0 || batch.ids[t] >= limits_.vocabSize) {
        throw NativeError(kErrInvalidArgument, "token id " + std::to_string(batch.ids[t]) + " is outside the model's vocabulary of " +
                                                   std::to_string(limits_.vocabSize));
      }
    }
  }
  Chunk chunk;
  chunk.ids.assign(batch.ids, batch.ids + tokens);
  chunk.typeIds.assign(batch.typeIds, batch.typeIds + tokens);
  chunk.offsets.assign(batch.offsets, batch.offsets + batch.count + 1);
  chunk.docs.resize(batch.count);
  for (int32_t i = 0; i < batch.count; ++i) chunk.docs[i] = docIndices ? docIndices[i] : firstIndex + i;

  std::lock_guard<std::mutex> lock(mutex_);
  auto found = calls_.find(id);
  if (found == calls_.end()) return Enqueued::Retired;
  Call& call = *found->second;
  if (call.errorCode) return Enqueued::Retired;  // failed: it retires once its batches in flight are done
  if (call.topK >= 0) throw NativeError(kErrInvalidArgument, "enqueue after finish()");
  if (call.submitted + batch.count > call.count) throw NativeError(kErrInvalidArgument, "more pairs than the call's count");
  for (int32_t i = 0; i < batch.count; ++i) {
    const int32_t d = chunk.docs[i];
    if (d >= 0 && d < call.count && !call.seen[d]) {
      call.seen[d] = true;
      continue;
    }
    for (int32_t j = 0; j < i; ++j) call.seen[chunk.docs[j]] = false;  // nothing of the chunk is queued
    if (d < 0 || d >= call.count) throw NativeError(kErrInvalidArgument, "a document index past the call's count");
    throw NativeError(kErrInvalidArgument, "document " + std::to_string(d) + " was submitted twice in this call");
  }
  if (batch.count == 0) return Enqueued::Room;
  call.submitted += batch.count;
  call.waiting += batch.count;
  call.waitingTokens += tokens;
  call.tokens += tokens;
  waitingPairs_ += batch.count;
  waitingTokens_ += tokens;
  call.chunks.push_back(std::move(chunk));
  const bool room = call.waiting < perCallQueueLimit();
  call.wantsDrain = !room;
  batchWake_.notify_one();
  return room ? Enqueued::Room : Enqueued::Full;
}

bool Scheduler::finish(uint64_t id, int32_t topK) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = calls_.find(id);
  if (found == calls_.end()) return false;
  Call& call = *found->second;
  if (call.errorCode) return false;
  if (call.topK >= 0) throw NativeError(kErrInvalidArgument, "finish() was called twice");
  if (call.submitted != call.count) {
    throw NativeError(kErrInvalidArgument, "finish() called after " + std::to_string(call.submitted) + " of " + std::to_string(call.count) +
                                               " documents were submitted");
  }
  call.topK = topK;
  if (call.scored == call.count) {
    call.finishing = true;
    toFinish_.push_back(found->second);
    completionWake_.notify_one();
  }
  return true;
}

void Scheduler::cancel(uint64_t id, const char* code, const std::string& message) {
  std::vector<CallOutcome> outcomes;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = calls_.find(id);
    if (found == calls_.end()) return;
    if (failLocked(*found->second, code, message)) outcomes.push_back(retireLocked(*found->second));
  }
  emit(outcomes, {});
}

bool Scheduler::failLocked(Call& call, const char* code, const std::string& message) {
  if (!call.errorCode) {
    call.errorCode = code;
    call.errorMessage = message;
    waitingPairs_ -= call.waiting;
    waitingTokens_ -= call.waitingTokens;
    call.waiting = 0;
    call.waitingTokens = 0;
    call.chunks.clear();
  }
  return call.inFlight == 0 && !call.finishing;
}

CallOutcome Scheduler::retireLocked(Call& call) {
  CallOutcome out;
  out.call = call.id;
  out.code = call.errorCode;
  out.message = call.errorMessage;
  const Clock::time_point now = Clock::now();
  out.timings.pairs = call.count;
  out.timings.tokens = call.tokens;
  out.timings.batches = call.batches;
  out.timings.queueMs = call.hasStarted ? msBetween(call.admitted, call.started) : msBetween(call.admitted, now);
  out.timings.runMs = msBetween(call.admitted, now);
  if (call.errorCode) {
    ++stats_.failedCalls;
  } else {
    ++stats_.calls;
    stats_.queueSeconds.observe(out.timings.queueMs / 1000);
    stats_.runSeconds.observe(out.timings.runMs / 1000);
    stats_.queueMs.observe(out.timings.queueMs);
    stats_.runMs.observe(out.timings.runMs);
  }
  arena_.release(call.arenaOffset, std::max<int64_t>(call.count, 1));
  admittedPairs_ -= call.count;
  calls_.erase(call.id);  // `call` stays alive: the caller holds a shared_ptr, or the map's was the last and
                          // out has everything it needs
  return out;
}

void Scheduler::emit(std::vector<CallOutcome>& outcomes, const std::vector<uint64_t>& drained) {
  for (uint64_t id : drained) events_.drained(id);
  for (CallOutcome& o : outcomes) events_.retired(std::move(o));
  outcomes.clear();
}

// The next batch, round-robin over the calls with queued pairs (oldest first, one pair per call per turn), up to
// the token budget and the pair cap. With limits.sharesPrefixes (a causal model), the pairs of one call that begin
// alike share a context: the longest prefix they all have with the call's first pair in the batch (at least
// kMinSharedPrefix tokens, at most each pair's length - 1) is one more sequence of the batch, computed once, and
// each of them runs only its tokens past it. The budget counts the rows computed: a group of n pairs of lengths
// l_i sharing P tokens costs P + sum (l_i - P).
bool Scheduler::fillBatch(int slot, InFlight& batch, int32_t& longest, std::vector<uint64_t>& drained) {
  const BatchInput in = executor_->input(slot);
  const uint64_t seq = nextBatch_;
  std::vector<Call*> queued;
  for (auto& [id, call] : calls_) {
    if (call->waiting > 0) queued.push_back(call.get());
  }
  struct Group {                     // one per queued call: the pairs of it in this batch that share a context
    const int32_t* first = nullptr;  // the call's first pair in the batch
    int32_t shared = 0;              // tokens all members share with it (valid with 2+ members)
    int32_t members = 0;
    int64_t memberTokens = 0;
    int64_t cost() const { return members < 2 ? memberTokens : memberTokens - static_cast<int64_t>(members - 1) * shared; }
  };
  struct Taken {
    const Chunk* chunk;
    size_t pair;
    size_t call;  // index in `queued`
    bool member;
  };
  std::vector<Group> groups(queued.size());
  std::vector<size_t> cursor(queued.size(), 0);  // each call's chunk being taken from (chunks are popped at the end)
  std::vector<Taken> taken;
  std::vector<int32_t> takenOf(queued.size(), 0);
  int32_t count = 0, contexts = 0;
  int64_t tokens = 0, cost = 0;  // the pairs' tokens; what the batch computes (the budget)
  longest = 0;
  const bool share = limits_.sharesPrefixes && !limits_.padsBatches;
  for (bool progress = true; progress && count + contexts < limits_.maxBatchPairs;) {
    progress = false;
    for (size_t c = 0; c < queued.size() && count + contexts < limits_.maxBatchPairs; ++c) {
      Call& call = *queued[c];
      if (takenOf[c] == call.waiting) continue;
      Chunk& chunk = call.chunks[cursor[c]];
      const int32_t begin = chunk.offsets[chunk.next];
      const int32_t length = chunk.offsets[chunk.next + 1] - begin;
      const int32_t* ids = chunk.ids.data() + begin;
      Group& g = groups[c];
      Group joined = g;
      bool member = false;
      if (share && g.members == 0) {
        joined = {ids, length - 1, 1, length};
        member = true;
      } else if (share) {
        int32_t common = 0;
        const int32_t limit = std::min(g.shared, length - 1);
        while (common < limit && ids[common] == g.first[common]) ++common;
        const bool roomForContext = g.members >= 2 || count + contexts + 2 <= limits_.maxBatchPairs;
        if (common >= kMinSharedPrefix && roomForContext) {
          joined = {g.first, common, g.members + 1, g.memberTokens + length};
          member = true;
        }
      }
      int64_t newCost = 0;
      if (limits_.padsBatches) newCost = static_cast<int64_t>(count + 1) * std::max(longest, length);
      else if (member) newCost = cost - g.cost() + joined.cost();
      else newCost = cost + length;
      if (newCost > limits_.maxBatchTokens) continue;
      if (member) {
        if (g.members == 1) ++contexts;  // the group now has a context
        g = joined;
      }
      taken.push_back({&chunk, chunk.next, c, member});
      in.dest[count] = static_cast<int32_t>(call.arenaOffset + chunk.docs[chunk.next]);
      ++count;
      cost = newCost;
      tokens += length;
      if (limits_.padsBatches) longest = std::max(longest, length);
      ++takenOf[c];
      if (++chunk.next + 1 == chunk.offsets.size()) ++cursor[c];
      progress = true;
    }
  }
  if (count == 0) return false;
  // Write the batch: each pair (a member of a group with a context: only its tokens past the shared ones), then the
  // contexts, each its group's shared tokens.
  std::vector<int32_t> contextIndex(queued.size(), -1);
  int32_t nextContext = count;
  for (size_t c = 0; c < queued.size(); ++c) {
    if (groups[c].members >= 2) contextIndex[c] = nextContext++;
  }
  int64_t rows = 0;
  in.offsets[0] = 0;
  const auto write = [&](const int32_t* ids, const uint8_t* typeIds, int32_t n, int32_t sequence) {
    std::memcpy(in.ids + rows, ids, sizeof(int32_t) * n);
    std::memcpy(in.typeIds + rows, typeIds, n);
    rows += n;
    in.offsets[sequence + 1] = static_cast<int32_t>(rows);
    longest = std::max(longest, n);
  };
  for (int32_t i = 0; i < count; ++i) {
    const Taken& t = taken[static_cast<size_t>(i)];
    const int32_t begin = t.chunk->offsets[t.pair], end = t.chunk->offsets[t.pair + 1];
    const int32_t skip = t.member && contextIndex[t.call] >= 0 ? groups[t.call].shared : 0;
    write(t.chunk->ids.data() + begin + skip, t.chunk->typeIds.data() + begin + skip, end - begin - skip, i);
    if (contexts > 0) in.contextOf[i] = skip > 0 ? contextIndex[t.call] : -1;
  }
  for (size_t c = 0; c < queued.size(); ++c) {
    if (contextIndex[c] < 0) continue;
    // The group's first pair is its first member taken: its chunk holds the shared tokens.
    for (const Taken& t : taken) {
      if (t.call != c || !t.member) continue;
      const int32_t begin = t.chunk->offsets[t.pair];
      write(t.chunk->ids.data() + begin, t.chunk->typeIds.data() + begin, groups[c].shared, contextIndex[c]);
      in.contextOf[contextIndex[c]] = -1;
      break;
    }
  }
  if (limits_.padsBatches) cost = static_cast<int64_t>(count) * longest;
  // Before any chunk is popped below: `taken` points into the chunks.
  for (const Taken& t : taken) queued[t.call]->waitingTokens -= t.chunk->offsets[t.pair + 1] - t.chunk->offsets[t.pair];
  const Clock::time_point now = Clock::now();
  for (size_t c = 0; c < queued.size(); ++c) {
    Call& call = *queued[c];
    while (!call.chunks.empty() && call.chunks.front().next + 1 == call.chunks.front().offsets.size()) call.chunks.pop_front();
    if (takenOf[c] == 0) continue;
    call.waiting -= takenOf[c];
    call.inFlight += takenOf[c];
    if (call.lastBatch != seq) {
      call.lastBatch = seq;
      ++call.batches;
    }
    if (!call.hasStarted) {
      call.hasStarted = true;
      call.started = now;
    }
    if (call.wantsDrain && call.waiting < perCallQueueLimit()) {
      call.wantsDrain = false;
      drained.push_back(call.id);
    }
    batch.calls.emplace_back(calls_.at(call.id), takenOf[c]);
  }
  ++nextBatch_;
  waitingPairs_ -= count;
  waitingTokens_ -= tokens;
  batch.count = count;
  batch.contexts = contexts;
  batch.tokens = tokens;
  batch.rows = rows;
  batch.cost = cost;
  return true;
}

bool Scheduler::deviceBusy(int device) const {
  for (int s = 0; s < limits_.slots; ++s) {
    if (slotBusy_[s] && executor_->slotDevice(s) == device) return true;
  }
  return false;
}

int Scheduler::pickSlot() const {
  // The lowest free slot on an idle device, else the lowest free one. A slot whose device is lost takes nothing,
  // unless every device is (then a launch fails the queued calls with the executor's error, instead of leaving them).
  int anyFree = -1, lostFree = -1;
  for (int s = 0; s < limits_.slots; ++s) {
    if (slotBusy_[s]) continue;
    if (!executor_->slotUsable(s)) {
      if (lostFree < 0) lostFree = s;
      continue;
    }
    if (!deviceBusy(executor_->slotDevice(s))) return s;
    if (anyFree < 0) anyFree = s;
  }
  if (anyFree >= 0 || lostFree < 0) return anyFree;
  return executor_->broken().empty() ? -1 : lostFree;  // asked only when no usable slot is free
}

void Scheduler::batchLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    int slot = -1;
    batchWake_.wait(lock, [&] {
      if (closing_) return true;
      if (waitingPairs_ == 0) return false;
      slot = pickSlot();
      if (slot < 0) return false;
      if (!deviceBusy(executor_->slotDevice(slot))) return true;
      // Another batch runs on this device: this one starts now only with half a batch to put in it; else its pairs wait for the
      // running batch to end and go in one fuller batch (the completion thread wakes this one). H200, MiniLM-L6,
      // 64 calls of 20 at once: 0.91 of one 1280-document call's throughput, against 0.89 starting at once
      // (docs/results/ab-scheduler-h200.md).
      return 2 * waitingTokens_ >= limits_.maxBatchTokens || 2 * waitingPairs_ >= limits_.maxBatchPairs;
    });
    if (closing_) return;
    InFlight batch;
    int32_t longest = 0;
    std::vector<uint64_t> drained;
    if (!fillBatch(slot, batch, longest, drained)) continue;
    slotBusy_[slot] = true;
    const int32_t count = batch.count;
    const int32_t contexts = batch.contexts;
    const int64_t tokens = batch.rows;
    inFlight_[slot] = std::move(batch);
    lock.unlock();
    std::vector<CallOutcome> outcomes;
    emit(outcomes, drained);
    std::exception_ptr failure;
    try {
      executor_->launch(slot, count, contexts, tokens, longest);
    } catch (...) {
      failure = std::current_exception();
    }
    lock.lock();
    if (!failure) {
      launched_.push_back(slot);
      completionWake_.notify_one();
      continue;
    }
    // Nothing of the batch runs: its calls fail, and the slot is free again.
    const auto [code, message] = describeFailure(failure);
    for (auto& [call, n] : inFlight_[slot].calls) {
      call->inFlight -= n;
      if (failLocked(*call, code, message) && calls_.count(call->id)) outcomes.push_back(retireLocked(*call));
    }
    inFlight_[slot] = InFlight{};
    slotBusy_[slot] = false;
    completionWake_.notify_one();
    lock.unlock();
    emit(outcomes, {});
    lock.lock();
  }
}

void Scheduler::completionLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    // Closing: it stops only once no slot is busy (a batch being launched is pushed to launched_ after).
    const auto idle = [&] { return std::none_of(slotBusy_.begin(), slotBusy_.end(), [](bool b) { return b; }); };
    completionWake_.wait(lock, [&] { return !launched_.empty() || !toFinish_.empty() || (closing_ && idle()); });
    std::vector<CallOutcome> outcomes;
    // Finishing a call (activation, top-k) first: it is short, and while the GPU stays busy there is always a
    // batch to wait for, so a call whose scores are all in would otherwise wait for the queue to empty.
    if (!toFinish_.empty()) {
      std::shared_ptr<Call> call = std::move(toFinish_.front());
      toFinish_.pop_front();
      CallOutcome result;
      if (call->errorCode) {  // cancelled or closed meanwhile: no results wanted
        if (calls_.count(call->id)) outcomes.push_back(retireLocked(*call));
        lock.unlock();
        emit(outcomes, {});
        lock.lock();
        continue;
      }
      lock.unlock();
      std::exception_ptr failure;
      try {
        executor_->finishCall(call->arenaOffset, call->count, call->activation, call->topK, result.indices, result.scores);
      } catch (...) {
        failure = std::current_exception();
      }
      lock.lock();
      call->finishing = false;
      if (failure && !call->errorCode) {
        const auto [code, message] = describeFailure(failure);
        call->errorCode = code;
        call->errorMessage = message;
      }
      if (calls_.count(call->id)) {
        CallOutcome out = retireLocked(*call);
        if (!out.code) {
          out.indices = std::move(result.indices);
          out.scores = std::move(result.scores);
        }
        outcomes.push_back(std::move(out));
      }
    } else if (!launched_.empty()) {
      const int slot = launched_.front();
      lock.unlock();
      std::exception_ptr failure;
      try {
        executor_->wait(slot);
      } catch (...) {
        failure = std::current_exception();
      }
      lock.lock();
      launched_.pop_front();
      InFlight done = std::move(inFlight_[slot]);
      inFlight_[slot] = InFlight{};
      slotBusy_[slot] = false;
      batchWake_.notify_one();
      const auto [code, message] = failure ? describeFailure(failure) : std::pair<const char*, std::string>{nullptr, ""};
      for (auto& [call, n] : done.calls) {
        call->inFlight -= n;
        if (failure) {
          if (failLocked(*call, code, message) && calls_.count(call->id)) outcomes.push_back(retireLocked(*call));
          continue;
        }
        call->scored += n;
        stats_.pairs += n;
        if (call->errorCode) {
          if (call->inFlight == 0 && !call->finishing && calls_.count(call->id)) outcomes.push_back(retireLocked(*call));
        } else if (call->topK >= 0 && call->scored == call->count && !call->finishing) {
          call->finishing = true;
          toFinish_.push_back(call);
        }
      }
      if (!failure) {  // batches that ran, counted once they are done
        ++stats_.batches;
        stats_.tokens += done.tokens;
        stats_.contexts += static_cast<uint64_t>(done.contexts);
        stats_.sharedTokens += static_cast<uint64_t>(done.tokens - done.rows);
        stats_.batchPairs.observe(done.count);
        stats_.batchTokens.observe(static_cast<double>(done.cost));
        stats_.batchFill.observe(static_cast<double>(done.cost) / static_cast<double>(limits_.maxBatchTokens));
      }
    } else {
      return;  // closing, and nothing left in flight
    }
    lock.unlock();
    emit(outcomes, {});
    lock.lock();
  }
}

void Scheduler::close() {
  std::call_once(closeOnce_, [this] {
    std::vector<CallOutcome> outcomes;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closing_ = true;
      for (auto it = calls_.begin(); it != calls_.end();) {
        std::shared_ptr<Call> call = (it++)->second;
        if (failLocked(*call, kErrClosed, "the session was closed while the call ran")) outcomes.push_back(retireLocked(*call));
      }
    }
    executor_->stop();
    batchWake_.notify_all();
    completionWake_.notify_all();
    emit(outcomes, {});
    batchThread_.join();
    completionThread_.join();  // it drains the batches in flight, and retires their calls, before it stops
  });
}

SchedulerStats Scheduler::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  SchedulerStats out = stats_;
  out.activeCalls = calls_.size();
  uint64_t queued = 0;
  for (const auto& [id, call] : calls_) queued += call->count - call->scored;
  out.queuedPairs = queued;
  return out;
}

}  // namespace trt_rerank
