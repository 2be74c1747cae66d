#include "coordinator/fan_out.h"

#include <algorithm>

namespace tierscore::coordinator {

FanOut::FanOut(const std::vector<WorkerClient*>& workers, Limits limits, const CallPolicy& policy)
    : workers_(workers),
      limits_{std::max(1, limits.per_worker), std::max(1, limits.total)},
      policy_(policy),
      in_flight_(workers.size(), 0) {
  if (policy_.cancel != nullptr) {
    parent_token_ = policy_.cancel->Add([this] { local_cancel_.Cancel(); });
  }
}

FanOut::~FanOut() {
  if (policy_.cancel != nullptr) policy_.cancel->Remove(parent_token_);
}

void FanOut::Forget(size_t w) {
  queued_.erase(std::remove_if(queued_.begin(), queued_.end(),
                               [w](const Pending& p) { return p.worker == w; }),
                queued_.end());
}

void FanOut::Deliver(size_t w, absl::AnyInvocable<void()> handle) {
  absl::MutexLock lock(&mu_);
  arrived_.push_back(Arrived{w, std::move(handle)});
}

void FanOut::StartQueued() {
  if (local_cancel_.cancelled()) {
    dropped_ = dropped_ || !queued_.empty();
    queued_.clear();
    return;
  }
  // In queue order, skipping calls whose worker is at its limit.
  for (auto it = queued_.begin(); it != queued_.end() && in_flight_total_ < limits_.total;) {
    if (in_flight_[it->worker] >= limits_.per_worker) {
      ++it;
      continue;
    }
    Pending call = std::move(*it);
    it = queued_.erase(it);
    ++in_flight_[call.worker];
    ++in_flight_total_;
    call.start(CallOptions{policy_.Deadline(), &local_cancel_});
    // Starting may have run a reply inline; it waits in `arrived_`.
  }
}

absl::Status FanOut::Run() {
  while (true) {
    StartQueued();
    if (in_flight_total_ == 0) break;
    Arrived next;
    bool got = false;
    {
      absl::MutexLock lock(&mu_);
      // The job's deadline ends the wait: calls in flight are cancelled
      // then, whatever their transport enforces.
      const absl::Time until =
          local_cancel_.cancelled() ? absl::InfiniteFuture() : policy_.job_deadline;
      got =
          mu_.AwaitWithDeadline(absl::Condition(
                                    +[](std::deque<Arrived>* q) { return !q->empty(); }, &arrived_),
                                until);
      if (got) {
        next = std::move(arrived_.front());
        arrived_.pop_front();
      }
    }
    if (!got) {
      local_cancel_.Cancel();
      continue;
    }
    --in_flight_[next.worker];
    --in_flight_total_;
    next.handle();  // may queue more calls
  }
  if (dropped_ || local_cancel_.cancelled()) {
    return absl::CancelledError("worker calls were cancelled");
  }
  return absl::OkStatus();
}

}  // namespace tierscore::coordinator
