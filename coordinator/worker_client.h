#ifndef TIERSCORE_COORDINATOR_WORKER_CLIENT_H_
#define TIERSCORE_COORDINATOR_WORKER_CLIENT_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tierscore/v1/worker.pb.h"

namespace tierscore::coordinator {

// Cancels the calls in flight of one job (or one part of it). A call
// registers how to cancel itself while it runs; Cancel() runs every
// registered canceller once, and any registered later at once.
//
// Thread-safe. Cancellers run outside the scope's lock, on the thread that
// calls Cancel (or Add, once cancelled), and must not block.
class CancelScope {
 public:
  using Token = uint64_t;

  CancelScope() = default;
  CancelScope(const CancelScope&) = delete;
  CancelScope& operator=(const CancelScope&) = delete;

  // Registers `cancel`. Once cancelled, runs it at once and returns 0.
  Token Add(absl::AnyInvocable<void()> cancel);
  // Forgets a canceller (nothing happens for 0 or one that already ran).
  void Remove(Token token);
  // Runs every registered canceller; idempotent.
  void Cancel();
  bool cancelled() const;

 private:
  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  Token next_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<Token, absl::AnyInvocable<void()>> cancellers_ ABSL_GUARDED_BY(mu_);
};

// How one worker call runs.
struct CallOptions {
  // The call ends DEADLINE_EXCEEDED if it has not replied by then.
  absl::Time deadline = absl::InfiniteFuture();
  // Cancelling it ends the call CANCELLED (borrowed; may be null; must
  // outlive the call).
  CancelScope* cancel = nullptr;
};

// Receives a call's outcome, exactly once, on any thread (possibly inside
// the call that started it). It must not block: it hands the reply on.
template <typename Response>
using Reply = absl::AnyInvocable<void(absl::StatusOr<Response>)>;

// The seam between the job logic and a worker: one asynchronous method per
// phase. Two implementations: InProcessWorkerClient (local mode and tests,
// on an executor) and GrpcWorkerClient (the cluster, gRPC's callback API).
// The job code is the same for both; fakes decide when a reply arrives.
//
// A method returns at once and replies through `done` later. Requests are
// taken by value, as a call outlives its caller's frame. Implementations
// are thread-safe. Status codes follow the worker's: UNAVAILABLE /
// DEADLINE_EXCEEDED mean "try elsewhere", FAILED_PRECONDITION means
// "reload the split", CANCELLED means the caller cancelled, others are
// final.
class WorkerClient {
 public:
  virtual ~WorkerClient() = default;

  // A name for messages and logs, e.g. the address.
  virtual std::string name() const = 0;

  virtual void Scan(v1::ScanRequest request, const CallOptions& options,
                    Reply<v1::ScanResponse> done) = 0;
  virtual void Load(v1::LoadRequest request, const CallOptions& options,
                    Reply<v1::LoadResponse> done) = 0;
  virtual void CheckIds(v1::CheckIdsRequest request, const CallOptions& options,
                        Reply<v1::CheckIdsResponse> done) = 0;
  virtual void Score(v1::ScoreRequest request, const CallOptions& options,
                     Reply<v1::ScoreResponse> done) = 0;
  virtual void Probe(v1::ProbeRequest request, const CallOptions& options,
                     Reply<v1::ProbeResponse> done) = 0;
  virtual void Assign(v1::AssignRequest request, const CallOptions& options,
                      Reply<v1::AssignResponse> done) = 0;
  virtual void Export(v1::ExportRequest request, const CallOptions& options,
                      Reply<v1::ExportResponse> done) = 0;
  virtual void Publish(v1::PublishRequest request, const CallOptions& options,
                       Reply<v1::PublishResponse> done) = 0;
  virtual void Release(v1::ReleaseRequest request, const CallOptions& options,
                       Reply<v1::ReleaseResponse> done) = 0;
  // OK when the worker is serving (gRPC health), over the same connection
  // as the phases.
  virtual void Check(const CallOptions& options, absl::AnyInvocable<void(absl::Status)> done) = 0;
};

// A WorkerClient method, for code that is generic over phases.
template <typename Request, typename Response>
using WorkerMethod = void (WorkerClient::*)(Request, const CallOptions&, Reply<Response>);

// Runs one call and waits for its reply: for the few places that need one
// answer before they can go on (the job's own thread, never a callback).
template <typename Request, typename Response>
absl::StatusOr<Response> CallAndWait(WorkerClient& worker, WorkerMethod<Request, Response> method,
                                     Request request, const CallOptions& options) {
  absl::Mutex mu;
  bool done = false;
  absl::StatusOr<Response> out = absl::UnknownError("no reply");
  (worker.*method)(std::move(request), options, [&](absl::StatusOr<Response> r) {
    absl::MutexLock lock(&mu);
    out = std::move(r);
    done = true;
  });
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(&done));
  return out;
}

}  // namespace tierscore::coordinator

#endif  // TIERSCORE_COORDINATOR_WORKER_CLIENT_H_
