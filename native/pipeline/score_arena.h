// Which ranges of the executor's score arena the admitted calls own: first fit over a free list that merges
// neighbours on release. The arena is twice maxQueuedPairs, so while admitted calls hold at most maxQueuedPairs
// a free range of any admissible size is there unless the holes are badly scattered (then the call is refused
// as overloaded, like one past the limit). Not thread-safe: the scheduler's lock guards it.
#pragma once

#include <cstdint>
#include <iterator>
#include <map>

namespace trt_rerank {

class ScoreArena {
 public:
  explicit ScoreArena(int64_t size) : size_(size) {
    if (size > 0) free_[0] = size;
  }
  int64_t size() const { return size_; }
  int64_t used() const { return used_; }

  // Offset of a free range of n (>= 1) scores, or -1.
  int64_t allocate(int64_t n) {
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if (it->second < n) continue;
      const int64_t offset = it->first;
      const int64_t rest = it->second - n;
      free_.erase(it);
      if (rest > 0) free_[offset + n] = rest;
      used_ += n;
      return offset;
    }
    return -1;
  }

  void release(int64_t offset, int64_t n) {
    used_ -= n;
    auto next = free_.lower_bound(offset);
    if (next != free_.begin()) {
      auto prev = std::prev(next);
      if (prev->first + prev->second == offset) {
        offset = prev->first;
        n += prev->second;
        free_.erase(prev);
      }
    }
    if (next != free_.end() && offset + n == next->first) {
      n += next->second;
      free_.erase(next);
    }
    free_[offset] = n;
  }

 private:
  int64_t size_;
  int64_t used_ = 0;
  std::map<int64_t, int64_t> free_;  // offset -> length
};

}  // namespace trt_rerank
