#ifndef TIERSCORE_ENGINE_THREAD_POOL_H_
#define TIERSCORE_ENGINE_THREAD_POOL_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace tierscore::engine {

// A fixed set of threads running ParallelFor loops. Thread-safe: several
// callers may run loops at once; their tasks share the threads. A task must
// not call ParallelFor on the same pool (it could wait on itself).
class ThreadPool {
 public:
  // threads <= 0 means one per hardware core.
  explicit ThreadPool(int threads);
  ~ThreadPool();

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(threads_.size()); }

  // Runs fn(i) for i in [0, n) on the pool and returns when all are done.
  void ParallelFor(int n, const std::function<void(int)>& fn);

  // Runs `task` on a pool thread later (first in, first out).
  void Schedule(absl::AnyInvocable<void()> task);

 private:
  void Loop();

  absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace tierscore::engine

#endif  // TIERSCORE_ENGINE_THREAD_POOL_H_
