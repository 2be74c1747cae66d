#include "engine/thread_pool.h"

#include <algorithm>
#include <atomic>

#include "absl/synchronization/blocking_counter.h"

namespace tierscore::engine {

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) {
    threads = static_cast<int>(std::thread::hardware_concurrency());
    if (threads <= 0) threads = 1;
  }
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

ThreadPool::~ThreadPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (auto& t : threads_) t.join();
}

void ThreadPool::Loop() {
  while (true) {
    absl::AnyInvocable<void()> task;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](ThreadPool* p)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) { return p->stopping_ || !p->queue_.empty(); },
          this));
      if (queue_.empty()) return;  // stopping
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

void ThreadPool::Schedule(absl::AnyInvocable<void()> task) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(task));
}

void ThreadPool::ParallelFor(int n, const std::function<void(int)>& fn) {
  if (n <= 0) return;
  if (n == 1) {
    fn(0);
    return;
  }
  // The caller works too, so size() threads in all pull indices.
  std::atomic<int> next{0};
  auto drain = [&] {
    for (int i = next.fetch_add(1); i < n; i = next.fetch_add(1)) fn(i);
  };
  const int helpers = std::min(n - 1, size() - 1);
  absl::BlockingCounter done(helpers);
  {
    absl::MutexLock lock(&mu_);
    for (int h = 0; h < helpers; ++h) {
      queue_.emplace_back([&] {
        drain();
        done.DecrementCount();
      });
    }
  }
  drain();
  done.Wait();
}

}  // namespace tierscore::engine
