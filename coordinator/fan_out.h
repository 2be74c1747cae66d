#ifndef TIERSCORE_COORDINATOR_FAN_OUT_H_
#define TIERSCORE_COORDINATOR_FAN_OUT_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/worker_client.h"

namespace tierscore::coordinator {

// Bytes the coordinator sent to and received from workers (serialised
// request and response sizes). Thread-safe.
struct WorkerTraffic {
  std::atomic<int64_t> sent{0};
  std::atomic<int64_t> received{0};
};

// What every call of a fan-out gets: a deadline of its own, capped by the
// job's, and the job's cancellation.
struct CallPolicy {
  absl::Duration call_timeout = absl::Minutes(10);
  absl::Time job_deadline = absl::InfiniteFuture();
  CancelScope* cancel = nullptr;     // borrowed; may be null
  WorkerTraffic* traffic = nullptr;  // borrowed; may be null

  absl::Time Deadline() const { return std::min(absl::Now() + call_timeout, job_deadline); }
};

// Runs a batch of worker calls with bounded concurrency and hands each reply
// to the thread that called Run(), one at a time, in the order replies
// arrive. It starts no thread: calls complete on the transport's threads
// (gRPC's callback threads, or the in-process executor), which only queue
// the reply here. A handler may add more calls, or Forget a worker's.
//
// Cancellation: when the policy's scope is cancelled, Abort() is called or
// the job's deadline passes, calls in flight are cancelled (gRPC TryCancel)
// and calls not yet started are dropped without their handlers; Run returns
// once every started call has replied, so handlers may borrow the caller's
// frame.
//
// Not thread-safe: one thread adds calls and runs them.
class FanOut {
 public:
  struct Limits {
    int per_worker = 1;  // calls in flight to one worker
    int total = 256;     // calls in flight in all
  };

  // `workers` are borrowed and must outlive the fan-out.
  FanOut(const std::vector<WorkerClient*>& workers, Limits limits, const CallPolicy& policy);
  ~FanOut();
  FanOut(const FanOut&) = delete;
  FanOut& operator=(const FanOut&) = delete;

  // Queues `method(request)` on worker `w`; `handle` runs on Run's thread
  // with the reply.
  template <typename Request, typename Response>
  void Call(size_t w, WorkerMethod<Request, Response> method, Request request,
            absl::AnyInvocable<void(absl::StatusOr<Response>)> handle);

  // Drops the calls to worker `w` not yet started (their handlers never run).
  void Forget(size_t w);

  // Cancels this fan-out's calls (not the job), e.g. after a final error.
  void Abort() { local_cancel_.Cancel(); }

  // Runs until every queued call has been handled or dropped. CANCELLED
  // when calls were dropped or cut short by cancellation, else OK.
  absl::Status Run();

 private:
  struct Pending {
    size_t worker;
    // Starts the call with these options; its reply is queued for Run.
    absl::AnyInvocable<void(const CallOptions&)> start;
  };
  struct Arrived {
    size_t worker;
    absl::AnyInvocable<void()> handle;
  };

  void StartQueued();
  void Deliver(size_t w, absl::AnyInvocable<void()> handle);

  const std::vector<WorkerClient*>& workers_;
  const Limits limits_;
  const CallPolicy policy_;
  CancelScope local_cancel_;             // this fan-out's calls
  CancelScope::Token parent_token_ = 0;  // links the job's scope to it

  // Run's thread only.
  std::deque<Pending> queued_;
  std::vector<int> in_flight_;  // per worker
  int in_flight_total_ = 0;
  bool dropped_ = false;

  absl::Mutex mu_;
  std::deque<Arrived> arrived_ ABSL_GUARDED_BY(mu_);
};

template <typename Request, typename Response>
void FanOut::Call(size_t w, WorkerMethod<Request, Response> method, Request request,
                  absl::AnyInvocable<void(absl::StatusOr<Response>)> handle) {
  queued_.push_back(
      Pending{w, [this, w, method, request = std::move(request),
                  handle = std::move(handle)](const CallOptions& options) mutable {
                if (policy_.traffic != nullptr) policy_.traffic->sent += request.ByteSizeLong();
                (workers_[w]->*method)(
                    std::move(request), options,
                    [this, w, handle = std::move(handle)](absl::StatusOr<Response> reply) mutable {
                      if (policy_.traffic != nullptr && reply.ok()) {
                        policy_.traffic->received += reply->ByteSizeLong();
                      }
                      Deliver(w, [handle = std::move(handle), reply = std::move(reply)]() mutable {
                        handle(std::move(reply));
                      });
                    });
              }});
}

}  // namespace tierscore::coordinator

#endif  // TIERSCORE_COORDINATOR_FAN_OUT_H_
