// A fixed set of threads, created once per model and reused by every forward pass, that runs
// `parallelFor` loops. The calling thread is participant 0 and works alongside the size() - 1 background
// threads, so a pool of size 1 starts no thread at all and runs everything inline.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace trt_rerank {

class ThreadPool {
 public:
  // numThreads <= 0 means std::thread::hardware_concurrency() (at least 1).
  // Throws std::system_error if a thread cannot be started (after stopping the ones that did).
  explicit ThreadPool(int numThreads);
  // Joins the threads; waits for nothing else (no parallelFor can be running: it blocks its caller).
  ~ThreadPool();

  // Threads wait on this object's members by address: neither copyable nor movable. Hold it by value in
  // its owner or behind a unique_ptr.
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ThreadPool(ThreadPool&&) = delete;
  ThreadPool& operator=(ThreadPool&&) = delete;

  // Participants, the caller included: worker ids run 0 .. size() - 1.
  int size() const { return static_cast<int>(threads_.size()) + 1; }

  // Calls fn(index, workerId) once for each index in [0, count), handing indices out one at a time from
  // an atomic counter (dynamic distribution: a participant that finishes early takes the next index).
  // Blocks until every call has returned. workerId is unique among the calls running at the same time,
  // so it can index per-worker scratch.
  //
  // If calls throw, the remaining indices are skipped and the first exception is rethrown here, on the
  // calling thread; no exception leaves a pool thread.
  //
  // Calls from several threads at once are serialised. A call made from inside fn (nesting) runs inline
  // on the current participant with its own workerId, instead of deadlocking.
  template <class Fn>
  void parallelFor(int64_t count, Fn&& fn) {
    using F = std::remove_reference_t<Fn>;
    Task task;
    task.object = const_cast<void*>(static_cast<const void*>(std::addressof(fn)));
    task.call = [](void* object, int64_t index, int workerId) { (*static_cast<F*>(object))(index, workerId); };
    run(count, task);
  }

 private:
  // A non-owning, allocation-free reference to the caller's callable.
  struct Task {
    void* object = nullptr;
    void (*call)(void* object, int64_t index, int workerId) = nullptr;
  };

  struct Job;

  void run(int64_t count, const Task& task);
  void workerLoop(int workerId);
  static void work(Job& job, int workerId) noexcept;

  std::vector<std::thread> threads_;
  std::mutex callMutex_;  // one parallelFor at a time

  std::mutex mutex_;  // guards the fields below
  std::condition_variable wake_;
  std::condition_variable done_;
  Job* job_ = nullptr;
  uint64_t generation_ = 0;  // bumped per job, so a thread never runs the same job twice
  int busy_ = 0;             // background threads that have not yet finished the current job
  bool stopping_ = false;
};

}  // namespace trt_rerank
