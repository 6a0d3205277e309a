#include "common/thread_pool.h"

namespace trt_rerank {

namespace {

// Which pool the current thread is working for, and as which participant; lets a nested parallelFor run
// inline instead of waiting for a pool that is busy with its own caller.
thread_local const ThreadPool* tlsPool = nullptr;
thread_local int tlsWorkerId = 0;

// Restores the thread-local marks on scope exit, also when a task throws inline.
class ParticipantScope {
 public:
  ParticipantScope(const ThreadPool* pool, int workerId) : savedPool_(tlsPool), savedId_(tlsWorkerId) {
    tlsPool = pool;
    tlsWorkerId = workerId;
  }
  ~ParticipantScope() {
    tlsPool = savedPool_;
    tlsWorkerId = savedId_;
  }
  ParticipantScope(const ParticipantScope&) = delete;
  ParticipantScope& operator=(const ParticipantScope&) = delete;

 private:
  const ThreadPool* savedPool_;
  int savedId_;
};

}  // namespace

struct ThreadPool::Job {
  Task task;
  int64_t count = 0;
  std::atomic<int64_t> next{0};
  std::mutex errorMutex;
  std::exception_ptr error;  // the first exception thrown by a task
};

ThreadPool::ThreadPool(int numThreads) {
  if (numThreads <= 0) numThreads = static_cast<int>(std::thread::hardware_concurrency());
  if (numThreads <= 0) numThreads = 1;  // hardware_concurrency() may not know
  threads_.reserve(static_cast<size_t>(numThreads - 1));
  try {
    for (int id = 1; id < numThreads; ++id) threads_.emplace_back([this, id] { workerLoop(id); });
  } catch (...) {
    // A std::thread still joinable at destruction calls std::terminate: stop the started ones first.
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
    throw;
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void ThreadPool::work(Job& job, int workerId) noexcept {
  for (;;) {
    const int64_t index = job.next.fetch_add(1, std::memory_order_relaxed);
    if (index >= job.count) return;
    try {
      job.task.call(job.task.object, index, workerId);
    } catch (...) {
      std::lock_guard<std::mutex> lock(job.errorMutex);
      if (!job.error) job.error = std::current_exception();
      // Skip what is left: the caller will throw, so the remaining results would be discarded anyway.
      job.next.store(job.count, std::memory_order_relaxed);
    }
  }
}

void ThreadPool::workerLoop(int workerId) {
  uint64_t seen = 0;
  for (;;) {
    Job* job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      job = job_;
    }
    {
      ParticipantScope scope(this, workerId);
      work(*job, workerId);
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--busy_ == 0) done_.notify_one();
    }
  }
}

void ThreadPool::run(int64_t count, const Task& task) {
  if (count <= 0) return;
  // Nested call (from inside one of our tasks): run inline as the current participant. Taking callMutex_
  // here would deadlock, and another participant id could collide with a running task's scratch.
  if (tlsPool == this) {
    for (int64_t i = 0; i < count; ++i) task.call(task.object, i, tlsWorkerId);
    return;
  }

  std::lock_guard<std::mutex> callLock(callMutex_);
  // No threads, or a single index: run here, exceptions propagating as they are. Still under callMutex_,
  // so that worker id 0 is never used by two callers at once.
  if (threads_.empty() || count == 1) {
    ParticipantScope scope(this, 0);
    for (int64_t i = 0; i < count; ++i) task.call(task.object, i, 0);
    return;
  }

  Job job;
  job.task = task;
  job.count = count;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &job;
    busy_ = static_cast<int>(threads_.size());
    ++generation_;
  }
  wake_.notify_all();
  {
    ParticipantScope scope(this, 0);
    work(job, 0);
  }
  {
    // `job` lives on this stack frame: every thread must be done with it before we return. A thread that
    // wakes late still checks in (it finds no index left), so this wait always ends.
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return busy_ == 0; });
    job_ = nullptr;
  }
  if (job.error) std::rethrow_exception(job.error);
}

}  // namespace trt_rerank
